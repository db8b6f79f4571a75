// First-order transition term: SASRec's scores sharpened by counted transitions, after training and
// before the repeat mixture (which is fitted on top of it).
//
// A self-attention model with one shared item table places a track close both to what follows it and to
// what it follows, so it blurs the exact successor (the next song of an album, the song a listener always
// plays after this one) with the artist's other songs. Counting is exact where a transition has been
// seen. The two are combined as a product of experts, renormalised:
//
//   log P(x | history) = log P_model(x | history) + weight * log(1 + c(last -> x) / smoothing) - log Z
//
// c(last -> x) counts how often x followed the last listen in the training sequences. Tracks that never
// followed it keep their order. weight and smoothing are chosen on held-out next listens, whose
// transitions are not in the counts, by NDCG@10 with the history left out of the ranking (the default
// protocol of `evaluate` and `recommend`, whose order of new tracks the repeat head cannot change; SASRec's
// `transitionExcludeHistory: false` ranks every track, as early stopping does): the term is for ranking.
// Maximum likelihood would pick a far smaller weight (0.1 on the shipped data, where NDCG@10 peaks near 1),
// because the model already carries part of the same information and a product
// counts it twice; the scores stay normalised log-probabilities but are less calibrated than the
// model's own. With no first-order signal in the data the choice is weight 0 and the term is off. Where
// the transformer has not learned the data (a sparse catalogue, little training), "trust" weights above 1
// let the counts outrank it, a backoff: they must beat the best product weight by a 5% margin.
// (FPMC, Rendle et al. 2010, adds a Markov chain to a factor model in the same spirit; here the chain is
// counted, not factorised.)
import { checkKnownOptions, InvalidOptionError } from '../errors.js';
import { rowLogSumExp } from './repeat.js';

/**
 * Chosen parameters of the transition term: `weight * log(1 + count / smoothing)` is added to the log
 * score of every track the last listen led to in training.
 *
 * @example
 * ```ts
 * const mix: TransitionMix = { weight: 1, smoothing: 1 }; // multiply P by (1 + count)
 * ```
 */
export interface TransitionMix {
  weight: number;
  smoothing: number;
}

/**
 * The training transitions out of one track: the tracks that followed it (`cols`) and how often (`vals`).
 *
 * @example
 * ```ts
 * const row: TransitionRow = { cols: [4, 9], vals: [6, 1] }; // track 4 followed 6 times, track 9 once
 * ```
 */
export interface TransitionRow {
  cols: ArrayLike<number>;
  vals: ArrayLike<number>;
}

/**
 * The grid {@link TransitionMixFit} searches, with smoothings 1, 4 and 16 (weight 0, the model alone, once):
 * product weights 0.25 to 1 by 0.25, where model and counts are two experts, and trust weights 2, 4 and 8,
 * where the counts outrank the model and the model mostly orders the tracks the last listen never led to
 * (a backoff). Smoothing starts at 1, so a transition seen once at most doubles a track's probability at
 * weight 1. A trust weight is chosen only when it beats the best product weight by
 * {@link TRANSITION_TRUST_MARGIN} (see {@link TransitionMixFit}).
 *
 * @example
 * ```ts
 * TRANSITION_GRID.length; // 22
 * ```
 */
export const TRANSITION_GRID: readonly TransitionMix[] = Object.freeze([
  { weight: 0, smoothing: 1 },
  ...[1, 4, 16].flatMap((smoothing) => [0.25, 0.5, 0.75, 1].map((weight) => ({ weight, smoothing }))),
  ...[1, 4, 16].flatMap((smoothing) => [2, 4, 8].map((weight) => ({ weight, smoothing }))),
]);

/**
 * How much better (relative validation NDCG@10) the best trust weight (above 1) must be than the best
 * product weight (at most 1) to be chosen when the term is chosen with every track ranked (SASRec's
 * `transitionExcludeHistory: false`, the only choice before 2026-11-28). With the history left out there is
 * no margin: on five models fitted on the shipped data (four seeds with artists, one without) the plain
 * best point scored E[NDCG@10] +0.8% to +5.4% above the margin's choice in that protocol, in expectation
 * (E[HR@10] -2.5% to +0.2%). Where the transformer has learned the data, trust weights trade
 * HR@10 for NDCG@10: on the shipped data weight 4 scored +4% validation NDCG@10 over weight 1 and, in
 * expectation on the test cases, +2% NDCG@10 but -1% to -3.5% HR@10 with every track ranked. Where it has
 * not (a catalogue of 7,925 tracks heard 12 times each on average, without artists: the transformer alone
 * ranked near popularity), weight 8 scored +74% on validation and doubled test NDCG@10 with the history
 * excluded (0.049 to 0.092, ItemTransition's level). 5% separates the two regimes.
 *
 * @example
 * ```ts
 * TRANSITION_TRUST_MARGIN; // 0.05
 * ```
 */
export const TRANSITION_TRUST_MARGIN = 0.05;

/**
 * What the transition term adds to the score of a track the last listen led to `count` times in training:
 * `weight * log(1 + count / smoothing)`.
 *
 * @example
 * ```ts
 * transitionBoost({ weight: 1, smoothing: 1 }, 3); // log(4): P multiplied by 4 before renormalising
 * ```
 */
export function transitionBoost(mix: TransitionMix, count: number): number {
  return mix.weight * Math.log1p(count / mix.smoothing);
}

/** NDCG@10 of a 1-based rank: `1 / log2(rank + 1)` within the top 10, else 0. */
const ndcgAt10 = (rank: number) => (rank <= 10 ? 1 / Math.log2(rank + 1) : 0);

/** Inserts `v` into `top`, the `n` highest scores so far in descending order (at most 10); returns the new n. */
function keepTop(top: Float64Array, n: number, v: number): number {
  if (n === 10 && !(v > top[9]!)) return n;
  let i = n < 10 ? n++ : 9;
  while (i > 0 && top[i - 1]! < v) {
    top[i] = top[i - 1]!;
    i--;
  }
  top[i] = v;
  return n;
}

/**
 * NDCG@10 of one target under each grid point (`out[g]`), ties against the target: every track with index
 * >= 1 ranked, or, with `excludeHistory`, every track but those of `history` (a target among them is a
 * miss, 0, as `evaluate` counts it). The term only moves the last listen's successors (`transitions.cols`),
 * so one pass keeps the 10 best scores among the other ranked tracks and each grid point is then ranked
 * from those and the successors: O(tracks + grid x successors) per case instead of O(grid x tracks), which
 * on a 900,000-track catalogue took 64 of the 80 s of choosing the term. `mark` is a zeroed scratch array
 * as long as the row, zeroed again on return.
 */
function gridNdcg(
  row: ArrayLike<number>,
  target: number,
  transitions: TransitionRow,
  history: ArrayLike<number>,
  excludeHistory: boolean,
  mark: Uint8Array,
  out: Float64Array,
): void {
  const { cols, vals } = transitions;
  const EXCLUDED = 2;
  const SUCCESSOR = 1;
  if (excludeHistory) for (let k = 0; k < history.length; k++) mark[history[k]!] = EXCLUDED;
  if (mark[target] === EXCLUDED) out.fill(0);
  else {
    for (let k = 0; k < cols.length; k++) if (mark[cols[k]!] === 0) mark[cols[k]!] = SUCCESSOR;
    // The 10 highest scores among ranked tracks that are neither the target nor a successor, descending.
    const top = new Float64Array(10).fill(Number.NEGATIVE_INFINITY);
    let n = 0;
    for (let j = 1; j < row.length; j++) if (j !== target && mark[j] === 0) n = keepTop(top, n, row[j]!);
    let targetCount = -1;
    for (let k = 0; k < cols.length; k++) if (cols[k] === target) targetCount = vals[k]!;
    TRANSITION_GRID.forEach((mix, g) => {
      const t = row[target]! + (targetCount >= 0 ? transitionBoost(mix, targetCount) : 0);
      let rank = 1;
      while (rank <= n && top[rank - 1]! >= t) rank++;
      for (let k = 0; k < cols.length && rank <= 10; k++) {
        const j = cols[k]!;
        if (j !== target && mark[j] === SUCCESSOR && row[j]! + transitionBoost(mix, vals[k]!) >= t) rank++;
      }
      out[g] = ndcgAt10(rank);
    });
  }
  for (let k = 0; k < cols.length; k++) mark[cols[k]!] = 0;
  if (excludeHistory) for (let k = 0; k < history.length; k++) mark[history[k]!] = 0;
}

/**
 * Chooses the transition term's parameters on held-out next listens, added one at a time (so a caller can
 * stream score rows in chunks): the product point of {@link TRANSITION_GRID} (weight at most 1) with the
 * highest mean NDCG@10, ties to the smaller weight, then the larger smoothing; or the best trust point
 * (weight above 1), chosen the same way, when its NDCG@10 is higher, by at least
 * {@link TRANSITION_TRUST_MARGIN} when every track is ranked. Deterministic.
 *
 * `excludeHistory: false` (the default) ranks every track. With `excludeHistory: true` each case's history
 * is left out of the ranking, the default protocol of `evaluate` and `recommend` (SASRec's default since
 * 2026-11-28, `transitionExcludeHistory`): the order of new tracks, which the repeat head cannot change;
 * there the best grid point wins outright.
 *
 * @example
 * ```ts
 * const fit = new TransitionMixFit({ excludeHistory: true });
 * cases.forEach((c) => fit.add(c.row, c.target, c.transitions, c.history));
 * const { mix, ndcg, baseline } = fit.result(); // baseline: NDCG@10 with weight 0
 * ```
 */
export class TransitionMixFit {
  private readonly sums = new Float64Array(TRANSITION_GRID.length);
  private readonly one = new Float64Array(TRANSITION_GRID.length);
  private readonly excludeHistory: boolean;
  private mark = new Uint8Array(0);
  private cases = 0;

  constructor(options: { excludeHistory?: boolean } = {}) {
    checkKnownOptions(options, ['excludeHistory'], 'TransitionMixFit');
    const excludeHistory = options.excludeHistory ?? false;
    if (typeof excludeHistory !== 'boolean')
      throw new InvalidOptionError('excludeHistory', 'a boolean', excludeHistory);
    this.excludeHistory = excludeHistory;
  }

  /**
   * Adds one case: the model's scores (index 0 unused), the target's index, the last listen's transitions,
   * and the history's track indices (left out of the ranking with `excludeHistory`; without it they are
   * not needed).
   */
  add(
    row: ArrayLike<number>,
    target: number,
    transitions: TransitionRow,
    history: ArrayLike<number> = [],
  ): void {
    if (!Number.isInteger(target) || target < 1 || target >= row.length)
      throw new InvalidOptionError('target', `a track index from 1 to ${row.length - 1}`, target);
    for (let k = 0; k < transitions.vals.length; k++) {
      const v = transitions.vals[k]!;
      if (!(v >= 0 && Number.isFinite(v)))
        throw new InvalidOptionError(`transitions.vals[${k}]`, 'a finite count >= 0', v);
    }
    const checkIndices = (what: string, list: ArrayLike<number>) => {
      for (let k = 0; k < list.length; k++) {
        const j = list[k]!;
        if (!Number.isInteger(j) || j < 1 || j >= row.length)
          throw new InvalidOptionError(`${what}[${k}]`, `a track index from 1 to ${row.length - 1}`, j);
      }
    };
    checkIndices('transitions.cols', transitions.cols);
    checkIndices('history', history);
    if (this.mark.length !== row.length) this.mark = new Uint8Array(row.length);
    gridNdcg(row, target, transitions, history, this.excludeHistory, this.mark, this.one);
    for (let g = 0; g < this.sums.length; g++) this.sums[g] = this.sums[g]! + this.one[g]!;
    this.cases++;
  }

  /**
   * The chosen term, its mean NDCG@10 and that of weight 0 (the model alone), both in the protocol the fit
   * was made for (with `excludeHistory`, the history left out).
   */
  result(): { mix: TransitionMix; ndcg: number; baseline: number } {
    if (this.cases === 0)
      throw new InvalidOptionError('cases', 'at least one held-out next listen (call add first)', 0);
    // The trust margin guards every-track HR@10, which trust weights cost; with the history left out
    // the plain best grid point is chosen (see TRANSITION_TRUST_MARGIN).
    const best = chooseGridPoint(this.sums, this.excludeHistory ? 0 : TRANSITION_TRUST_MARGIN);
    return {
      mix: { ...TRANSITION_GRID[best]! },
      ndcg: this.sums[best]! / this.cases,
      baseline: this.sums[0]! / this.cases,
    };
  }
}

/**
 * The index into {@link TRANSITION_GRID} that {@link TransitionMixFit}'s rule picks from summed NDCG@10
 * `sums[g]`: the best product point (ties to the smaller weight, then the larger smoothing), or the best
 * trust point when it beats that by the relative `margin` (ties still to the product point).
 */
function chooseGridPoint(sums: Float64Array, margin: number): number {
  const at = (g: number) => sums[g]!;
  const bestOf = (inRange: (weight: number) => boolean) => {
    let best = -1;
    TRANSITION_GRID.forEach((mix, g) => {
      if (!inRange(mix.weight)) return;
      const b = TRANSITION_GRID[best];
      const better =
        !b ||
        at(g) > at(best) + 1e-9 ||
        (Math.abs(at(g) - at(best)) <= 1e-9 &&
          (mix.weight < b.weight || (mix.weight === b.weight && mix.smoothing > b.smoothing)));
      if (better) best = g;
    });
    return best;
  };
  const product = bestOf((w) => w <= 1);
  const trust = bestOf((w) => w > 1);
  return at(trust) >= (1 + margin) * at(product) + 1e-9 ? trust : product;
}

/**
 * Adds the transition term to a row of model scores (index 0 unused; logits or log-probabilities) and
 * renormalises, in place: `row[j] = log P(j | history)`. Tracks the last listen never led to keep their
 * order; with weight 0 or an empty transition row the row is only normalised. With `normalise: false` the
 * row is left as log scores up to a shared constant, for a caller that normalises it anyway (the repeat
 * head does), saving a pass over the catalogue.
 *
 * @example
 * ```ts
 * applyTransitionMix(row, mix, csrRow(transitions, last)); // row[j] = log P(j | history)
 * ```
 */
export function applyTransitionMix(
  row: Float32Array,
  mix: TransitionMix,
  transitions: TransitionRow,
  normalise = true,
): void {
  for (let k = 0; k < transitions.cols.length; k++) {
    const j = transitions.cols[k]!;
    row[j] = row[j]! + transitionBoost(mix, transitions.vals[k]!);
  }
  if (!normalise) return;
  const logZ = rowLogSumExp(row);
  for (let j = 1; j < row.length; j++) row[j] = row[j]! - logZ;
}

/**
 * A {@link TransitionMix} read from a saved model, or undefined when the value is malformed.
 *
 * @example
 * ```ts
 * parseTransitionMix({ weight: 1, smoothing: 1 }); // { weight: 1, smoothing: 1 }
 * ```
 */
export function parseTransitionMix(v: unknown): TransitionMix | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const { weight, smoothing } = v as Record<string, unknown>;
  if (typeof weight !== 'number' || !(weight >= 0 && Number.isFinite(weight))) return undefined;
  if (typeof smoothing !== 'number' || !(smoothing > 0 && Number.isFinite(smoothing))) return undefined;
  return { weight, smoothing };
}
