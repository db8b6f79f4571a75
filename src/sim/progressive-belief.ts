// Early prediction of a listener's 60-day active days from the first d days: Gaussian prior over activity traces.
import { checkKnownOptions, InvalidDataError, InvalidOptionError, optionKeys } from '../errors.js';

/** Options of {@link progressiveBelief} and {@link createBelief}. */
export interface BeliefOptions {
  /** Length of an activity trace in days. Default 60. */
  days?: number;
  /** Shrinkage of the sample covariance towards its diagonal, in [0, 1]. Default 0.1. */
  shrinkage?: number;
}

/** A predicted total of active days over the whole horizon. */
export interface Belief {
  /** Expected active days over all `days` (observed + predicted). */
  mean: number;
  /** Standard deviation of that total under the conditioned Gaussian. */
  std: number;
}

/** A fitted prior; `predict(observed)` conditions on any prefix. */
export interface BeliefModel {
  readonly days: number;
  /** Mean activity per day (the prior mean vector). */
  readonly mu: Float64Array;
  predict(observed: ArrayLike<number>): Belief;
}

function checkOptions(options: BeliefOptions): { days: number; shrinkage: number } {
  checkKnownOptions(options, optionKeys<typeof options>({ days: true, shrinkage: true }), 'belief');
  const days = options.days ?? 60;
  const shrinkage = options.shrinkage ?? 0.1;
  if (!Number.isInteger(days) || days < 1) throw new InvalidOptionError('days', 'an integer >= 1', days);
  if (typeof shrinkage !== 'number' || !(shrinkage >= 0 && shrinkage <= 1)) {
    throw new InvalidOptionError('shrinkage', 'a number in [0, 1]', shrinkage);
  }
  return { days, shrinkage };
}

function checkTraces(traces: readonly ArrayLike<number>[], days: number, name: string): void {
  if (!Array.isArray(traces) || traces.length < 2) {
    throw new InvalidOptionError(name, 'an array of at least 2 activity traces', traces);
  }
  traces.forEach((t, i) => {
    if (!t || t.length !== days) {
      throw new InvalidDataError(`Activity trace ${i} has the wrong length`, [
        { column: `${name}[${i}]`, value: String(t?.length), expected: `length ${days} (the days option)` },
      ]);
    }
    for (let d = 0; d < t.length; d++) {
      const x = t[d]!;
      if (typeof x !== 'number' || !(x >= 0 && x <= 1))
        throw new InvalidDataError(`Activity trace ${i} has a bad value on day ${d}`, [
          {
            column: `${name}[${i}][${d}]`,
            value: String(x),
            expected: 'a number from 0 to 1 (active that day or not)',
          },
        ]);
    }
  });
}

/**
 * In-place Cholesky factorisation of a symmetric positive-definite `n×n` matrix (row-major); returns the lower
 * factor L with A = L Lᵀ. Adds jitter to the diagonal if needed.
 */
function cholesky(a: Float64Array, n: number): Float64Array {
  for (let jitter = 0; ; jitter = jitter === 0 ? 1e-9 : jitter * 10) {
    const l = new Float64Array(n * n);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a[i * n + j]! + (i === j ? jitter : 0);
        for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
        if (i === j) {
          if (!(s > 0)) {
            ok = false;
            break;
          }
          l[i * n + i] = Math.sqrt(s);
        } else {
          l[i * n + j] = s / l[j * n + j]!;
        }
      }
    }
    if (ok) return l;
    if (jitter > 1)
      throw new InvalidDataError('The activity covariance is not positive definite, even with jitter');
  }
}

/** Solves (L Lᵀ) x = b given the lower Cholesky factor. */
function cholSolve(l: Float64Array, n: number, b: Float64Array): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[i * n + k]! * y[k]!;
    y[i] = s / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * x[k]!;
    x[i] = s / l[i * n + i]!;
  }
  return x;
}

/**
 * Fits the Gaussian prior over daily activity traces once (mean vector, covariance shrunk towards its diagonal
 * plus a small ridge), and precomputes, per number of observed days d, the vector g_d = Σ_aa⁻¹ Σ_ab 1 and the
 * variance of the unobserved total. `predict(observed)` then costs O(d).
 *
 * @example
 * ```ts
 * const belief = createBelief(trainTraces, { days: 60 });
 * belief.predict(trace.subarray(0, 7)); // { mean, std } of 60-day active days
 * ```
 */
export function createBelief(traces: readonly ArrayLike<number>[], options: BeliefOptions = {}): BeliefModel {
  const { days: D, shrinkage } = checkOptions(options);
  checkTraces(traces, D, 'traces');
  const n = traces.length;
  const mu = new Float64Array(D);
  for (const t of traces) for (let i = 0; i < D; i++) mu[i]! += t[i]! / n;
  const cov = new Float64Array(D * D);
  for (const t of traces) {
    for (let i = 0; i < D; i++) {
      const di = t[i]! - mu[i]!;
      if (di === 0) continue;
      for (let j = 0; j < D; j++) cov[i * D + j]! += (di * (t[j]! - mu[j]!)) / (n - 1);
    }
  }
  for (let i = 0; i < D; i++) {
    for (let j = 0; j < D; j++) if (i !== j) cov[i * D + j]! *= 1 - shrinkage;
    cov[i * D + i]! += 1e-4; // ridge: keeps days with no variance (all 0 or all 1) invertible
  }
  // Per d: g_d (length d) and the conditional variance of the unobserved total.
  const g: Float64Array[] = [];
  const condVar = new Float64Array(D + 1);
  const rowSum = (i: number, from: number) => {
    let s = 0;
    for (let j = from; j < D; j++) s += cov[i * D + j]!;
    return s;
  };
  for (let d = 0; d <= D; d++) {
    let prior = 0; // 1ᵀ Σ_bb 1
    for (let i = d; i < D; i++) prior += rowSum(i, d);
    if (d === 0) {
      g.push(new Float64Array(0));
      condVar[0] = prior;
      continue;
    }
    const saa = new Float64Array(d * d);
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) saa[i * d + j] = cov[i * D + j]!;
    const sab1 = new Float64Array(d);
    for (let i = 0; i < d; i++) sab1[i] = rowSum(i, d);
    const gd = cholSolve(cholesky(saa, d), d, sab1);
    let explained = 0;
    for (let i = 0; i < d; i++) explained += gd[i]! * sab1[i]!;
    g.push(gd);
    condVar[d] = Math.max(0, prior - explained);
  }
  let muTail = 0;
  const tail = new Float64Array(D + 1); // tail[d] = Σ_{i>=d} μ_i
  for (let i = D - 1; i >= 0; i--) {
    muTail += mu[i]!;
    tail[i] = muTail;
  }
  return {
    days: D,
    mu,
    predict(observed: ArrayLike<number>): Belief {
      const d = observed?.length;
      if (typeof d !== 'number' || d > D) {
        throw new InvalidOptionError('observed', `an activity prefix of at most ${D} days`, observed);
      }
      let seen = 0;
      let cond = tail[d]!;
      const gd = g[d]!;
      for (let i = 0; i < d; i++) {
        const x = observed[i]!;
        if (typeof x !== 'number' || !(x >= 0 && x <= 1))
          throw new InvalidOptionError(`observed[${i}]`, 'a number from 0 to 1 (active that day or not)', x);
        seen += x;
        cond += gd[i]! * (x - mu[i]!);
      }
      const remaining = D - d;
      const mean = seen + Math.min(remaining, Math.max(0, cond));
      return { mean, std: Math.sqrt(condVar[d]!) };
    },
  };
}

/**
 * Predicts a listener's total active days over `days` from the first d days of their activity trace, using a
 * Gaussian prior over traces fitted on `traces` and conditioned on the observed prefix:
 * E[x_b | x_a] = μ_b + Σ_ba Σ_aa⁻¹ (x_a − μ_a). The unobserved part is clamped to [0, days − d].
 * With all days observed the prediction is the observed total, with std 0.
 *
 * @example
 * ```ts
 * const { mean, std } = progressiveBelief(trainTraces, firstWeek, { days: 60 });
 * ```
 */
export function progressiveBelief(
  traces: readonly ArrayLike<number>[],
  observed: ArrayLike<number>,
  options: BeliefOptions = {},
): Belief {
  return createBelief(traces, options).predict(observed);
}

/** Error of the belief per number of observed days. */
export interface BeliefErrorRow {
  /** Days observed (0 = prior only). */
  day: number;
  /** Mean absolute error of predicted vs true total active days. */
  mae: number;
  rmse: number;
}

/**
 * Error of {@link progressiveBelief} on held-out traces, per number of observed days d = 0..days.
 *
 * @example
 * ```ts
 * const rows = beliefErrorByDay(train.map((l) => l.trace), test.map((l) => l.trace));
 * console.table(rows.filter((r) => [0, 7, 14, 30, 60].includes(r.day)));
 * ```
 */
export function beliefErrorByDay(
  trainTraces: readonly ArrayLike<number>[],
  testTraces: readonly ArrayLike<number>[],
  options: BeliefOptions = {},
): BeliefErrorRow[] {
  const model = createBelief(trainTraces, options);
  const D = model.days;
  checkTraces(testTraces, D, 'testTraces');
  const truth = testTraces.map((t) => {
    let s = 0;
    for (let i = 0; i < D; i++) s += t[i]!;
    return s;
  });
  const rows: BeliefErrorRow[] = [];
  for (let d = 0; d <= D; d++) {
    let abs = 0;
    let sq = 0;
    testTraces.forEach((t, i) => {
      const pred = model.predict(Array.prototype.slice.call(t, 0, d) as number[]).mean;
      abs += Math.abs(pred - truth[i]!);
      sq += (pred - truth[i]!) ** 2;
    });
    rows.push({ day: d, mae: abs / testTraces.length, rmse: Math.sqrt(sq / testTraces.length) });
  }
  return rows;
}
