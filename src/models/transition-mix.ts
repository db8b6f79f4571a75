// First-order transition mix: the last step of SASRec's next-track distribution.
//
// A self-attention model with one shared item table places a track close both to what follows it and to
// what it follows, so it blurs the exact successor (the next song of an album, the song a listener always
// plays after this one) with the artist's other songs. Counting is exact where a transition has been seen
// often. The mix combines the two, trusting the counts more the more often the last track was seen:
//
//   P(x | history) = (1 - mu) * P_model(x | history) + mu * T(x | last),   mu = weight * n / (n + smoothing)
//
// T(x | last) = c(last -> x) / n is the empirical transition distribution of the last listen from the
// training sequences, n = sum_x c(last -> x). weight and smoothing are fitted by maximum likelihood on
// held-out next listens, whose transitions are not in the counts; with no first-order signal in the data
// the fit picks weight 0 and the mix is the model alone. (FPMC, Rendle et al. 2010, adds a Markov chain to
// a factor model in the same spirit; here the chain is counted, not factorised.)
import { InvalidOptionError } from '../errors.js';
import { rowLogSumExp } from './repeat.js';

/**
 * Fitted parameters of the transition mix: `mu = weight * n / (n + smoothing)`, n the last track's
 * transition count.
 *
 * @example
 * ```ts
 * const mix: TransitionMix = { weight: 0.3, smoothing: 2 };
 * ```
 */
export interface TransitionMix {
  weight: number;
  smoothing: number;
}

/**
 * One held-out next listen for {@link fitTransitionMix}.
 *
 * @example
 * ```ts
 * const c: TransitionCase = { modelProb: 0.02, count: 3, total: 10 }; // the last track went to the target 3 times in 10
 * ```
 */
export interface TransitionCase {
  /** The model's probability of the target (after the repeat head, when there is one). */
  modelProb: number;
  /** Training transitions from the last listen to the target. */
  count: number;
  /** Training transitions from the last listen to anything (n). */
  total: number;
}

/** Grids of the fit: weights 0, 0.0125, ... 0.95, and smoothings 1/64 ... 64 (doubling). */
const WEIGHTS = Array.from({ length: 77 }, (_, i) => i * 0.0125);
const SMOOTHINGS = Array.from({ length: 13 }, (_, i) => 2 ** (i - 6));

/** The mixed probability of one case's target. */
function mixedProb(c: TransitionCase, mix: TransitionMix): number {
  if (c.total <= 0) return c.modelProb;
  const mu = (mix.weight * c.total) / (c.total + mix.smoothing);
  return (1 - mu) * c.modelProb + (mu * c.count) / c.total;
}

/**
 * Mean log-likelihood of the cases' targets under the mix (without one: under the model alone).
 *
 * @example
 * ```ts
 * const gain = transitionLogLikelihood(cases, mix) - transitionLogLikelihood(cases);
 * ```
 */
export function transitionLogLikelihood(cases: readonly TransitionCase[], mix?: TransitionMix): number {
  if (cases.length === 0) return Number.NaN;
  let sum = 0;
  for (const c of cases) sum += Math.log(Math.max(mix ? mixedProb(c, mix) : c.modelProb, 1e-300));
  return sum / cases.length;
}

/**
 * Fits `weight` and `smoothing` by maximising the mean log-likelihood of held-out targets over a fixed grid
 * (deterministic; weight 0 when the counts do not help). Ties go to the smaller weight.
 *
 * @throws {InvalidOptionError} when `cases` is empty or a case is malformed.
 * @example
 * ```ts
 * const mix = fitTransitionMix([{ modelProb: 0.01, count: 8, total: 10 }, { modelProb: 0.2, count: 0, total: 5 }]);
 * ```
 */
export function fitTransitionMix(cases: readonly TransitionCase[]): TransitionMix {
  if (!Array.isArray(cases) || cases.length === 0)
    throw new InvalidOptionError('cases', 'a non-empty array of held-out next listens', cases);
  cases.forEach((c, i) => {
    const ok =
      c.modelProb >= 0 &&
      c.modelProb <= 1 + 1e-6 &&
      Number.isFinite(c.total) &&
      c.total >= 0 &&
      c.count >= 0 &&
      c.count <= c.total;
    if (!ok)
      throw new InvalidOptionError(
        `cases[${i}]`,
        'modelProb in [0, 1] and 0 <= count <= total',
        JSON.stringify(c),
      );
  });
  let best: TransitionMix = { weight: 0, smoothing: SMOOTHINGS[0]! };
  let bestLl = transitionLogLikelihood(cases, best);
  for (const smoothing of SMOOTHINGS) {
    for (const weight of WEIGHTS) {
      if (weight === 0) continue;
      const ll = transitionLogLikelihood(cases, { weight, smoothing });
      if (ll > bestLl + 1e-12) {
        bestLl = ll;
        best = { weight, smoothing };
      }
    }
  }
  return best;
}

/**
 * Turns a row of model scores (index 0 unused; logits or log-probabilities) into log-probabilities of the
 * mix, in place, given the last listen's transition row (`cols`, `vals`, their sum `total`). Tracks the last
 * listen never led to keep their order; with `total` 0 the row is only normalised.
 *
 * @example
 * ```ts
 * applyTransitionMix(row, mix, csrRow(transitions, last)); // row[j] = log P(j | history)
 * ```
 */
export function applyTransitionMix(
  row: Float32Array,
  mix: TransitionMix,
  transitions: { cols: ArrayLike<number>; vals: ArrayLike<number>; total: number },
): void {
  const logZ = rowLogSumExp(row);
  const { total } = transitions;
  const mu = total > 0 ? (mix.weight * total) / (total + mix.smoothing) : 0;
  const probs = Array.from(transitions.cols, (j) => Math.exp(row[j]! - logZ));
  const keep = Math.log(1 - mu);
  for (let j = 1; j < row.length; j++) row[j] = row[j]! - logZ + keep;
  if (mu === 0) return;
  for (let k = 0; k < transitions.cols.length; k++) {
    const j = transitions.cols[k]!;
    row[j] = Math.log((1 - mu) * probs[k]! + (mu * transitions.vals[k]!) / total);
  }
}

/**
 * A {@link TransitionMix} read from a saved model, or undefined when the value is malformed.
 *
 * @example
 * ```ts
 * parseTransitionMix({ weight: 0.3, smoothing: 2 }); // { weight: 0.3, smoothing: 2 }
 * ```
 */
export function parseTransitionMix(v: unknown): TransitionMix | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const { weight, smoothing } = v as Record<string, unknown>;
  if (typeof weight !== 'number' || !(weight >= 0 && weight < 1)) return undefined;
  if (typeof smoothing !== 'number' || !(smoothing > 0 && Number.isFinite(smoothing))) return undefined;
  return { weight, smoothing };
}
