// Sparse row-compressed count tables over vocabulary indices: first-order transitions (ItemTransition,
// SASRec's transition mix) and co-occurrences (ItemKNN), with their persistence.
import { EncoreError, InvalidModelFileError } from '../errors.js';
import { getArray, type ModelContents } from './persist.js';

/** Largest integer a float32 holds exactly; sparse indices are stored as float32 in `weights.bin`. */
const FLOAT32_EXACT = 2 ** 24;

/** A sparse row-compressed matrix over vocabulary indices (rows and columns 0..n, row 0 empty). */
export interface Csr {
  /** `rowPtr[i]..rowPtr[i+1]` are row i's entries; length n + 2. */
  rowPtr: Int32Array;
  cols: Int32Array;
  vals: Float32Array;
}

/**
 * Builds a CSR matrix from `key = row * stride + col -> value` entries, keeping per row only the `keep`
 * largest values (ties to the lower column), columns sorted ascending within each row.
 */
export function toCsr(
  entries: Map<number, number>,
  rows: number,
  stride: number,
  keep = Number.POSITIVE_INFINITY,
): Csr {
  const perRow: { c: number; v: number }[][] = Array.from({ length: rows }, () => []);
  for (const [key, v] of entries) {
    const r = Math.floor(key / stride);
    perRow[r]!.push({ c: key - r * stride, v });
  }
  const rowPtr = new Int32Array(rows + 1);
  let nnz = 0;
  for (let r = 0; r < rows; r++) {
    let row = perRow[r]!;
    if (row.length > keep) {
      row.sort((a, b) => b.v - a.v || a.c - b.c);
      row = row.slice(0, keep);
    }
    row.sort((a, b) => a.c - b.c);
    perRow[r] = row;
    nnz += row.length;
    rowPtr[r + 1] = nnz;
  }
  const cols = new Int32Array(nnz);
  const vals = new Float32Array(nnz);
  let p = 0;
  for (const row of perRow) {
    for (const e of row) {
      cols[p] = e.c;
      vals[p] = e.v;
      p++;
    }
  }
  return { rowPtr, cols, vals };
}

export function csrArrays(csr: Csr, prefix: string) {
  const nnz = csr.cols.length;
  if (nnz >= FLOAT32_EXACT) {
    throw new EncoreError(`Cannot save ${prefix}: ${nnz} non-zeros exceed the 2^24 limit of float32 indices`);
  }
  return [
    { name: `${prefix}.rowPtr`, shape: [csr.rowPtr.length], data: Float32Array.from(csr.rowPtr) },
    { name: `${prefix}.cols`, shape: [nnz], data: Float32Array.from(csr.cols) },
    { name: `${prefix}.vals`, shape: [nnz], data: Float32Array.from(csr.vals) },
  ];
}

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
  const pairs = new Map<number, number>();
  for (const seq of sequences) {
    for (let p = 1; p < seq.length; p++) {
      const key = seq[p - 1]! * stride + seq[p]!;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
  }
  return toCsr(pairs, stride, stride);
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
