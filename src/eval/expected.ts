// Accuracy in expectation over a generated world's true next-track distributions.
//
// evaluate() counts one sampled target per case; on a generated world the whole distribution of the next
// listen is known, so a model's HR@k and NDCG@k can be taken in expectation over it. That is how
// bestAchievableHitRate counts the ceiling, so the two compare like with like, and it removes the noise of
// the one sampled target (with 500 cases, a realised HR@10 near 0.35 has a standard error of about 0.02).
import { checkTruth, type GroundTruth, truthStepFinder } from '../data/generate.js';
import type { EvalCase } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import { type Recommender, scoreRows } from '../models/recommender.js';
import { expectedAtK } from './expectation.js';
import { checkCases, checkModel } from './metrics.js';

/** HR@k and NDCG@k in expectation over the true next-track distributions. */
export interface ExpectedMetrics {
  hr: number;
  ndcg: number;
}

/** Options of {@link evaluateExpected}. */
export interface ExpectedOptions {
  /** Cut-off. Default 10. */
  k?: number;
  /**
   * As in `evaluate()`: leave the history's tracks out of the ranking, their probability counting as a
   * miss. Default true.
   */
  excludeHistory?: boolean;
}

function checkOptions(options: ExpectedOptions): { k: number; excludeHistory: boolean } {
  checkKnownOptions(
    options,
    optionKeys<typeof options>({ k: true, excludeHistory: true }),
    'evaluateExpected',
  );
  const k = options.k ?? 10;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1)
    throw new InvalidOptionError('k', 'an integer >= 1', k);
  const excludeHistory = options.excludeHistory ?? true;
  if (typeof excludeHistory !== 'boolean')
    throw new InvalidOptionError('excludeHistory', 'a boolean', excludeHistory);
  return { k, excludeHistory };
}

/**
 * {@link evaluateExpected} from precomputed score rows: `scores[i][j]` scores track index `j` (index 0 is
 * ignored) for `cases[i]`, and `index` maps a track id to its column.
 *
 * @throws {InvalidOptionError} on a bad option or when `scores` and `cases` differ in length.
 * @throws {InvalidDataError} when a case has no matching truth step.
 * @example
 * ```ts
 * const { hr, ndcg } = expectedFromScores(world.truth, cases, await model.scoreAll(cases.map((c) => c.history)), (t) => model.vocabulary.index(t));
 * ```
 */
export function expectedFromScores(
  truth: GroundTruth,
  cases: readonly EvalCase[],
  scores: readonly ArrayLike<number>[],
  index: (trackId: string) => number | undefined,
  options: ExpectedOptions = {},
): ExpectedMetrics {
  const { k, excludeHistory } = checkOptions(options);
  if (Array.isArray(cases) && scores.length !== cases.length)
    throw new InvalidOptionError('scores', `one row per case (${cases.length})`, scores.length);
  if (!Array.isArray(cases) || cases.length === 0)
    throw new InvalidOptionError('cases', 'a non-empty array of evaluation cases', cases);
  const stepOf = truthStepFinder(truth);
  let hr = 0;
  let ndcg = 0;
  cases.forEach((c, i) => {
    const { tracks, probs } = stepOf(c).filtered;
    const skip = new Set<number>();
    if (excludeHistory) for (const t of c.history) skip.add(index(t) ?? -1);
    const e = expectedAtK(
      scores[i]!,
      tracks.map((t, m) => [index(t), probs[m]!] as const),
      k,
      skip,
      1, // column 0 is padding
    );
    hr += e.hr;
    ndcg += e.ndcg;
  });
  return { hr: hr / cases.length, ndcg: ndcg / cases.length };
}

/**
 * A model's HR@k and NDCG@k on a generated world's cases, in expectation over each case's true next-track
 * distribution (`TruthStep.filtered`, what the ceiling of {@link bestAchievableHitRate} ranks by): every
 * track x the model ranks at r <= k, ties counted against it as in `evaluate()`, adds P(x) to HR and
 * P(x) / log2(r + 1) to NDCG. `bestAchievableHitRate(truth, cases, k, { excludeHistory })` is this HR for
 * the ceiling's own ranking, so `hr / ceiling` is a like-for-like share, without the noise of the one
 * sampled target per case that `evaluate()` counts.
 *
 * @throws {InvalidOptionError} on a bad option.
 * @throws {InvalidDataError} when a case has no matching truth step (cases must be full listening
 *   prefixes, as {@link truthCases} makes them).
 * @example
 * ```ts
 * const world = generateWorld({ users: 100 });
 * const cases = truthCases(world, 'test');
 * const { hr, ndcg } = await evaluateExpected(model, world.truth, cases, { k: 10, excludeHistory: false });
 * const share = hr / bestAchievableHitRate(world.truth, cases, 10, { excludeHistory: false });
 * ```
 */
export async function evaluateExpected(
  model: Recommender,
  truth: GroundTruth,
  cases: readonly EvalCase[],
  options: ExpectedOptions = {},
): Promise<ExpectedMetrics> {
  checkModel(model, 'model');
  checkTruth(truth);
  checkCases(cases);
  checkOptions(options);
  const scores = await scoreRows(
    model,
    cases.map((c) => c.history),
  );
  return expectedFromScores(truth, cases, scores, (t) => model.vocabulary.index(t), options);
}
