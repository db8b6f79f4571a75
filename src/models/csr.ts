// Sparse row-compressed count tables over vocabulary indices: first-order transitions (ItemTransition,
// SASRec's transition mix) and co-occurrences (ItemKNN), with their persistence.
import { EncoreError, InvalidModelFileError } from '../errors.js';
import { getArray, type ModelContents } from './persist.js';

/**
 * Largest integer a float32 holds exactly; sparse indices are stored as float32 in `weights.bin`, so a
 * saved matrix holds fewer non-zeros than this.
 *
 * @example
 * ```ts
 * if (countTransitions(seqs, n).cols.length >= CSR_MAX_NONZEROS) console.log('too many to save');
 * ```
 */
export const CSR_MAX_NONZEROS = 2 ** 24;

/** A sparse row-compressed matrix over vocabulary indices (rows and columns 0..n, row 0 empty). */
export interface Csr {
  /** `rowPtr[i]..rowPtr[i+1]` are row i's entries; length n + 2. */
  rowPtr: Int32Array;
  cols: Int32Array;
  vals: Float32Array;
}

/**
 * Counts pair keys `row * stride + col` into a CSR matrix of `stride` rows: each distinct key becomes one
 * entry whose value is how often it occurs. Sort-based, because a Map of pairs is capped at 2^24 entries by
 * V8 (a co-occurrence table of a real log has more); keys stay exact doubles for vocabularies below 2^26.
 *
 * @example
 * ```ts
 * const t = countKeys(Float64Array.of(1 * 3 + 2, 1 * 3 + 2), 3); // row 1: {2: 2}
 * ```
 */
export function countKeys(keys: Float64Array, stride: number): Csr {
  keys.sort();
  let distinct = 0;
  for (let i = 0; i < keys.length; i++) if (i === 0 || keys[i] !== keys[i - 1]) distinct++;
  const rowPtr = new Int32Array(stride + 1);
  const cols = new Int32Array(distinct);
  const vals = new Float32Array(distinct);
  let d = -1;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i === 0 || key !== keys[i - 1]) {
      d++;
      const row = Math.floor(key / stride);
      cols[d] = key - row * stride;
      rowPtr[row + 1]!++;
    }
    vals[d]!++;
  }
  for (let r = 0; r < stride; r++) rowPtr[r + 1]! += rowPtr[r]!;
  return { rowPtr, cols, vals };
}

/**
 * Keeps per row only the `keep` largest values (ties to the lower column), columns ascending within each row;
 * the values come back as float32.
 *
 * @example
 * ```ts
 * const top = keepLargest(countKeys(Float64Array.of(4, 5, 5), 3), 1); // row 1: {2: 2}
 * ```
 */
export function keepLargest(
  csr: { rowPtr: Int32Array; cols: Int32Array; vals: ArrayLike<number> },
  keep: number,
): Csr {
  const rows = csr.rowPtr.length - 1;
  const rowPtr = new Int32Array(rows + 1);
  const kept: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const idx: number[] = [];
    for (let p = csr.rowPtr[r]!; p < csr.rowPtr[r + 1]!; p++) idx.push(p);
    if (idx.length > keep) {
      idx.sort((a, b) => csr.vals[b]! - csr.vals[a]! || csr.cols[a]! - csr.cols[b]!);
      idx.length = keep;
      idx.sort((a, b) => csr.cols[a]! - csr.cols[b]!);
    }
    kept.push(idx);
    rowPtr[r + 1] = rowPtr[r]! + idx.length;
  }
  const cols = new Int32Array(rowPtr[rows]!);
  const vals = new Float32Array(rowPtr[rows]!);
  let q = 0;
  for (const idx of kept)
    for (const p of idx) {
      cols[q] = csr.cols[p]!;
      vals[q] = csr.vals[p]!;
      q++;
    }
  return { rowPtr, cols, vals };
}

/**
 * A CSR matrix as the named float32 arrays of a saved model (`prefix.rowPtr`, `.cols`, `.vals`).
 *
 * @example
 * ```ts
 * await writeModelDir(dir, { type, config, vocabulary, arrays: [...csrArrays(transitions, 'transitions')] });
 * ```
 */
export function csrArrays(csr: Csr, prefix: string) {
  const nnz = csr.cols.length;
  if (nnz >= CSR_MAX_NONZEROS) {
    throw new EncoreError(`Cannot save ${prefix}: ${nnz} non-zeros exceed the 2^24 limit of float32 indices`);
  }
  return [
    { name: `${prefix}.rowPtr`, shape: [csr.rowPtr.length], data: Float32Array.from(csr.rowPtr) },
    { name: `${prefix}.cols`, shape: [nnz], data: Float32Array.from(csr.cols) },
    { name: `${prefix}.vals`, shape: [nnz], data: Float32Array.from(csr.vals) },
  ];
}

/**
 * Reads back {@link csrArrays}' arrays, checked against the vocabulary.
 *
 * @throws {InvalidModelFileError} when the arrays do not match the vocabulary or a column is out of range.
 * @example
 * ```ts
 * const transitions = readCsr(contents, 'transitions', dir);
 * ```
 */
export function readCsr(contents: ModelContents, prefix: string, dir: string): Csr {
  const n = contents.vocabulary.size;
  const rowPtr = Int32Array.from(getArray(contents, `${prefix}.rowPtr`, dir).data);
  const cols = Int32Array.from(getArray(contents, `${prefix}.cols`, dir).data);
  const vals = Float32Array.from(getArray(contents, `${prefix}.vals`, dir).data);
  if (rowPtr.length !== n + 2 || rowPtr[n + 1] !== cols.length || cols.length !== vals.length) {
    throw new InvalidModelFileError(dir, `${prefix} arrays do not match the vocabulary of ${n} tracks`);
  }
  for (const c of cols) {
    if (c < 1 || c > n) throw new InvalidModelFileError(dir, `${prefix} has column ${c} outside 1..${n}`);
  }
  return { rowPtr, cols, vals };
}

/**
 * Counts consecutive pairs `a -> b` in every sequence of vocabulary indices (1..n) as a CSR matrix.
 *
 * @example
 * ```ts
 * const t = countTransitions([Int32Array.of(1, 2, 1, 2)], 2); // row 1: {2: 2}, row 2: {1: 1}
 * ```
 */
export function countTransitions(sequences: Iterable<ArrayLike<number>>, n: number): Csr {
  const stride = n + 1;
  let pairs = 0;
  const seqs = [...sequences];
  for (const seq of seqs) pairs += Math.max(0, seq.length - 1);
  const keys = new Float64Array(pairs);
  let p = 0;
  for (const seq of seqs) for (let i = 1; i < seq.length; i++) keys[p++] = seq[i - 1]! * stride + seq[i]!;
  return countKeys(keys, stride);
}

/**
 * Symmetric co-occurrence counts: how often two distinct tracks are at most `window` positions apart in
 * one sequence, both orders of each pair (so row a, column b equals row b, column a); a track next to
 * itself is not counted. Counted by sorting ({@link countKeys}): a Map of pairs stops at 2^24 entries,
 * which a few million varied listens exceed.
 *
 * @example
 * ```ts
 * const co = countCooccurrences([Int32Array.of(1, 2, 3)], 3, 1); // 1-2 and 2-3, once each way
 * ```
 */
export function countCooccurrences(sequences: Iterable<ArrayLike<number>>, n: number, window: number): Csr {
  const stride = n + 1;
  const seqs = [...sequences];
  let bound = 0; // pairs within the window, repeats of one track included (those are skipped below)
  for (const seq of seqs)
    for (let p = 0; p < seq.length; p++) bound += 2 * Math.min(window, seq.length - 1 - p);
  const keys = new Float64Array(bound);
  let at = 0;
  for (const seq of seqs) {
    for (let p = 0; p < seq.length; p++) {
      const a = seq[p]!;
      const end = Math.min(seq.length, p + window + 1);
      for (let q = p + 1; q < end; q++) {
        const b = seq[q]!;
        if (a === b) continue;
        keys[at++] = a * stride + b;
        keys[at++] = b * stride + a;
      }
    }
  }
  return countKeys(keys.subarray(0, at), stride);
}

/**
 * Row `i` of a CSR matrix: its columns, values and the sum of its values.
 *
 * @example
 * ```ts
 * const { cols, vals, total } = csrRow(countTransitions([Int32Array.of(1, 2)], 2), 1); // [2], [1], 1
 * ```
 */
export function csrRow(csr: Csr, i: number): { cols: Int32Array; vals: Float32Array; total: number } {
  const from = csr.rowPtr[i] ?? 0;
  const to = csr.rowPtr[i + 1] ?? from;
  const vals = csr.vals.subarray(from, to);
  let total = 0;
  for (const v of vals) total += v;
  return { cols: csr.cols.subarray(from, to), vals, total };
}
