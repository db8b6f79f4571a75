// Where a next-track model loses to the ground-truth ceiling, with every track ranked (excludeHistory: false).
//
// Any next-track distribution P splits into three parts around the listener's history H:
//   g = P(H), the chance the next listen is a replay;
//   r = P restricted to H and renormalised: which history track is replayed;
//   q = P restricted to the rest and renormalised: which new track is played.
// The model and the ceiling (the exact mood filter, TruthStep.filtered) each have their own (g, r, q).
// Swapping one or two of the model's parts for the ceiling's, and ranking by g r + (1 - g) q, shows how
// many hits each part is worth. The category table says which kinds of targets the hits are lost on.
import type { GeneratedWorld } from '../src/data/generate.js';
import type { EvalCase } from '../src/data/types.js';
import { type ExpectedMetrics, expectedFromScores } from '../src/eval/expected.js';
import {
  applyRepeatHead,
  fitRepeatHead,
  type HistoryFeatures,
  historyFeatures,
  type RepeatCase,
  rowLogSumExp,
} from '../src/models/repeat.js';
import type { SASRec } from '../src/models/sasrec.js';

export type { ExpectedMetrics };

/** A model's next-track distribution per case, over indices 0..n-1 (`index` maps track ids to them). */
export interface DistributionSource {
  /** One row of unnormalised log-scores per case; index 0 is ignored (padding). */
  scores: readonly Float32Array[];
  index: (trackId: string) => number | undefined;
}

/** HR@k of each (g, r, q) combination: `model`, `ceiling`, and one row per swapped set of parts. */
export interface GapDecomposition {
  cases: number;
  /** e.g. `{ swapped: 'g, r', hr: 0.41 }`; `none` is the model, `g, r, q` the ceiling itself. */
  rows: { swapped: string; hr: number }[];
  /** Per case, whether the model (`none`) and the ceiling (`g, r, q`) hit. */
  hits: { model: boolean[]; ceiling: boolean[] };
}

interface Split {
  g: number;
  r: Float64Array;
  q: Float64Array;
}

function split(p: Float64Array, history: ReadonlySet<number>): Split {
  let g = 0;
  for (let j = 1; j < p.length; j++) if (history.has(j)) g += p[j]!;
  const r = new Float64Array(p.length);
  const q = new Float64Array(p.length);
  for (let j = 1; j < p.length; j++) {
    if (history.has(j)) r[j] = g > 0 ? p[j]! / g : 0;
    else q[j] = g < 1 ? p[j]! / (1 - g) : 0;
  }
  return { g, r, q };
}

/** Hit at k, ties counted against the target (as `evaluate` does). */
function hitAt(p: (j: number) => number, n: number, target: number, k: number): boolean {
  const pt = p(target);
  if (!(pt > 0)) return false;
  let rank = 1;
  for (let j = 1; j < n && rank <= k; j++) if (j !== target && p(j) >= pt) rank++;
  return rank <= k;
}

const SWAPS = ['none', 'g', 'r', 'q', 'g, r', 'g, q', 'r, q', 'g, r, q'] as const;

/**
 * HR@k of the model's distribution with each subset of its (g, r, q) parts replaced by the ceiling's.
 *
 * @example
 * ```ts
 * const d = gapDecomposition(world, cases, { scores: await model.scoreAll(cases.map((c) => c.history)), index: (t) => model.vocabulary.index(t) }, 10);
 * ```
 */
export function gapDecomposition(
  world: GeneratedWorld,
  cases: readonly EvalCase[],
  source: DistributionSource,
  k: number,
): GapDecomposition {
  const steps = new Map(world.truth.steps.map((s) => [`${s.userId}|${s.index}`, s]));
  const hits = new Map<string, number>(SWAPS.map((s) => [s, 0]));
  const model: boolean[] = [];
  const ceiling: boolean[] = [];
  cases.forEach((c, i) => {
    model[i] = false;
    ceiling[i] = false;
    const row = source.scores[i]!;
    const n = row.length;
    const target = source.index(c.target);
    const step = steps.get(`${c.userId}|${c.history.length}`);
    if (target === undefined || !step) return;
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 1; j < n; j++) if (row[j]! > max) max = row[j]!;
    const p = new Float64Array(n);
    let z = 0;
    for (let j = 1; j < n; j++) {
      p[j] = Math.exp(row[j]! - max);
      z += p[j]!;
    }
    for (let j = 1; j < n; j++) p[j] = p[j]! / z;
    const truth = new Float64Array(n);
    step.filtered.tracks.forEach((t, m) => {
      const j = source.index(t);
      if (j !== undefined) truth[j] = step.filtered.probs[m]!;
    });
    const history = new Set<number>();
    for (const t of c.history) {
      const j = source.index(t);
      if (j !== undefined) history.add(j);
    }
    const a = split(p, history);
    const b = split(truth, history);
    for (const swap of SWAPS) {
      const parts = swap.split(', ');
      const g = parts.includes('g') ? b.g : a.g;
      const r = parts.includes('r') ? b.r : a.r;
      const q = parts.includes('q') ? b.q : a.q;
      if (!hitAt((j) => g * r[j]! + (1 - g) * q[j]!, n, target, k)) continue;
      hits.set(swap, hits.get(swap)! + 1);
      if (swap === 'none') model[i] = true;
      if (swap === 'g, r, q') ceiling[i] = true;
    }
  });
  return {
    cases: cases.length,
    rows: SWAPS.map((swapped) => ({ swapped, hr: hits.get(swapped)! / cases.length })),
    hits: { model, ceiling },
  };
}

/** Kind of a target given the previous track, from the generator's catalogue and the listener's profile. */
export type TargetKind = 'album next' | 'same artist' | 'favourite' | 'other';

/**
 * Classifies each case's target: the next track of the previous track's album, another track by the same
 * artist, one of the listener's favourites, or anything else; and whether it is a replay of the history.
 *
 * @example
 * ```ts
 * const kinds = targetKinds(world, cases); // [{ kind: 'album next', replay: false }, ...]
 * ```
 */
export function targetKinds(
  world: GeneratedWorld,
  cases: readonly EvalCase[],
): { kind: TargetKind; replay: boolean }[] {
  // generateWorld lists each artist's tracks in album order, so the album's next track follows in the list.
  const next = new Map<string, string>();
  world.tracks.forEach((t, i) => {
    const n = world.tracks[i + 1];
    if (n && n.artistId === t.artistId) next.set(t.trackId, n.trackId);
  });
  const artist = new Map(world.tracks.map((t) => [t.trackId, t.artistId]));
  const favourites = new Map(world.users.map((u) => [u.userId, new Set(u.favouriteTracks)]));
  return cases.map((c) => {
    const prev = c.history[c.history.length - 1];
    const kind: TargetKind =
      prev !== undefined && next.get(prev) === c.target
        ? 'album next'
        : prev !== undefined && artist.get(prev) === artist.get(c.target)
          ? 'same artist'
          : favourites.get(c.userId)?.has(c.target)
            ? 'favourite'
            : 'other';
    return { kind, replay: c.history.includes(c.target) };
  });
}

/**
 * {@link expectedFromScores} for a {@link DistributionSource}, every track ranked unless `excludeHistory`.
 *
 * @example
 * ```ts
 * const { hr, ndcg } = expectedMetrics(world, cases, { scores, index: (t) => model.vocabulary.index(t) }, 10);
 * ```
 */
export function expectedMetrics(
  world: GeneratedWorld,
  cases: readonly EvalCase[],
  source: DistributionSource,
  k: number,
  { excludeHistory = false }: { excludeHistory?: boolean } = {},
): ExpectedMetrics {
  return expectedFromScores(world.truth, cases, source.scores, source.index, { k, excludeHistory });
}

/** Exponent of the generator's favourite weights: a listener's r-th favourite is drawn with weight (r + 1)^-0.8. */
const FAVOURITE_EXPONENT = 0.8;
/** The oracle feature of a track that is not a favourite (the least favoured of 30 favourites: -2.7). */
const NOT_FAVOURITE = -5;

/**
 * An upper bound on what telling favourites apart could give the repeat head: its fit redone on the same
 * scores with the fourth feature ("last played within the model window", the least used) replaced by an
 * oracle no model of the log has, the log of the track's weight among the listener's true favourites
 * (`NOT_FAVOURITE` for other tracks). Returns E[HR@k] with every track ranked for the head refitted as it is
 * (it should match the model's own) and with the oracle. The model's heads are restored afterwards.
 *
 * @example
 * ```ts
 * const { refit, oracle } = await oracleFavouritesHead(world, model, split.validation, cases, 10);
 * ```
 */
export async function oracleFavouritesHead(
  world: GeneratedWorld,
  model: SASRec,
  validation: readonly EvalCase[],
  cases: readonly EvalCase[],
  k: number,
): Promise<{ refit: number; oracle: number }> {
  const index = (t: string) => model.vocabulary.index(t);
  const favourites = new Map(world.users.map((u) => [u.userId, u.favouriteTracks]));
  const historyOf = (c: EvalCase, oracle: boolean): { ids: number[]; h: HistoryFeatures } => {
    const ids = c.history.map(index).filter((x): x is number => x !== undefined);
    const h = historyFeatures(ids, model.config.maxlen);
    if (oracle) {
      const rank = new Map((favourites.get(c.userId) ?? []).map((t, r) => [index(t), r]));
      h.items.forEach((x, m) => {
        const r = rank.get(x);
        h.features[m * 4 + 3] = r === undefined ? NOT_FAVOURITE : -FAVOURITE_EXPONENT * Math.log(r + 1);
      });
    }
    return { ids, h };
  };
  const head = model.repeatHead;
  model.repeatHead = undefined; // rows of Q: the transformer with its transition term
  try {
    const known = (c: EvalCase) =>
      index(c.target) !== undefined && c.history.some((t) => index(t) !== undefined);
    const fitCases = validation.filter(known);
    const fitRows = await model.scoreAll(fitCases.map((c) => c.history));
    const testRows = await model.scoreAll(cases.map((c) => c.history));
    const hitRate = (oracle: boolean) => {
      const repeatCases: RepeatCase[] = fitRows.map((row, i) => {
        const c = fitCases[i]!;
        const { ids, h } = historyOf(c, oracle);
        const logZ = rowLogSumExp(row);
        const target = index(c.target)!;
        const last = ids[ids.length - 1]!;
        return {
          history: h,
          targetItem: h.items.indexOf(target),
          modelProb: Math.exp(row[target]! - logZ),
          lastProb: Math.exp(row[last]! - logZ),
          targetIsLast: target === last,
          modelLogits: h.items.map((x) => row[x]!),
        };
      });
      const fitted = fitRepeatHead(repeatCases);
      const scores = testRows.map((row, i) => {
        const out = Float32Array.from(row);
        const { ids, h } = historyOf(cases[i]!, oracle);
        if (ids.length) applyRepeatHead(out, h, fitted, ids[ids.length - 1]);
        return out;
      });
      return expectedFromScores(world.truth, cases, scores, index, { k, excludeHistory: false }).hr;
    };
    return { refit: hitRate(false), oracle: hitRate(true) };
  } finally {
    model.repeatHead = head;
  }
}
