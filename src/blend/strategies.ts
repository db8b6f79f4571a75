// Group aggregation strategies for Blend: average, least misery, most pleasure, Borda, proportional round-robin and GFAR.

/**
 * What a {@link BlendStrategy} sees. Candidates are pool positions `0..candidates-1`; members are
 * `0..members-1`, sorted by id (not in the order given to `blend`, which does not matter).
 */
export interface StrategyContext {
  /** Number of members. */
  readonly members: number;
  /** Number of candidate tracks in the pool. */
  readonly candidates: number;
  /** `relevance[u][c]`: member `u`'s normalised relevance in [0, 1] for candidate `c` (0 = not in their list). */
  readonly relevance: readonly Float32Array[];
  /** Each member's list as candidate positions, best first. */
  readonly lists: readonly Int32Array[];
  /** Member weights, normalised to sum to 1. */
  readonly weights: Float64Array;
  /** How many tracks the Blend wants, in order. Yielding more is harmless; yielding fewer shortens the playlist. */
  readonly count: number;
  /**
   * Whether candidate `c` can still be taken (not taken yet, and its artist is under `maxPerArtist`).
   * Live: it reflects every candidate yielded so far, so greedy strategies should check it before yielding.
   */
  allowed(c: number): boolean;
}

/**
 * A group aggregation strategy: yields candidate positions in the order the Blend should take them.
 * The Blend skips candidates that are not {@link StrategyContext.allowed} and stops after `count`
 * tracks, or after `(members + 1) × candidates` yields in a row that take nothing (so a strategy that
 * never ends cannot hang a Blend whose `count` is out of reach, under `maxPerArtist` say: the Blend then
 * holds what could be taken). Generators work well, since `allowed` is updated as each yielded track is
 * taken; the function must return an iterable, and every value it yields must be a candidate position, an
 * integer from 0 to `candidates - 1` (anything else is an `InvalidOptionError` naming `strategy`).
 *
 * @example
 * ```ts
 * // "Dictator": follow only the list of the member whose id sorts first.
 * const dictator: BlendStrategy = function* (ctx) {
 *   yield* ctx.lists[0]!;
 * };
 * await blend(members, { model, strategy: dictator });
 * ```
 */
export type BlendStrategy = (ctx: StrategyContext) => Iterable<number>;

/** Names of the built-in strategies. */
export type BlendStrategyName =
  | 'average'
  | 'least-misery'
  | 'most-pleasure'
  | 'borda'
  | 'round-robin'
  | 'gfar';

/** Weighted mean relevance of every candidate. */
function weightedMean(ctx: StrategyContext): Float64Array {
  const out = new Float64Array(ctx.candidates);
  for (let u = 0; u < ctx.members; u++) {
    const rel = ctx.relevance[u]!;
    const w = ctx.weights[u]!;
    for (let c = 0; c < ctx.candidates; c++) out[c]! += w * rel[c]!;
  }
  return out;
}

/** Candidates sorted by `primary` desc, then `secondary` desc, then position. */
function rankBy(primary: Float64Array, secondary?: Float64Array): number[] {
  const order = Array.from({ length: primary.length }, (_, c) => c);
  order.sort((a, b) => primary[b]! - primary[a]! || (secondary ? secondary[b]! - secondary[a]! : 0) || a - b);
  return order;
}

/**
 * Average: candidates by weighted mean relevance. Maximises total relevance; a member whose taste
 * differs from the rest can be left out.
 *
 * @example
 * ```ts
 * await blend(members, { model, strategy: 'average' });
 * ```
 */
export const average: BlendStrategy = (ctx) => rankBy(weightedMean(ctx));

/**
 * Least misery: candidates by the lowest relevance over members (ties: weighted mean). Only plays what
 * nobody dislikes, which for divergent groups means few tracks anyone loves.
 *
 * @example
 * ```ts
 * await blend(members, { model, strategy: 'least-misery' });
 * ```
 */
export const leastMisery: BlendStrategy = (ctx) => {
  const min = new Float64Array(ctx.candidates).fill(Number.POSITIVE_INFINITY);
  for (const rel of ctx.relevance)
    for (let c = 0; c < ctx.candidates; c++) min[c] = Math.min(min[c]!, rel[c]!);
  return rankBy(min, weightedMean(ctx));
};

/**
 * Most pleasure: candidates by the highest relevance over members (ties: weighted mean).
 *
 * @example
 * ```ts
 * await blend(members, { model, strategy: 'most-pleasure' });
 * ```
 */
export const mostPleasure: BlendStrategy = (ctx) => {
  const max = new Float64Array(ctx.candidates);
  for (const rel of ctx.relevance)
    for (let c = 0; c < ctx.candidates; c++) max[c] = Math.max(max[c]!, rel[c]!);
  return rankBy(max, weightedMean(ctx));
};

/**
 * Borda count over the whole pool: each member ranks every candidate (tracks outside their list share
 * the remaining places equally), gives `pool - 1 - rank` points, and points are summed with weights.
 * Unlike `average`, being absent from one member's list costs little.
 *
 * @example
 * ```ts
 * await blend(members, { model, strategy: 'borda' });
 * ```
 */
export const borda: BlendStrategy = (ctx) => {
  const C = ctx.candidates;
  const points = new Float64Array(C);
  for (let u = 0; u < ctx.members; u++) {
    const list = ctx.lists[u]!;
    const w = ctx.weights[u]!;
    const inList = new Uint8Array(C);
    list.forEach((c, r) => {
      inList[c] = 1;
      points[c]! += w * (C - 1 - r);
    });
    // Unlisted tracks tie for ranks list.length..C-1: average points (C - 1 - L) / 2.
    const tie = (C - 1 - list.length) / 2;
    for (let c = 0; c < C; c++) if (!inList[c]) points[c]! += w * tie;
  }
  return rankBy(points, weightedMean(ctx));
};

/**
 * Quotients within this relative difference are a tie. Normalised weights carry rounding (with weights
 * 5 : 1 : 1, `(5/7) / 5` comes out below `1/7`), which must not decide a turn that exact D'Hondt ties;
 * real differences between weights are far larger.
 */
const QUOTIENT_TOLERANCE = 1e-9;

/**
 * Proportional round-robin (D'Hondt): the next turn goes to the member with the highest
 * `weight / (tracksTaken + 1)`, who takes the best track of their own list that is still allowed; a tie
 * (equal up to floating-point rounding) goes to the first member by id. With equal weights this alternates
 * members; with weights 2:1 the first member gets two turns per one.
 *
 * @example
 * ```ts
 * await blend(members, { model, strategy: 'round-robin' });
 * ```
 */
export const roundRobin: BlendStrategy = function* (ctx) {
  const taken = new Float64Array(ctx.members);
  const cursor = new Int32Array(ctx.members);
  const active = new Uint8Array(ctx.members).fill(1);
  let remaining = ctx.members;
  while (remaining > 0) {
    let best = -1;
    let bestQ = Number.NEGATIVE_INFINITY;
    for (let u = 0; u < ctx.members; u++) {
      if (!active[u]) continue;
      const q = ctx.weights[u]! / (taken[u]! + 1);
      if (q > bestQ * (1 + QUOTIENT_TOLERANCE)) {
        bestQ = q;
        best = u;
      }
    }
    const list = ctx.lists[best]!;
    while (cursor[best]! < list.length && !ctx.allowed(list[cursor[best]!]!)) cursor[best]!++;
    if (cursor[best]! >= list.length) {
      active[best] = 0;
      remaining--;
      continue;
    }
    taken[best]!++;
    yield list[cursor[best]!]!;
  }
};

/**
 * GFAR (Kaya, Bridge & Tintarev, RecSys 2020): greedy; the next track maximises
 * `gain(i) = Σ_u p(u) · rel(u,i) · R(u)`, and after taking `i`, `R(u) *= 1 - rel(u,i)`. A member who
 * has just been well served counts for less until the others catch up, so relevance is balanced at
 * every prefix of the playlist, with little loss of total relevance.
 *
 * @example
 * ```ts
 * await blend(members, { model, strategy: 'gfar' });
 * ```
 */
export const gfar: BlendStrategy = function* (ctx) {
  const R = new Float64Array(ctx.members).fill(1);
  const gain = new Float64Array(ctx.candidates);
  for (;;) {
    gain.fill(0);
    for (let u = 0; u < ctx.members; u++) {
      const f = ctx.weights[u]! * R[u]!;
      if (f === 0) continue;
      const rel = ctx.relevance[u]!;
      for (let c = 0; c < ctx.candidates; c++) gain[c]! += f * rel[c]!;
    }
    let best = -1;
    let bestGain = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < ctx.candidates; c++) {
      if (gain[c]! > bestGain && ctx.allowed(c)) {
        bestGain = gain[c]!;
        best = c;
      }
    }
    if (best < 0) return;
    // Every R(u) can reach 0 (a track with relevance 1 for all); reset so later picks still rank by relevance.
    let allZero = true;
    for (let u = 0; u < ctx.members; u++) {
      R[u]! *= 1 - ctx.relevance[u]![best]!;
      if (R[u]! > 1e-12) allZero = false;
    }
    if (allZero) R.fill(1);
    yield best;
  }
};

/**
 * The built-in strategies by name.
 *
 * @example
 * ```ts
 * Object.keys(strategies); // ['average', 'least-misery', 'most-pleasure', 'borda', 'round-robin', 'gfar']
 * ```
 */
export const strategies: Readonly<Record<BlendStrategyName, BlendStrategy>> = {
  average,
  'least-misery': leastMisery,
  'most-pleasure': mostPleasure,
  borda,
  'round-robin': roundRobin,
  gfar,
};
