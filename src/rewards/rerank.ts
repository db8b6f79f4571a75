// Multi-objective re-ranking: relevance, predicted reward, diversity and freshness, normalised and weighted.
import { catalogueMap } from '../data/catalogue.js';
import type { Track } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import type { Recommendation } from '../models/recommender.js';

/** What a scorer sees besides the candidates. */
export interface ScorerContext {
  /** The listener's recent track ids, oldest first. */
  history: readonly string[];
  /** Tracks already picked for the list, in order (empty for static scorers). */
  selected: readonly Recommendation[];
}

/**
 * Scores candidates on one objective (higher is better). A scorer with `dependsOnSelection: true` is re-run at
 * every greedy step with the tracks picked so far (e.g. diversity); others run once per list.
 *
 * @example
 * ```ts
 * const shortTracks: Scorer = (cands) => cands.map((c) => -(durations.get(c.trackId) ?? 0));
 * ```
 */
export type Scorer = ((
  candidates: readonly Recommendation[],
  ctx: ScorerContext,
) => number[] | Promise<number[]>) & {
  dependsOnSelection?: boolean;
  scorerName?: string;
};

/** Options of {@link rerank}. */
export interface RerankOptions {
  /** The listener's recent track ids, oldest first. Default []. */
  history?: readonly string[];
  /** `[scorer, weight]` pairs; weights are finite and may be negative. */
  objectives: readonly (readonly [Scorer, number])[];
  /** Length of the re-ranked list. Default: all candidates. */
  k?: number;
  /** Per-list normalisation of each objective: `'minmax'` to [0, 1] (default) or `'zscore'`. */
  normalize?: 'minmax' | 'zscore';
}

/** A re-ranked recommendation: `score` is the combined objective when picked; `objectives` the normalised parts. */
export interface RerankedRecommendation extends Recommendation {
  /** The model's original score. */
  relevance: number;
  /** Normalised value of each objective when the track was picked, in the order given. */
  objectives: number[];
}

/**
 * Per-list normalisation of one objective. Infinite values (NaN reads as -Infinity: a track the model cannot
 * score) land one unit beyond the finite ones, so -Infinity ranks strictly below every finite value.
 */
/** Smallest and largest of a non-empty array. */
function extent(values: readonly number[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function normalise(values: number[], how: 'minmax' | 'zscore'): number[] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return values.map((v) => (v > 0 ? 1 : v < 0 ? -1 : 0));
  let scaled: (v: number) => number;
  if (how === 'zscore') {
    const m = finite.reduce((a, b) => a + b, 0) / finite.length;
    const sd = Math.sqrt(finite.reduce((a, b) => a + (b - m) ** 2, 0) / finite.length);
    scaled = (v) => (sd > 0 ? (v - m) / sd : 0);
  } else {
    // Loops, not Math.min(...values): spreading a full catalogue's scores overflows the call stack.
    const [lo, hi] = extent(finite);
    scaled = (v) => (hi > lo ? (v - lo) / (hi - lo) : 0);
  }
  const [low, high] = extent(finite.map(scaled));
  const top = high + 1;
  const bottom = low - 1;
  return values.map((v) => (Number.isFinite(v) ? scaled(v) : v > 0 ? top : bottom));
}

async function run(
  scorer: Scorer,
  cands: readonly Recommendation[],
  ctx: ScorerContext,
  i: number,
): Promise<number[]> {
  const out = await scorer(cands, ctx);
  if (!Array.isArray(out) || out.length !== cands.length) {
    throw new InvalidOptionError(
      `objectives[${i}]`,
      `a scorer returning one number per candidate (${cands.length})`,
      out,
      scorer.scorerName ? `scorer ${scorer.scorerName}` : undefined,
    );
  }
  return out.map((v, j) => {
    if (typeof v !== 'number')
      throw new InvalidOptionError(
        `objectives[${i}]`,
        'a scorer returning numbers',
        v,
        `candidate ${j}${scorer.scorerName ? ` of scorer ${scorer.scorerName}` : ''}`,
      );
    return Number.isNaN(v) ? Number.NEGATIVE_INFINITY : v;
  });
}

/**
 * Re-ranks candidates greedily by a weighted sum of objectives. Each objective is normalised per list
 * (min-max to [0, 1] by default, or z-scores) before weighting, so weights are comparable across objectives.
 * Static objectives (relevance, reward, freshness) are scored once; objectives that depend on the picks so far
 * (diversity) are re-scored over the remaining candidates at every step, MMR-style.
 *
 * @example
 * ```ts
 * const recs = await model.recommend(history, { k: 50 });
 * const list = await rerank(recs, {
 *   history,
 *   k: 10,
 *   objectives: [
 *     [scorers.relevance(), 1],
 *     [scorers.reward(satisfactionModel), 1],
 *     [scorers.diversity({ tracks }), 0.5],
 *   ],
 * });
 * ```
 */
export async function rerank(
  recommendations: readonly Recommendation[],
  options: RerankOptions,
): Promise<RerankedRecommendation[]> {
  if (!Array.isArray(recommendations))
    throw new InvalidOptionError('recommendations', 'an array of {trackId, score}', recommendations);
  const seen = new Set<string>();
  recommendations.forEach((r: Partial<Recommendation> | null, i) => {
    if (r === null || typeof r !== 'object' || typeof r.trackId !== 'string' || typeof r.score !== 'number')
      throw new InvalidOptionError(`recommendations[${i}]`, 'a { trackId: string, score: number }', r);
    if (seen.has(r.trackId))
      throw new InvalidOptionError(
        `recommendations[${i}].trackId`,
        'a track not already in the list (each track once)',
        r.trackId,
      );
    seen.add(r.trackId);
  });
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError('options', 'an object with objectives', options);
  checkKnownOptions(
    options,
    optionKeys<typeof options>({ history: true, objectives: true, k: true, normalize: true }),
    'rerank',
  );
  const objectives = options.objectives;
  if (!Array.isArray(objectives) || objectives.length === 0) {
    throw new InvalidOptionError('objectives', 'a non-empty array of [scorer, weight] pairs', objectives);
  }
  objectives.forEach((o, i) => {
    if (!Array.isArray(o) || typeof o[0] !== 'function') {
      throw new InvalidOptionError(`objectives[${i}]`, 'a [scorer, weight] pair with a function scorer', o);
    }
    if (typeof o[1] !== 'number' || !Number.isFinite(o[1])) {
      throw new InvalidOptionError(`objectives[${i}] weight`, 'a finite number', o[1]);
    }
  });
  const how = options.normalize ?? 'minmax';
  if (how !== 'minmax' && how !== 'zscore')
    throw new InvalidOptionError('normalize', "'minmax' or 'zscore'", how);
  const n = recommendations.length;
  const k = options.k ?? Math.max(1, n); // an empty list with no k gives an empty list
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1)
    throw new InvalidOptionError('k', 'an integer >= 1', k);
  const history = options.history ?? [];
  if (!Array.isArray(history) || !history.every((t) => typeof t === 'string'))
    throw new InvalidOptionError('history', 'an array of track ids (strings), oldest first', history);
  if (n === 0) return [];

  const staticScores: (number[] | undefined)[] = [];
  for (let i = 0; i < objectives.length; i++) {
    const [s] = objectives[i]!;
    staticScores.push(
      s.dependsOnSelection
        ? undefined
        : normalise(await run(s, recommendations, { history, selected: [] }, i), how),
    );
  }
  const remaining = recommendations.map((_, i) => i);
  const picked: RerankedRecommendation[] = [];
  while (picked.length < Math.min(k, n)) {
    const cands = remaining.map((i) => recommendations[i]!);
    const parts: number[][] = [];
    for (let o = 0; o < objectives.length; o++) {
      const st = staticScores[o];
      if (st) parts.push(remaining.map((i) => st[i]!));
      else parts.push(normalise(await run(objectives[o]![0], cands, { history, selected: picked }, o), how));
    }
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < remaining.length; j++) {
      let s = 0;
      for (let o = 0; o < objectives.length; o++) s += objectives[o]![1] * parts[o]![j]!;
      if (best < 0 || s > bestScore) {
        best = j;
        bestScore = s;
      }
    }
    const rec = recommendations[remaining[best]!]!;
    picked.push({
      trackId: rec.trackId,
      score: bestScore,
      relevance: rec.score,
      objectives: parts.map((p) => p[best]!),
    });
    remaining.splice(best, 1);
  }
  return picked;
}

function named(name: string, fn: Scorer, dependsOnSelection = false): Scorer {
  fn.scorerName = name;
  fn.dependsOnSelection = dependsOnSelection;
  return fn;
}

/** Anything that predicts rewards for tracks after a history, such as a {@link RewardModel}. */
export interface RewardPredictor {
  predict(history: readonly string[], trackIds: readonly string[]): Promise<number[]> | number[];
}

/** Options of {@link scorers.diversity}. */
export interface DiversityScorerOptions {
  /** Track metadata with `artistId` and `genre`. */
  tracks: Iterable<Track> | ReadonlyMap<string, Track>;
  /** Penalty of a same-genre (different artist) track relative to a same-artist one. Default 0.3. */
  genreWeight?: number;
  /** Weight of similarity to the recent history relative to the tracks already picked. Default 0.5. */
  historyWeight?: number;
  /** How many recent history tracks count. Default 10. */
  window?: number;
}

/**
 * Built-in scorers for {@link rerank}.
 *
 * @example
 * ```ts
 * const objectives = [[scorers.relevance(), 1], [scorers.freshness(), 0.3]] as const;
 * ```
 */
export const scorers = {
  /**
   * The model's own score of each candidate.
   *
   * @example
   * ```ts
   * await rerank(recs, { objectives: [[scorers.relevance(), 1]] }); // same order as recs
   * ```
   */
  relevance(): Scorer {
    return named('relevance', (cands) => cands.map((c) => c.score));
  },

  /**
   * Predicted reward of each candidate after the history, from a {@link RewardModel} (or any predictor).
   *
   * @example
   * ```ts
   * const s = scorers.reward(await RewardModel.fit(train, { target: rewards.saveBonus() }));
   * ```
   */
  reward(model: RewardPredictor): Scorer {
    if (!model || typeof model.predict !== 'function') {
      throw new InvalidOptionError(
        'model',
        'a RewardModel (or an object with predict(history, trackIds))',
        model,
      );
    }
    return named('reward', async (cands, ctx) =>
      Array.from(
        await model.predict(
          ctx.history,
          cands.map((c) => c.trackId),
        ),
      ),
    );
  },

  /**
   * MMR-style diversity: minus the similarity of each candidate to the tracks already picked (same artist 1,
   * same genre only `genreWeight`) plus `historyWeight` × its mean similarity to the last `window` history
   * tracks. Re-scored at every pick.
   *
   * @example
   * ```ts
   * const s = scorers.diversity({ tracks: world.tracks, genreWeight: 0.3 });
   * ```
   */
  diversity(options: DiversityScorerOptions): Scorer {
    if (options !== undefined)
      checkKnownOptions(
        options,
        optionKeys<typeof options>({ tracks: true, genreWeight: true, historyWeight: true, window: true }),
        'scorers.diversity',
      );
    const tracks = catalogueMap('tracks', options?.tracks, { iterables: true });
    const genreWeight = options.genreWeight ?? 0.3;
    const historyWeight = options.historyWeight ?? 0.5;
    const window = options.window ?? 10;
    if (typeof genreWeight !== 'number' || !(genreWeight >= 0 && genreWeight <= 1)) {
      throw new InvalidOptionError('genreWeight', 'a number in [0, 1]', genreWeight);
    }
    if (typeof historyWeight !== 'number' || !(historyWeight >= 0) || !Number.isFinite(historyWeight)) {
      throw new InvalidOptionError('historyWeight', 'a finite number >= 0', historyWeight);
    }
    if (!Number.isInteger(window) || window < 0)
      throw new InvalidOptionError('window', 'an integer >= 0', window);
    const sim = (a: Track | undefined, b: Track | undefined) => {
      if (!a || !b) return 0;
      if (a.artistId !== '' && a.artistId === b.artistId) return 1;
      return a.genre !== undefined && a.genre === b.genre ? genreWeight : 0;
    };
    return named(
      'diversity',
      (cands, ctx) => {
        const recent = ctx.history
          .slice(Math.max(0, ctx.history.length - window))
          .map((id) => tracks.get(id));
        return cands.map((c) => {
          const t = tracks.get(c.trackId);
          let picked = 0;
          for (const s of ctx.selected) picked += sim(t, tracks.get(s.trackId));
          let hist = 0;
          for (const h of recent) hist += sim(t, h);
          return -(picked + (recent.length ? (historyWeight * hist) / recent.length : 0));
        });
      },
      true,
    );
  },

  /**
   * Freshness: minus the recency-weighted count of each candidate in the history (a play `d` listens ago
   * weighs `0.9^d`), so recently played tracks sink.
   *
   * @example
   * ```ts
   * const s = scorers.freshness();
   * ```
   */
  freshness(): Scorer {
    return named('freshness', (cands, ctx) => {
      const weight = new Map<string, number>();
      const h = ctx.history;
      for (let i = h.length - 1, d = 0; i >= 0; i--, d++)
        weight.set(h[i]!, (weight.get(h[i]!) ?? 0) + 0.9 ** d);
      return cands.map((c) => -(weight.get(c.trackId) ?? 0));
    });
  },
};
