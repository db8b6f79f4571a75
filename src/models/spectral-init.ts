// Starting item vectors from co-occurrence: the top eigenvectors of the training sequences' positive PMI
// matrix, so a track heard a handful of times starts near the tracks it was heard with instead of at a
// random point (item2vec's implicit factorisation, Levy & Goldberg 2014, computed directly).

import type { Rng } from '../util/random.js';
import { countCooccurrences } from './csr.js';

/**
 * Extra random directions in the randomized eigensolver, beyond the `dim` it keeps (Halko et al. 2011). PMI
 * matrices have large negative eigenvalues too, which power iterations amplify as much as positive ones;
 * spare directions hold them so that the top positive ones still converge.
 */
const OVERSAMPLE = 48;
/**
 * Power iterations of the randomized eigensolver. On the shipped data (2,000 tracks, dim 64) 8 iterations
 * with 48 spare directions gave a Gram matrix `E E^T` within 21% (relative Frobenius, sampled pairs) of a
 * 20-iteration, 96-direction solve, in 2.3 s; 3 iterations with 16 spare directions were 43% off (eigenvalue
 * 64 read 8.3 instead of 48.3). The spectrum is flat there (eigenvalues 20 to 64 span 68 to 48), so the
 * exact vectors matter less than the subspace.
 */
const POWER_ITERATIONS = 8;
/** The eigensolver's working arrays stay below this (three `[V + 1, dim + OVERSAMPLE]` float64 blocks). */
export const COOCCURRENCE_INIT_MAX_BYTES = 1.5 * 2 ** 30;

/**
 * Bytes {@link cooccurrenceEmbeddings} holds for its working blocks.
 *
 * @example
 * ```ts
 * cooccurrenceInitBytes(2000, 64) < COOCCURRENCE_INIT_MAX_BYTES; // true
 * ```
 */
export function cooccurrenceInitBytes(V: number, dim: number): number {
  return 3 * 8 * (V + 1) * Math.min(dim + OVERSAMPLE, V);
}

/**
 * `[(V + 1) * dim]` item vectors (row 0, padding, zero) from the co-occurrence of tracks at most `window`
 * listens apart in `sequences`: `E = U_dim sqrt(Lambda_dim)` for the `dim` largest eigenpairs of the
 * positive PMI matrix `max(0, log(c_ab N / (c_a c_b)))`, so `E_a · E_b` approximates its best positive
 * semi-definite rank-`dim` part. Computed with a randomized eigensolver (sparse products only,
 * `O(nnz * (dim + 48))` each). The values are scaled so their standard deviation is `std`; tracks that
 * co-occur with nothing keep their row of `fallback`, and columns beyond the positive eigenpairs found (a
 * catalogue smaller than `dim`, say) keep `fallback`'s columns.
 *
 * @example
 * ```ts
 * const e = cooccurrenceEmbeddings([Int32Array.of(1, 2, 3, 1, 2)], 3, 2, 0.1, fallback, createRng(1));
 * ```
 */
export function cooccurrenceEmbeddings(
  sequences: Iterable<ArrayLike<number>>,
  V: number,
  dim: number,
  std: number,
  fallback: Float32Array,
  rng: Rng,
  window = 3,
): Float32Array {
  const co = countCooccurrences(sequences, V, window);
  // Positive PMI, in place of the counts (rows and columns 0..V; row 0 is empty).
  const rowSum = new Float64Array(V + 1);
  let total = 0;
  for (let a = 1; a <= V; a++)
    for (let p = co.rowPtr[a]!; p < co.rowPtr[a + 1]!; p++) {
      rowSum[a] = rowSum[a]! + co.vals[p]!;
      total += co.vals[p]!;
    }
  const pmi = new Float64Array(co.vals.length);
  for (let a = 1; a <= V; a++)
    for (let p = co.rowPtr[a]!; p < co.rowPtr[a + 1]!; p++)
      pmi[p] = Math.max(0, Math.log((co.vals[p]! * total) / (rowSum[a]! * rowSum[co.cols[p]!]!)));
  // M X for a dense [V + 1, m] block X (row-major), M the symmetric PMI matrix.
  const m = Math.min(dim + OVERSAMPLE, V);
  const times = (x: Float64Array): Float64Array => {
    const y = new Float64Array(x.length);
    for (let a = 1; a <= V; a++) {
      const ya = a * m;
      for (let p = co.rowPtr[a]!; p < co.rowPtr[a + 1]!; p++) {
        const w = pmi[p]!;
        if (w === 0) continue;
        const xb = co.cols[p]! * m;
        for (let j = 0; j < m; j++) y[ya + j] = y[ya + j]! + w * x[xb + j]!;
      }
    }
    return y;
  };
  let q: Float64Array = new Float64Array((V + 1) * m);
  for (let i = m; i < q.length; i++) q[i] = rng.normal(); // row 0 stays zero
  q = orthonormalColumns(times(q), m);
  for (let it = 0; it < POWER_ITERATIONS; it++) q = orthonormalColumns(times(q), m);
  // The small projected matrix T = Q^T M Q and its eigenpairs: M ~ (Q W) Lambda (Q W)^T.
  const mq = times(q);
  const t = new Float64Array(m * m);
  for (let a = 1; a <= V; a++)
    for (let i = 0; i < m; i++) {
      const qi = q[a * m + i]!;
      if (qi === 0) continue;
      for (let j = 0; j < m; j++) t[i * m + j] = t[i * m + j]! + qi * mq[a * m + j]!;
    }
  const { values, vectors } = symmetricEigen(t, m);
  // The largest positive eigenpairs, at most dim of them; the other columns keep the fallback's values.
  const top = values.reduce((mx, v) => Math.max(mx, Math.abs(v)), 0);
  const order = [...values.keys()]
    .filter((e) => values[e]! > 1e-9 * top)
    .sort((x, y) => values[y]! - values[x]!)
    .slice(0, dim);
  const usable = order.length;
  const out = Float32Array.from(fallback);
  out.fill(0, 0, dim); // padding
  const spectral = new Float64Array((V + 1) * usable);
  const filled = new Uint8Array(V + 1); // rows with a non-zero spectral part: the others keep their fallback row
  let sumSq = 0;
  let rows = 0;
  for (let a = 1; a <= V; a++) {
    let norm = 0;
    order.forEach((e, c) => {
      let u = 0;
      for (let i = 0; i < m; i++) u += q[a * m + i]! * vectors[i * m + e]!;
      const v = u * Math.sqrt(values[e]!);
      spectral[a * usable + c] = v;
      norm += v * v;
    });
    if (norm > 0) {
      filled[a] = 1;
      rows++;
    }
    sumSq += norm;
  }
  const scale = sumSq > 0 ? std / Math.sqrt(sumSq / (rows * usable)) : 0;
  for (let a = 1; a <= V; a++)
    if (filled[a]) for (let c = 0; c < usable; c++) out[a * dim + c] = spectral[a * usable + c]! * scale;
  return out;
}

/** Orthonormal columns spanning those of the row-major `[n, m]` block `x` (Gram-Schmidt, twice for stability). */
function orthonormalColumns(x: Float64Array, m: number): Float64Array {
  const n = x.length / m;
  for (let pass = 0; pass < 2; pass++)
    for (let j = 0; j < m; j++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += x[i * m + j]! * x[i * m + k]!;
        for (let i = 0; i < n; i++) x[i * m + j] = x[i * m + j]! - dot * x[i * m + k]!;
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += x[i * m + j]! ** 2;
      norm = Math.sqrt(norm);
      // A column the others already span (rank below m): zero it rather than divide by ~0.
      for (let i = 0; i < n; i++) x[i * m + j] = norm > 1e-12 ? x[i * m + j]! / norm : 0;
    }
  return x;
}

/**
 * Eigenvalues and eigenvectors (columns of the row-major `vectors`) of a small symmetric `[m, m]` matrix,
 * by cyclic Jacobi rotations.
 *
 * @example
 * ```ts
 * symmetricEigen(Float64Array.of(2, 1, 1, 2), 2).values; // [1, 3] in some order
 * ```
 */
export function symmetricEigen(a: Float64Array, m: number): { values: Float64Array; vectors: Float64Array } {
  const s = Float64Array.from(a);
  const v = new Float64Array(m * m);
  for (let i = 0; i < m; i++) v[i * m + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) off += s[i * m + j]! ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < m; p++)
      for (let r = p + 1; r < m; r++) {
        const apr = s[p * m + r]!;
        if (Math.abs(apr) < 1e-300) continue;
        const theta = (s[r * m + r]! - s[p * m + p]!) / (2 * apr);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const sn = t * c;
        for (let k = 0; k < m; k++) {
          // Columns p and r, then rows p and r: S <- J^T S J.
          const skp = s[k * m + p]!;
          const skr = s[k * m + r]!;
          s[k * m + p] = c * skp - sn * skr;
          s[k * m + r] = sn * skp + c * skr;
        }
        for (let k = 0; k < m; k++) {
          const spk = s[p * m + k]!;
          const srk = s[r * m + k]!;
          s[p * m + k] = c * spk - sn * srk;
          s[r * m + k] = sn * spk + c * srk;
        }
        for (let k = 0; k < m; k++) {
          const vkp = v[k * m + p]!;
          const vkr = v[k * m + r]!;
          v[k * m + p] = c * vkp - sn * vkr;
          v[k * m + r] = sn * vkp + c * vkr;
        }
      }
  }
  const values = new Float64Array(m);
  for (let i = 0; i < m; i++) values[i] = s[i * m + i]!;
  return { values, vectors: v };
}
