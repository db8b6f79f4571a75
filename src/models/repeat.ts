// Repeat-aware next-track mixture: listeners replay their own tracks far more than any one new track.
//
// A sequence model scores the catalogue from the last `maxlen` listens; it cannot know that a track last
// played 300 listens ago is a favourite the listener keeps coming back to. The mixture adds that:
//
//   P(x | history) = g * R(x | history) + (1 - g) * Q'(x | history)
//
// Q is the model's softmax over the catalogue; R is a softmax over the tracks in the whole history with
// logits `w · f(x) + modelWeight * log Q(x)` from a few count and recency features and the model's own
// view of the moment (which favourite fits what was just played); g is the chance that the next listen is a
// replay, `g = sigmoid(gate + replayWeight * logit(this history's replay rate))`, since listeners differ
// a lot in how much they replay. Q' is Q with the last listen's probability scaled by exp(lastWeight) and
// renormalised: a transformer's residual path makes the track just played its own top guess (it was on
// 382 of 500 shipped test cases), whatever the data says about immediate repeats; lastWeight learns from
// the data how often a track really follows itself. gate, replayWeight, lastWeight, w and modelWeight are fitted by maximum likelihood on held-out next listens (RepeatNet, Ren et al. 2019,
// has the same repeat/explore split with learned, not fitted, parts).
import { InvalidOptionError } from '../errors.js';

/**
 * Names of the per-track features of R, in order.
 *
 * @example
 * ```ts
 * REPEAT_FEATURES.forEach((name, f) => console.log(name, model.repeatHead?.weights[f]));
 * ```
 */
export const REPEAT_FEATURES = [
  'log(plays in the history)',
  'log(1 + listens since the last play)',
  'is the last listen',
  'last played within the model window',
] as const;

const F = REPEAT_FEATURES.length;
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Fitted parameters of the mixture: `g = sigmoid(gate + replayWeight * logit(replay rate))`, and `weights`
 * the feature weights of R.
 */
export interface RepeatHead {
  gate: number;
  replayWeight: number;
  weights: number[];
  /** Log-factor on Q of the last listen (0 leaves Q as it is). */
  lastWeight: number;
  /**
   * Weight of the model's own log-probability in R's logits, so which replay is likely depends on what was
   * just played (0: R is context-free, as heads saved before it existed).
   */
  modelWeight: number;
}

/** The distinct tracks of a history with their features. */
export interface HistoryFeatures {
  /** Distinct track indices, in order of first appearance. */
  items: number[];
  /** `[items.length * F]` row-major features (see {@link REPEAT_FEATURES}). */
  features: Float64Array;
  /** logit of the history's smoothed replay rate `(replays + 1) / (listens + 2)`. */
  replayLogit: number;
}

/**
 * Writes the {@link REPEAT_FEATURES} of one track at `out[at..at + 4)`: log play count, log(1 + listens since
 * its last play), whether that was the last listen, and whether it is inside the model window.
 */
function writeRepeatFeatures(
  out: Float32Array | Float64Array,
  at: number,
  count: number,
  gap: number,
  window: number,
): void {
  out[at] = Math.log(count);
  out[at + 1] = Math.log1p(gap);
  out[at + 2] = gap === 0 ? 1 : 0;
  out[at + 3] = gap < window ? 1 : 0;
}

/**
 * Features of each distinct track in a history of vocabulary indices.
 *
 * @param window the model's context length (`maxlen`): feature 4 says whether the track's last play is
 *   inside it.
 * @example
 * ```ts
 * const { items, features, replayLogit } = historyFeatures([3, 5, 3, 9], 50); // items [3, 5, 9]; 4 features each
 * ```
 */
export function historyFeatures(ids: readonly number[], window: number): HistoryFeatures {
  if (!(Number.isInteger(window) && window >= 1))
    throw new InvalidOptionError('window', 'the model window (an integer >= 1)', window);
  // Per-track play counts and last positions in scratch arrays indexed by track (a Map per call cost 5 ms
  // on a 19,000-listen history; this runs once per scored row with a repeat head). Only the history's own
  // entries are touched, and they are zeroed again before returning.
  let top = 0;
  for (let p = 0; p < ids.length; p++) {
    const x = ids[p]!;
    if (!(Number.isInteger(x) && x >= 0 && x < MAX_TRACK_INDEX))
      throw new InvalidOptionError(`ids[${p}]`, `a vocabulary index from 0 to ${MAX_TRACK_INDEX - 1}`, x);
    if (x > top) top = x;
  }
  if (scratchCount.length <= top) {
    scratchCount = new Int32Array(Math.max(top + 1, 2 * scratchCount.length));
    scratchLast = new Int32Array(scratchCount.length);
  }
  const count = scratchCount;
  const last = scratchLast;
  const items: number[] = [];
  for (let p = 0; p < ids.length; p++) {
    const x = ids[p]!;
    if (count[x] === 0) items.push(x); // in order of first appearance
    count[x] = count[x]! + 1;
    last[x] = p;
  }
  const features = new Float64Array(items.length * F);
  const n = ids.length;
  for (let k = 0; k < items.length; k++) {
    const x = items[k]!;
    // gap: listens since the last play (0 = the last listen)
    writeRepeatFeatures(features, k * F, count[x]!, n - 1 - last[x]!, window);
    count[x] = 0;
  }
  const rate = (n - items.length + 1) / (n + 2); // listens that replay an earlier track, smoothed
  return { items, features, replayLogit: Math.log(rate / (1 - rate)) };
}

/** Largest vocabulary index {@link historyFeatures} takes, plus one (its scratch arrays are indexed by it). */
const MAX_TRACK_INDEX = 2 ** 26;

/** {@link historyFeatures}' scratch: play counts (all zero between calls) and last positions, by track. */
let scratchCount = new Int32Array(0);
let scratchLast = new Int32Array(0);

/** The replay probability g of a history: 0 for an empty one, which has nothing to replay (Q alone). */
function gateOf(head: RepeatHead, h: HistoryFeatures): number {
  return gateAt(head.gate, head.replayWeight, h);
}

function gateAt(gate: number, replayWeight: number, h: HistoryFeatures): number {
  return h.items.length === 0 ? 0 : sigmoid(gate + replayWeight * h.replayLogit);
}

/**
 * R over a history's distinct tracks: softmax of `w · f + modelWeight * log Q`, with `modelLogits[k]` the
 * model's logit of `h.items[k]` (any common shift: R is a softmax).
 */
function repeatProbs(
  h: HistoryFeatures,
  weights: readonly number[],
  modelWeight: number,
  modelLogits?: ArrayLike<number>,
): Float64Array {
  const m = h.items.length;
  const logits = new Float64Array(m);
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < m; k++) {
    let v = modelLogits && modelWeight !== 0 ? modelWeight * modelLogits[k]! : 0;
    for (let f = 0; f < F; f++) v += weights[f]! * h.features[k * F + f]!;
    logits[k] = v;
    if (v > max) max = v;
  }
  let z = 0;
  for (let k = 0; k < m; k++) {
    logits[k] = Math.exp(logits[k]! - max);
    z += logits[k]!;
  }
  for (let k = 0; k < m; k++) logits[k] = logits[k]! / z;
  return logits;
}

/** One held-out next listen for {@link fitRepeatHead}. */
export interface RepeatCase {
  history: HistoryFeatures;
  /** Position of the target in `history.items`, or -1 when it is a first-time track. */
  targetItem: number;
  /** The sequence model's probability Q of the target. */
  modelProb: number;
  /** Q of the last listen (0 for an empty history). Default 0. */
  lastProb?: number;
  /** Whether the target is the last listen again. Default false. */
  targetIsLast?: boolean;
  /**
   * The model's logit (log Q up to a shared constant) of each of `history.items`, for the context-aware
   * replay choice. Without it the case does not inform `modelWeight`.
   */
  modelLogits?: ArrayLike<number>;
}

/** Q' of the target and of the last listen: Q with the last listen scaled by `exp(lastWeight)`, renormalised. */
function adjustedQ(c: RepeatCase, lastWeight: number): { qt: number; qLast: number } {
  const ql = c.lastProb ?? 0;
  const e = Math.exp(lastWeight);
  const z = 1 - ql + ql * e;
  return { qt: (c.modelProb * (c.targetIsLast ? e : 1)) / z, qLast: (ql * e) / z };
}

/** Options of {@link fitRepeatHead}. */
export interface FitRepeatOptions {
  /** Most L-BFGS iterations. Default 100 (the shipped data converges in about 20). */
  steps?: number;
  /** Stop when no gradient entry of the penalised mean log-likelihood is larger. Default 1e-6. */
  tolerance?: number;
  /** L2 penalty on every parameter but the gate (the feature, replay, last and model weights). Default 1e-3. */
  l2?: number;
}

/** The feature count {@link replayTerms} is unrolled for: this stops compiling if REPEAT_FEATURES changes. */
const UNROLLED: 4 = F;

/** Logits of R, reused across cases by {@link replayTerms}. */
let logitScratch = new Float64Array(0);

/**
 * R(target) over one history, and R's means of each feature (`means[0..F)`) and of the model's logits
 * (`means[F]`), in two passes over the history: logits and their maximum, then the exponentials and every
 * sum at once.
 */
function replayTerms(
  h: HistoryFeatures,
  w: readonly number[],
  modelWeight: number,
  modelLogits: ArrayLike<number> | undefined,
  target: number,
  means: Float64Array,
): number {
  const m = h.items.length;
  if (logitScratch.length < m) logitScratch = new Float64Array(Math.max(m, 2 * logitScratch.length));
  const logits = logitScratch;
  const x = h.features;
  const [w0, w1, w2, w3] = w as [number, number, number, number];
  const lq = modelLogits && modelWeight !== 0 ? modelLogits : undefined;
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0, a = 0; k < m; k++, a += UNROLLED) {
    const v = (lq ? modelWeight * lq[k]! : 0) + w0 * x[a]! + w1 * x[a + 1]! + w2 * x[a + 2]! + w3 * x[a + 3]!;
    logits[k] = v;
    if (v > max) max = v;
  }
  let z = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let sl = 0;
  for (let k = 0, a = 0; k < m; k++, a += UNROLLED) {
    const e = Math.exp(logits[k]! - max);
    z += e;
    s0 += e * x[a]!;
    s1 += e * x[a + 1]!;
    s2 += e * x[a + 2]!;
    s3 += e * x[a + 3]!;
    if (modelLogits) sl += e * modelLogits[k]!;
  }
  means[0] = s0 / z;
  means[1] = s1 / z;
  means[2] = s2 / z;
  means[3] = s3 / z;
  means[F] = sl / z;
  return Math.exp(logits[target]! - max) / z;
}

/** theta = [gate, replayWeight, lastWeight, w_1..w_F, modelWeight]. */
const W0 = 3; // index of the first feature weight
const MW = W0 + F; // index of modelWeight

/**
 * The fit's objective at `theta`: the mean log-likelihood `log(g R(target) + (1 - g) Q'(target))` minus
 * `l2` times the squared weights (all but the gate), and its gradient. One pass over every case's history.
 */
function repeatObjective(
  cases: readonly RepeatCase[],
  theta: Float64Array,
  l2: number,
): { value: number; grad: Float64Array } {
  const grad = new Float64Array(theta.length);
  let sum = 0;
  const w = Array.from(theta.subarray(W0, MW));
  const means = new Float64Array(F + 1);
  for (const c of cases) {
    const g = gateAt(theta[0]!, theta[1]!, c.history);
    const { qt, qLast } = adjustedQ(c, theta[2]!);
    let r = 0;
    if (c.targetItem >= 0) r = replayTerms(c.history, w, theta[MW]!, c.modelLogits, c.targetItem, means);
    const p = Math.max(g * r + (1 - g) * qt, 1e-300);
    sum += Math.log(p);
    const dGate = (g * (1 - g) * (r - qt)) / p; // d log p / d (gate logit)
    grad[0] = grad[0]! + dGate;
    grad[1] = grad[1]! + dGate * c.history.replayLogit;
    // dQ'_t / d lastWeight = Q'_t ([t = last] - Q'_last)
    grad[2] = grad[2]! + ((1 - g) * qt * ((c.targetIsLast ? 1 : 0) - qLast)) / p;
    if (r > 0) {
      // dR_t/dw = R_t (f_t - sum_x R_x f_x), and the same for modelWeight with the model's logits
      const h = c.history;
      for (let f = 0; f < F; f++)
        grad[f + W0] = grad[f + W0]! + (g * r * (h.features[c.targetItem * F + f]! - means[f]!)) / p;
      const lq = c.modelLogits;
      if (lq) grad[MW] = grad[MW]! + (g * r * (lq[c.targetItem]! - means[F]!)) / p;
    }
  }
  let penalty = 0;
  for (let j = 0; j < theta.length; j++) {
    grad[j] = grad[j]! / cases.length - (j > 0 ? 2 * l2 * theta[j]! : 0);
    if (j > 0) penalty += l2 * theta[j]! ** 2;
  }
  return { value: sum / cases.length - penalty, grad };
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

/** Scale of a plain gradient step that moves no parameter by more than 1. */
const gradientStep = (grad: Float64Array) => 1 / Math.max(1, ...Array.from(grad, Math.abs));

/**
 * Fits the gate and feature weights by maximising the mean log-likelihood
 * `log(g R(target) + (1 - g) Q(target))` over held-out cases (minus a small L2 penalty), with L-BFGS
 * (memory 8, backtracking line search) from a fixed start: deterministic, and each iteration is one pass
 * over the cases' histories, so long histories cost about 20 passes instead of the 300 Adam steps this
 * used until 2026-11-27 (which stopped within 1e-7 of the same optimum on the shipped data). Cases with an
 * empty history count through Q alone.
 *
 * @throws {InvalidOptionError} when `cases` is empty or an option is out of range.
 * @example
 * ```ts
 * const head = fitRepeatHead(cases); // { gate: -0.7, replayWeight: 1, weights: [1.5, 0, -4, -0.1], modelWeight: 0.2 }
 * ```
 */
export function fitRepeatHead(cases: readonly RepeatCase[], options: FitRepeatOptions = {}): RepeatHead {
  if (!Array.isArray(cases) || cases.length === 0)
    throw new InvalidOptionError('cases', 'a non-empty array of held-out next listens', cases);
  const steps = options.steps ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  const l2 = options.l2 ?? 1e-3;
  if (!Number.isInteger(steps) || steps < 1) throw new InvalidOptionError('steps', 'an integer >= 1', steps);
  if (!(tolerance > 0)) throw new InvalidOptionError('tolerance', 'a number > 0', tolerance);
  if (!(l2 >= 0)) throw new InvalidOptionError('l2', 'a number >= 0', l2);
  // Start: one replay in four, more plays -> more likely, the model's scores not used.
  let x = Float64Array.of(-1, 0, 0, 1, 0, 0, 0, 0);
  let at = repeatObjective(cases, x, l2);
  const memory: { s: Float64Array; y: Float64Array; rho: number }[] = [];
  for (let it = 0; it < steps; it++) {
    if (at.grad.every((v) => Math.abs(v) <= tolerance)) break;
    // Ascent direction H * grad by the two-loop recursion (H: the inverse-curvature estimate).
    const d = Float64Array.from(at.grad);
    const alphas: number[] = [];
    for (let m = memory.length - 1; m >= 0; m--) {
      const { s, y, rho } = memory[m]!;
      const a = rho * dot(s, d);
      alphas[m] = a;
      for (let j = 0; j < d.length; j++) d[j] = d[j]! - a * y[j]!;
    }
    const newest = memory[memory.length - 1];
    // Without curvature pairs yet, a first step of at most 1 in any parameter.
    const scale = newest ? dot(newest.s, newest.y) / dot(newest.y, newest.y) : gradientStep(at.grad);
    for (let j = 0; j < d.length; j++) d[j] = d[j]! * scale;
    for (let m = 0; m < memory.length; m++) {
      const { s, y, rho } = memory[m]!;
      const b = rho * dot(y, d);
      for (let j = 0; j < d.length; j++) d[j] = d[j]! + s[j]! * (alphas[m]! - b);
    }
    let slope = dot(at.grad, d);
    if (!(slope > 0)) {
      // Not an ascent direction (curvature estimate gone bad): restart from the gradient.
      memory.length = 0;
      const k = gradientStep(at.grad);
      for (let j = 0; j < d.length; j++) d[j] = at.grad[j]! * k;
      slope = dot(at.grad, d);
    }
    // Backtracking line search: the first step t = 1, 1/2, ... with sufficient increase.
    let t = 1;
    let next: { value: number; grad: Float64Array } | undefined;
    let xn = x;
    for (let tries = 0; tries < 40; tries++, t /= 2) {
      xn = x.map((v, j) => v + t * d[j]!);
      const trial = repeatObjective(cases, xn, l2);
      if (trial.value >= at.value + 1e-4 * t * slope) {
        next = trial;
        break;
      }
    }
    if (!next) break; // no increase left at float precision: converged
    const s = xn.map((v, j) => v - x[j]!);
    const y = at.grad.map((g, j) => g - next.grad[j]!); // curvature of -objective
    const sy = dot(s, y);
    if (sy > 1e-12) {
      memory.push({ s, y, rho: 1 / sy });
      if (memory.length > 8) memory.shift();
    }
    const gain = next.value - at.value;
    x = xn;
    at = next;
    if (gain <= 1e-15 * Math.max(1, Math.abs(at.value))) break;
  }
  return {
    gate: x[0]!,
    replayWeight: x[1]!,
    lastWeight: x[2]!,
    weights: Array.from(x.subarray(W0, MW)),
    modelWeight: x[MW]!,
  };
}

/**
 * Mean log-likelihood of the cases' targets under the mixture (without a head: under Q alone).
 *
 * @example
 * ```ts
 * const gain = repeatLogLikelihood(cases, head) - repeatLogLikelihood(cases);
 * ```
 */
export function repeatLogLikelihood(cases: readonly RepeatCase[], head?: RepeatHead): number {
  if (cases.length === 0) return Number.NaN;
  let sum = 0;
  for (const c of cases) {
    let p = c.modelProb;
    if (head) {
      const g = gateOf(head, c.history);
      const r =
        c.targetItem >= 0
          ? repeatProbs(c.history, head.weights, head.modelWeight, c.modelLogits)[c.targetItem]!
          : 0;
      p = g * r + (1 - g) * adjustedQ(c, head.lastWeight).qt;
    }
    sum += Math.log(Math.max(p, 1e-300));
  }
  return sum / cases.length;
}

/**
 * `log(sum_j exp(row[j]))` over a row of logits, skipping index 0 (padding): the log normaliser of the
 * model's softmax Q.
 *
 * @example
 * ```ts
 * const q = Math.exp(row[target]! - rowLogSumExp(row)); // Q(target)
 * ```
 */
export function rowLogSumExp(row: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let j = 1; j < row.length; j++) if (row[j]! > max) max = row[j]!;
  let z = 0;
  for (let j = 1; j < row.length; j++) z += Math.exp(row[j]! - max);
  return max + Math.log(z);
}

/**
 * Turns a row of model logits (index 0 unused) into mixture log-probabilities, in place: every track gets
 * `log((1 - g) Q'(x))`, the history's tracks `log(g R(x) + (1 - g) Q'(x))`, where Q' is Q with the `last`
 * listen's probability scaled by `exp(head.lastWeight)` and renormalised. Order among tracks outside the
 * history is unchanged.
 *
 * @example
 * ```ts
 * applyRepeatHead(row, historyFeatures(ids, 50), head, ids.at(-1)); // row[j] = log P(j | history)
 * ```
 */
export function applyRepeatHead(
  row: Float32Array,
  history: HistoryFeatures,
  head: RepeatHead,
  last?: number,
): void {
  const modelLogits = head.modelWeight !== 0 ? history.items.map((x) => row[x]!) : undefined; // log Q + const
  if (last !== undefined && head.lastWeight !== 0) row[last] = row[last]! + head.lastWeight; // Q -> Q'
  const logZ = rowLogSumExp(row);
  const g = gateOf(head, history);
  const keep = Math.log(1 - g);
  const q = history.items.map((x) => Math.exp(row[x]! - logZ));
  for (let j = 1; j < row.length; j++) row[j] = row[j]! - logZ + keep;
  const r = repeatProbs(history, head.weights, head.modelWeight, modelLogits);
  history.items.forEach((x, k) => {
    row[x] = Math.log(g * r[k]! + (1 - g) * q[k]!);
  });
}

/**
 * A {@link RepeatHead} read from a saved model, or undefined when the value is malformed. A missing
 * `replayWeight` or `lastWeight` (heads saved before they existed) reads as 0.
 */
export function parseRepeatHead(v: unknown): RepeatHead | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const h = v as Record<string, unknown>;
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const replayWeight = h.replayWeight ?? 0;
  const lastWeight = h.lastWeight ?? 0;
  const modelWeight = h.modelWeight ?? 0;
  if (!finite(h.gate) || !finite(replayWeight) || !finite(lastWeight) || !finite(modelWeight))
    return undefined;
  if (!Array.isArray(h.weights) || h.weights.length !== F || !h.weights.every(finite)) return undefined;
  return { gate: h.gate, replayWeight, lastWeight, weights: [...h.weights], modelWeight };
}

/**
 * Names of the per-track features of SASRec's learned history bias (`historyBias`), in order: the bias of
 * a history track is `c(h) · f(track)` with `c(h)` a linear function of the model's hidden state, so how
 * much a replay is worth, and which replay, depend on what was just played.
 *
 * @example
 * ```ts
 * HISTORY_BIAS_FEATURES.length; // 5
 * ```
 */
export const HISTORY_BIAS_FEATURES = ['in the history', ...REPEAT_FEATURES] as const;

/**
 * Tracks of a history that get the learned history bias: the most played, most recent first among ties.
 *
 * @example
 * ```ts
 * historyCandidates(ids, ids.length, 50).items.length <= HISTORY_BIAS_TRACKS; // true
 * ```
 */
export const HISTORY_BIAS_TRACKS = 64;

/**
 * The history tracks that get the learned bias, with their features (see {@link historyCandidates}).
 *
 * @example
 * ```ts
 * const { items, features }: HistoryCandidates = historyCandidates([3, 5, 3], 3, 50);
 * ```
 */
export interface HistoryCandidates {
  items: number[];
  /** `[items.length * HISTORY_BIAS_FEATURES.length]` row-major. */
  features: Float32Array;
}

/**
 * The `limit` most played distinct tracks of `ids[0..end)` (ties: most recent first) with their
 * {@link HISTORY_BIAS_FEATURES}. Training (every prefix of a window) and serving use this one function, so
 * they agree.
 *
 * @example
 * ```ts
 * historyCandidates([3, 5, 3, 9], 4, 50, 64).items; // [3, 9, 5]
 * ```
 */
export function historyCandidates(
  ids: ArrayLike<number>,
  end: number,
  window: number,
  limit = HISTORY_BIAS_TRACKS,
): HistoryCandidates {
  return historyCandidatesRun(ids, end, end, window, limit)[0]!;
}

/**
 * {@link historyCandidates} for every prefix `ids[0..end)` with `end` from `first` to `last` (inclusive), in
 * one pass: the counts up to `first` are read once, and each later listen only moves its own track up the
 * ranking (its count grows and it becomes the most recent), so the top `limit` list is kept exactly in
 * O(limit) per step instead of recounting the whole prefix. Training uses it for the prefixes of a window.
 *
 * @example
 * ```ts
 * const runs = historyCandidatesRun([3, 5, 3, 9], 2, 4, 50); // prefixes of length 2, 3 and 4
 * runs[2]!.items; // [3, 9, 5], as historyCandidates([3, 5, 3, 9], 4, 50)
 * ```
 */
export function historyCandidatesRun(
  ids: ArrayLike<number>,
  first: number,
  last: number,
  window: number,
  limit = HISTORY_BIAS_TRACKS,
): HistoryCandidates[] {
  const count = new Map<number, number>();
  const lastAt = new Map<number, number>();
  for (let p = 0; p < first; p++) {
    const x = ids[p]!;
    count.set(x, (count.get(x) ?? 0) + 1);
    lastAt.set(x, p);
  }
  // The current top list, in ranking order: count descending, then most recent first.
  const ranked: [number, number, number][] = [];
  count.forEach((c, x) => {
    ranked.push([x, c, lastAt.get(x)!]);
  });
  ranked.sort((a, b) => b[1] - a[1] || b[2] - a[2]);
  const top = ranked.slice(0, limit).map((r) => r[0]);
  const H = HISTORY_BIAS_FEATURES.length;
  const out: HistoryCandidates[] = [];
  const emit = (end: number) => {
    const features = new Float32Array(top.length * H);
    top.forEach((x, k) => {
      features[k * H] = 1; // in the history
      writeRepeatFeatures(features, k * H + 1, count.get(x)!, end - 1 - lastAt.get(x)!, window);
    });
    out.push({ items: top.slice(), features });
  };
  emit(first);
  for (let end = first + 1; end <= last; end++) {
    const x = ids[end - 1]!;
    const c = (count.get(x) ?? 0) + 1;
    count.set(x, c);
    lastAt.set(x, end - 1);
    const at = top.indexOf(x);
    if (at >= 0) top.splice(at, 1);
    // x is now the most recent track, so it goes before the first track with a count <= its own.
    let pos = 0;
    while (pos < top.length && count.get(top[pos]!)! > c) pos++;
    if (pos < limit) {
      top.splice(pos, 0, x);
      if (top.length > limit) top.pop();
    }
    emit(end);
  }
  return out;
}
