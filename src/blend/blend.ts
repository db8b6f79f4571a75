// Blend: a shared playlist for 2-10 listeners that is relevant, coherent, equal and refreshed daily.
import { catalogueMap } from '../data/catalogue.js';
import type { Track } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError } from '../errors.js';
import { checkModel } from '../eval/metrics.js';
import { checkTrackIds, type Recommender, scoreRows, trackIdsOf } from '../models/recommender.js';
import { createRng, hashSeed } from '../util/random.js';
import { rotateSelection, toDay } from './calendar.js';
import { buildRelevance, type RelevanceTable } from './relevance.js';
import {
  type BlendStrategy,
  type BlendStrategyName,
  type StrategyContext,
  strategies,
} from './strategies.js';
import { tasteMatchOf } from './taste-match.js';

/**
 * One member of a Blend.
 *
 * @example
 * ```ts
 * const ana: BlendMember = { id: 'ana', history: ['t1', 't7', 't1'], weight: 1 };
 * ```
 */
export interface BlendMember {
  /**
   * Unique member id (shown in attributions). Members are processed in order of id, so listing them in
   * another order gives the same Blend.
   */
  id: string;
  /** The member's listening history, oldest first. Must not be empty. */
  history: readonly string[];
  /** Relative say in the playlist (positive). Default 1. */
  weight?: number;
}

/**
 * Options of {@link blend}.
 *
 * @example
 * ```ts
 * const opts: BlendOptions = { model, size: 30, strategy: 'gfar', date: '2024-02-01', tracks: catalogue };
 * ```
 */
export interface BlendOptions {
  /**
   * Ranks tracks for each member. Without a model, each member's relevance comes from their own play
   * counts only (their most-played tracks), so the Blend holds only tracks some member already plays.
   */
  model?: Recommender;
  /**
   * Number of tracks, 1-500. Default 50. Fewer come back when fewer tracks are eligible (without a model,
   * only the members' own tracks; with `candidates`, only those; with `familiar: 0`, only tracks some
   * member has never played; `maxPerArtist` caps each artist): `tracks.length` says how many.
   */
  size?: number;
  /** A built-in strategy name or a custom {@link BlendStrategy}. Default `'gfar'`, or `'round-robin'` when members' weights differ (`'round-robin'` always until 2026-11-27; see {@link blend}). */
  strategy?: BlendStrategyName | BlendStrategy;
  /**
   * The day the Blend is for (`YYYY-MM-DD` or a `Date`, UTC, in years 0001-9999). Same members (in any
   * order) + same day = same playlist. Default today.
   */
  date?: string | Date;
  /** Extra seed mixed into the daily rotation. Default 0. */
  seed?: number | string;
  /** At most this many tracks per artist (needs `tracks`). Default 3 when `tracks` is given, else no limit. */
  maxPerArtist?: number;
  /** 0 = keep the strategy's order, 1 = order purely by how well each track follows the previous one. Default 0.5. */
  coherence?: number;
  /** Catalogue metadata: titles for `because`, artists for `maxPerArtist`, genres for ordering. */
  tracks?: readonly Track[];
  /** Only these track ids may be used (e.g. what is licensed in the group's region). Default: all. */
  candidates?: Iterable<string>;
  /**
   * Share of each member's ranked list taken from tracks they already play (Blend mixes favourites with
   * new tracks), 0-1. 0 = only tracks the member has never played, even when too few of those are
   * eligible to fill the list. Default 0.3. It needs a `model` to find new tracks: without one, every
   * member's list is their own most played tracks, and `familiar` does not apply.
   */
  familiar?: number;
  /**
   * Length of each member's ranked list (their top-K). Default 50, or `size` when that is larger, so a long
   * Blend has enough candidates to fill it (capped at the catalogue size).
   */
  perMember?: number;
  /**
   * Share of the playlist that rotates daily, 0-1. Default 0.4 (about 70% of tracks stay from one day to
   * the next). The rotating share is `size - round(size * (1 - rotation))` tracks, so a 1-track Blend
   * changes only with `rotation` above 0.5.
   */
  rotation?: number;
  /**
   * Make sure every member has at least one track attributed to them (when `size` allows), by swapping a
   * track in at the end. Default true for `'gfar'`, `'round-robin'` and custom strategies, false for the
   * single-score aggregations (`'average'`, `'least-misery'`, `'most-pleasure'`, `'borda'`), so that
   * they stay the textbook methods.
   */
  representEveryone?: boolean;
}

/** The keys of {@link BlendOptions}, checked so that a misspelt option is an error. */
const BLEND_KEYS: Record<keyof BlendOptions, true> = {
  model: true,
  size: true,
  strategy: true,
  date: true,
  seed: true,
  maxPerArtist: true,
  coherence: true,
  tracks: true,
  candidates: true,
  familiar: true,
  perMember: true,
  rotation: true,
  representEveryone: true,
};

/** One track of a Blend. */
export interface BlendTrack {
  trackId: string;
  /** Group relevance: weighted mean of the members' relevance, 0-1. */
  score: number;
  /** Members whose taste this track represents (relevance within 0.2 of the best member's). */
  attributedTo: string[];
  /** Each member's relevance for this track, 0-1 (normalised Borda over their top-K; 0 = not in it). */
  relevance: Record<string, number>;
  /** Why it is here, e.g. `because ana plays "Song"`. */
  because?: string;
  /** Title, when `tracks` was given. */
  title?: string;
  /** Artist name, when `tracks` was given. */
  artist?: string;
}

/** How one member fares in a Blend. */
export interface BlendMemberSummary {
  id: string;
  /** Share of the playlist attributed to this member (a shared track counts 1/attributions); shares sum to 1. */
  share: number;
  /** Mean relevance of the playlist's tracks for this member, 0-1. */
  meanRelevance: number;
  /** Tracks attributed to this member (shared ones included). */
  tracks: number;
}

/**
 * A Blend.
 *
 * @example
 * ```ts
 * const r: BlendResult = await blend(members, { model });
 * r.tracks[0]!.attributedTo; // ['ana']
 * ```
 */
export interface BlendResult {
  tracks: BlendTrack[];
  /** 0-100, see {@link tasteMatch}. */
  tasteMatch: number;
  /**
   * "The song that brings you together": the playlist track in the most members' lists (ties: highest
   * lowest-member relevance, then mean). Undefined only for an empty playlist.
   */
  bondingTrack: { trackId: string; title?: string; relevance: Record<string, number> } | undefined;
  members: BlendMemberSummary[];
  /** Strategy name (`'custom'` for a function). */
  strategy: string;
  /** The day, `YYYY-MM-DD`. */
  date: string;
}

/** Relevance within this of the best member's counts as that member's taste too. */
const ATTRIBUTION_MARGIN = 0.2;
/**
 * Slack on {@link ATTRIBUTION_MARGIN}: relevance is float32, so a gap of exactly 0.2 (10 ranks of 50) can
 * come out a hair above or below it. Far below one rank step (1/K) for any list length.
 */
const ATTRIBUTION_TOLERANCE = 1e-6;
/** History tracks per member considered for the `because` text. */
const BECAUSE_SEEDS = 5;

interface Validated {
  size: number;
  strategy: BlendStrategy;
  strategyName: string;
  day: string;
  seed: number | string;
  maxPerArtist: number | undefined;
  coherence: number;
  familiar: number;
  perMember: number;
  rotation: number;
  representEveryone: boolean;
  candidates: Set<string> | undefined;
  /** Members' weights as given, in the caller's order (normalised only once sorted by id). */
  weights: Float64Array;
  /** The `tracks` option by track id (empty without it). */
  meta: Map<string, Track>;
}

/**
 * Weights scaled to sum to 1, summed in the order given: blend passes them sorted by member id, so the
 * floating-point rounding (5 + 0.7 + 2 is not 5 + 2 + 0.7) does not depend on the order members are listed
 * in. Scaled by the largest first, so that weights near `Number.MAX_VALUE` do not sum to Infinity.
 */
function normaliseWeights(raw: Float64Array): Float64Array {
  const max = Math.max(...raw);
  const scaled = raw.map((w) => w / max);
  const sum = scaled.reduce((a, b) => a + b, 0);
  return scaled.map((w) => w / sum);
}

function checkUnit(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidOptionError(option, 'a number from 0 to 1', value);
  }
  return value;
}

function validate(members: readonly BlendMember[], options: BlendOptions): Validated {
  checkKnownOptions(options, Object.keys(BLEND_KEYS), 'blend');
  if (!Array.isArray(members) || members.length < 2 || members.length > 10) {
    throw new InvalidOptionError('members', 'an array of 2 to 10 members', members);
  }
  const ids = new Set<string>();
  const weights = new Float64Array(members.length);
  members.forEach((m, i) => {
    if (m === null || typeof m !== 'object') {
      throw new InvalidOptionError(`members[${i}]`, 'an object { id, history, weight? }', m);
    }
    if (typeof m.id !== 'string' || m.id === '') {
      throw new InvalidOptionError(`members[${i}].id`, 'a non-empty string', m.id);
    }
    if (ids.has(m.id)) {
      throw new InvalidOptionError(
        `members[${i}].id`,
        'unique among members',
        m.id,
        'Each member may appear once.',
      );
    }
    ids.add(m.id);
    if (!Array.isArray(m.history) || m.history.length === 0) {
      throw new InvalidOptionError(`members[${i}].history`, 'a non-empty array of track ids', m.history);
    }
    // Entry by entry, so that a hole in a sparse array is caught too (`some` skips holes).
    checkTrackIds(m.history, `members[${i}].history`);
    const w = m.weight ?? 1;
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
      throw new InvalidOptionError(`members[${i}].weight`, 'a positive finite number', m.weight);
    }
    weights[i] = w;
  });

  const size = options.size ?? 50;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 500) {
    throw new InvalidOptionError('size', 'an integer from 1 to 500', size);
  }
  // GFAR for equal say; round-robin (D'Hondt) when weights differ, since GFAR's gains barely feel them.
  const s = options.strategy ?? (weights.every((w) => w === weights[0]) ? 'gfar' : 'round-robin');
  let strategy: BlendStrategy;
  let strategyName: string;
  if (typeof s === 'function') {
    strategy = s;
    strategyName = s.name && !(s.name in strategies) ? s.name : 'custom';
  } else if (typeof s === 'string' && Object.hasOwn(strategies, s)) {
    strategy = strategies[s as BlendStrategyName];
    strategyName = s;
  } else {
    throw new InvalidOptionError('strategy', `one of ${Object.keys(strategies).join(', ')} or a function`, s);
  }
  if (options.model !== undefined) checkModel(options.model, 'model');
  const maxPerArtist = options.maxPerArtist ?? (options.tracks ? 3 : undefined);
  if (maxPerArtist !== undefined && (!Number.isInteger(maxPerArtist) || maxPerArtist < 1)) {
    throw new InvalidOptionError('maxPerArtist', 'an integer >= 1', maxPerArtist);
  }
  if (options.maxPerArtist !== undefined && !options.tracks) {
    throw new InvalidOptionError('tracks', 'the catalogue (Track[]) when `maxPerArtist` is set', undefined);
  }
  const meta =
    options.tracks === undefined ? new Map<string, Track>() : catalogueMap('tracks', options.tracks);
  if (options.representEveryone !== undefined && typeof options.representEveryone !== 'boolean') {
    throw new InvalidOptionError('representEveryone', 'true or false', options.representEveryone);
  }
  // A Blend longer than 50 draws on longer lists: with 50 each, two members' union (at most 100, less with
  // overlap and artist caps) could not fill size 100.
  const perMember = options.perMember ?? Math.max(50, size);
  if (!Number.isInteger(perMember) || perMember < 1) {
    throw new InvalidOptionError('perMember', 'an integer >= 1', perMember);
  }
  const seed = options.seed ?? 0;
  if ((typeof seed !== 'number' || !Number.isFinite(seed)) && typeof seed !== 'string') {
    throw new InvalidOptionError('seed', 'a finite number or a string', seed);
  }
  let candidates: Set<string> | undefined;
  if (options.candidates !== undefined) {
    candidates = new Set(trackIdsOf(options.candidates, 'candidates'));
    if (candidates.size === 0)
      throw new InvalidOptionError(
        'candidates',
        'at least one track id (none would give an empty playlist)',
        [],
      );
  }
  return {
    size,
    strategy,
    strategyName,
    day: toDay(options.date),
    seed,
    maxPerArtist,
    coherence: checkUnit(options.coherence, 'coherence', 0.5),
    familiar: checkUnit(options.familiar, 'familiar', 0.3),
    perMember,
    rotation: checkUnit(options.rotation, 'rotation', 0.4),
    representEveryone:
      options.representEveryone ??
      !['average', 'least-misery', 'most-pleasure', 'borda'].includes(strategyName),
    candidates,
    weights,
    meta,
  };
}

/**
 * Builds a Blend: one playlist for 2 to 10 members that serves all of them.
 *
 * How it works:
 * 1. **Relevance.** One batched `model.scoreAll` over all histories ranks tracks for each member; each
 *    member's top-K (`perMember`, 50 or `size` if larger) mixes the model's new picks with a `familiar` share (30%) of
 *    their own most-played tracks. Relevance is normalised Borda: 1 at the top of their list, 1/K at the
 *    bottom, 0 outside. The candidate pool is the union of the lists.
 * 2. **Strategy.** The strategy orders the pool. The default, `'gfar'` (Kaya, Bridge & Tintarev 2020),
 *    takes the track with the most relevance summed over members, each weighted by `weight` and by how
 *    little the tracks so far have served them, so a member just served well counts less until the others
 *    catch up. Measured on the shipped data (bench/blend.ts, 432 groups of 2, 5 and 10, paired by group,
 *    mean ± standard error), against `'round-robin'` (each member's own best remaining track in turn,
 *    D'Hondt-proportional to `weight`; the default until 2026-11-27, chosen on 12 groups per cell): with
 *    SASRec mean NDCG@20 +0.021 ± 0.002, zero-recall -0.012 ± 0.005 and min/max ratio +0.007 ± 0.007;
 *    with ItemKNN +0.017 ± 0.002, -0.010 ± 0.004 and +0.010 ± 0.007. `'average'` and `'borda'` have a
 *    little more NDCG@20 but leave more members with nothing they play (zero-recall +0.03 to +0.05).
 *    When members' weights differ the default is `'round-robin'`, whose turns are D'Hondt-proportional
 *    to them: GFAR's relevance of a member's top track is 1, which zeroes that member's factor at once,
 *    so a heavier member gets no more of the playlist (tested).
 * 3. **Daily refresh.** The first 60% of the strategy's order (the core) stays; the rest is a sample,
 *    seeded by the member ids and `date`, from the next band of the order (stratified by member, so
 *    each member keeps their share of the strategy's order; a member with no other track in the band
 *    has their slots drawn from the whole band, so a short Blend for a large group rotates too), so
 *    about 70% of tracks stay from one day to the next and the same day always gives the same playlist.
 * 4. **Equal.** With `representEveryone`, a member with no attributed track gets their best one swapped in.
 * 5. **Coherent.** Tracks are ordered greedily by how well each follows the previous one (model score of
 *    the next track given the previous one alone, and same genre when `tracks` is given), traded against
 *    the strategy's order by `coherence`, with no member's tracks (by the member each track mainly
 *    serves) more than twice in a row when avoidable, and runs no longer than the counts force when not.
 *
 * Each track is attributed to the members whose relevance is within 0.2 of the best member's, with a
 * `because` naming the attributed member's own track that leads to it.
 *
 * Members are processed sorted by id (ids are unique), with ties going to the first by id, so the order
 * they are listed in does not change the Blend; what is reported per member (`relevance`, `attributedTo`,
 * `members`) follows the order given. Throws {@link InvalidOptionError}
 * naming the option (`members`, `members[2].history`, `size`, `strategy`, ...) before doing any work
 * (a custom strategy's return value, which must be iterable, is checked when it is called).
 *
 * @example
 * ```ts
 * const result = await blend(
 *   [{ id: 'ana', history: anaPlays }, { id: 'ben', history: benPlays }],
 *   { model, size: 30, date: '2024-02-01', tracks: catalogue },
 * );
 * console.log(result.tasteMatch, result.bondingTrack?.title);
 * for (const t of result.tracks) console.log(t.title, t.attributedTo.join('+'), t.because);
 * ```
 */
export async function blend(
  members: readonly BlendMember[],
  options: BlendOptions = {},
): Promise<BlendResult> {
  const v = validate(members, options);
  const { meta } = v;
  const { model } = options;
  const M = members.length;
  // --- 0. Canonical order. Everything below runs over the members sorted by id (unique, so the order is
  // total): ties, random draws and the pool then do not depend on the order the caller lists members in.
  // `group[u]` is member `u` of that order; `rank[i]` is where the caller's `members[i]` went.
  const byId = members.map((_, i) => i).sort((a, b) => (members[a]!.id < members[b]!.id ? -1 : 1));
  const group = byId.map((i) => members[i]!);
  const weights = normaliseWeights(Float64Array.from(byId, (i) => v.weights[i]!));
  const rank = new Int32Array(M);
  byId.forEach((i, u) => {
    rank[i] = u;
  });
  if (v.candidates) {
    // Candidates none of which can be ranked would give an empty playlist, as no candidates at all would.
    const { candidates } = v;
    const known = model
      ? [...candidates].some((id) => model.vocabulary.has(id))
      : group.some((m) => m.history.some((id) => candidates.has(id)));
    if (!known)
      throw new InvalidOptionError(
        'candidates',
        model
          ? 'at least one track the model knows (none is in its vocabulary)'
          : "at least one track a member has played (without a model, a Blend holds only members' own tracks)",
        [...candidates].slice(0, 5),
      );
  }
  const table = await buildRelevance(
    model,
    group.map((m) => m.history),
    { perMember: v.perMember, familiar: v.familiar, ...(v.candidates ? { candidates: v.candidates } : {}) },
  );
  const C = table.trackIds.length;
  // An empty artist id is no artist: such tracks are not capped together as one "artist".
  const artistOf = table.trackIds.map((id) => meta.get(id)?.artistId || undefined);

  // --- 2. Strategy order, with taken / artist caps enforced as it goes.
  const core = Math.round(v.size * (1 - v.rotation));
  const want = Math.min(C, core + 4 * (v.size - core));
  const taken = new Uint8Array(C);
  const artistCount = new Map<string, number>();
  const allowed = (c: number) => {
    if (c < 0 || c >= C || !Number.isInteger(c) || taken[c]) return false;
    const a = artistOf[c];
    return v.maxPerArtist === undefined || a === undefined || (artistCount.get(a) ?? 0) < v.maxPerArtist;
  };
  const ctx: StrategyContext = {
    members: M,
    candidates: C,
    relevance: table.relevance,
    lists: table.lists,
    weights,
    count: want,
    allowed,
  };
  const order: number[] = [];
  if (want > 0) {
    const yielded: unknown = v.strategy(ctx);
    if (
      yielded === null ||
      typeof yielded !== 'object' ||
      typeof (yielded as Iterable<number>)[Symbol.iterator] !== 'function'
    ) {
      throw new InvalidOptionError(
        'strategy',
        'a function returning an iterable of candidate positions (a generator, an array, ...)',
        yielded,
      );
    }
    // A strategy that never ends (cycling over the pool, say) would hang once nothing more can be taken
    // (artist caps can make `want` unreachable): stop after this many yields in a row that take nothing.
    // A finite strategy that yields every member's whole list back to back stays under M × C.
    const patience = (M + 1) * C;
    let idle = 0;
    for (const c of yielded as Iterable<number>) {
      // A position outside the pool is the strategy's mistake; one already taken or over an artist cap is
      // the ordinary case `allowed` exists for.
      if (!(Number.isInteger(c) && c >= 0 && c < C))
        throw new InvalidOptionError(
          'strategy',
          `a strategy that yields candidate positions, integers from 0 to ${C - 1} (ctx.candidates - 1)`,
          c,
        );
      if (!allowed(c)) {
        if (++idle > patience) break;
        continue;
      }
      idle = 0;
      taken[c] = 1;
      const a = artistOf[c];
      if (a !== undefined) artistCount.set(a, (artistCount.get(a) ?? 0) + 1);
      order.push(c);
      if (order.length >= want) break;
    }
  }

  // --- 3. Daily rotation.
  // The member each track mainly serves (highest relevance; ties: the first by id).
  const primary = (c: number) => {
    let best = 0;
    for (let u = 1; u < M; u++) if (table.relevance[u]![c]! > table.relevance[best]![c]!) best = u;
    return best;
  };
  // Stratified by that member, so the rotation keeps each member's share of the strategy's order.
  const rng = createRng(hashSeed('blend', ...group.map((m) => m.id), v.day, v.seed));
  const selected = rotateSelection(order.length, v.size, v.rotation, rng, (p) => primary(order[p]!)).map(
    (p) => order[p]!,
  );

  // --- 4. Everyone represented.
  const attributed = (c: number) => {
    let max = 0;
    for (let u = 0; u < M; u++) max = Math.max(max, table.relevance[u]![c]!);
    const out: number[] = [];
    for (let u = 0; u < M; u++) {
      const r = table.relevance[u]![c]!;
      if (r > 0 && r >= max - ATTRIBUTION_MARGIN - ATTRIBUTION_TOLERANCE) out.push(u);
    }
    return out;
  };
  if (v.representEveryone && selected.length >= M) {
    representEveryone(selected, table, attributed, artistOf, v.maxPerArtist);
  }

  // --- 5. Transition scores for coherence and seeds for `because` in one batched call.
  const n = selected.length;
  const seeds = table.favourites.map((f) => f.slice(0, BECAUSE_SEEDS));
  const rowOf = new Map<string, number>();
  const rowIds: string[] = [];
  const addRow = (id: string) => {
    if (!rowOf.has(id)) {
      rowOf.set(id, rowIds.length);
      rowIds.push(id);
    }
  };
  if (model && n > 0) {
    if (v.coherence > 0) for (const c of selected) addRow(table.trackIds[c]!);
    for (const s of seeds) for (const id of s) addRow(id);
  }
  const rows =
    rowIds.length > 0 && model
      ? await scoreRows(
          model,
          rowIds.map((id) => [id]),
        )
      : [];
  const vocabIndex = selected.map((c) => table.vocabulary.index(table.trackIds[c]!)!);

  const ordered = orderForCoherence(selected, {
    members: M,
    coherence: v.coherence,
    primary,
    fit: buildFit(selected, vocabIndex, table, rows, rowOf, meta, model !== undefined && v.coherence > 0),
  });

  // --- Output, per member in the caller's order.
  const name = (id: string) => meta.get(id)?.title ?? id;
  // fromEntries defines own keys, so any member id (even "__proto__") is a key of its own.
  const relevanceOf = (c: number): Record<string, number> =>
    Object.fromEntries(members.map((m, i) => [m.id, table.relevance[rank[i]!]![c]!]));
  const tracks: BlendTrack[] = ordered.map((c) => {
    const id = table.trackIds[c]!;
    let score = 0;
    for (let u = 0; u < M; u++) score += weights[u]! * table.relevance[u]![c]!;
    const attributedTo = new Set(attributed(c));
    const p = primary(c);
    let because: string | undefined;
    if (table.plays[p]![c]! > 0) {
      because = `because ${group[p]!.id} plays "${name(id)}"`;
    } else if (rows.length > 0) {
      const g = table.vocabulary.index(id)!;
      let bestSeed: string | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const s of seeds[p]!) {
        const sc = rows[rowOf.get(s)!]![g]!;
        if (sc > bestScore) {
          bestScore = sc;
          bestSeed = s;
        }
      }
      if (bestSeed !== undefined) because = `because ${group[p]!.id} plays "${name(bestSeed)}"`;
    }
    const t = meta.get(id);
    return {
      trackId: id,
      score,
      attributedTo: members.filter((_, i) => attributedTo.has(rank[i]!)).map((m) => m.id),
      relevance: relevanceOf(c),
      ...(because !== undefined ? { because } : {}),
      ...(t ? { title: t.title, artist: t.artist } : {}),
    };
  });

  const summary: BlendMemberSummary[] = members.map((m) => ({
    id: m.id,
    share: 0,
    meanRelevance: 0,
    tracks: 0,
  }));
  for (const t of tracks) {
    for (const id of t.attributedTo) {
      const s = summary.find((x) => x.id === id)!;
      s.share += 1 / t.attributedTo.length / tracks.length;
      s.tracks++;
    }
    for (const s of summary) s.meanRelevance += t.relevance[s.id]! / tracks.length;
  }

  return {
    tracks,
    tasteMatch: tasteMatchOf(
      group.map((m) => m.history),
      meta, // empty without `tracks`: every track then counts as itself
    ),
    bondingTrack: bonding(selected, table, relevanceOf, meta),
    members: summary,
    strategy: v.strategyName,
    date: v.day,
  };
}

/** Swaps in each unrepresented member's best track in place of the last track whose members are all represented twice. */
function representEveryone(
  selected: number[],
  table: RelevanceTable,
  attributed: (c: number) => number[],
  artistOf: (string | undefined)[],
  maxPerArtist: number | undefined,
): void {
  const M = table.relevance.length;
  const count = new Int32Array(M);
  const attrs = selected.map((c) => attributed(c));
  for (const a of attrs) for (const u of a) count[u]!++;
  const inSel = new Set(selected);
  const artists = new Map<string, number>();
  for (const c of selected) {
    const a = artistOf[c];
    if (a !== undefined) artists.set(a, (artists.get(a) ?? 0) + 1);
  }
  for (let u = 0; u < M; u++) {
    if (count[u]! > 0) continue;
    // Victim: the last track whose removal leaves everyone it serves still represented.
    let victim = -1;
    for (let p = selected.length - 1; p >= 0; p--) {
      if (attrs[p]!.every((w) => count[w]! >= 2)) {
        victim = p;
        break;
      }
    }
    if (victim < 0) continue;
    const out = selected[victim]!;
    const outArtist = artistOf[out];
    const pick = Array.from(table.lists[u]!).find((c) => {
      if (inSel.has(c) || !attributed(c).includes(u)) return false;
      const a = artistOf[c];
      if (maxPerArtist === undefined || a === undefined) return true;
      return (artists.get(a) ?? 0) - (a === outArtist ? 1 : 0) < maxPerArtist;
    });
    if (pick === undefined) continue;
    for (const w of attrs[victim]!) count[w]!--;
    if (outArtist !== undefined) artists.set(outArtist, artists.get(outArtist)! - 1);
    inSel.delete(out);
    selected[victim] = pick;
    attrs[victim] = attributed(pick);
    for (const w of attrs[victim]!) count[w]!++;
    const a = artistOf[pick];
    if (a !== undefined) artists.set(a, (artists.get(a) ?? 0) + 1);
    inSel.add(pick);
  }
}

/**
 * Fit of each ordered pair of selected tracks in [0, 1]: `fit[a * n + b]` = how well `b` follows `a`.
 * Model part: rank of `b`'s score given the one-track history `[a]` among the selected tracks. Genre part:
 * 1 for the same genre. Both when available (0.7 / 0.3).
 */
function buildFit(
  selected: number[],
  vocabIndex: number[],
  table: RelevanceTable,
  rows: Float32Array[],
  rowOf: Map<string, number>,
  meta: Map<string, Track>,
  useModel: boolean,
): Float32Array {
  const n = selected.length;
  const fit = new Float32Array(n * n);
  const genres = selected.map((c) => meta.get(table.trackIds[c]!)?.genre);
  const useGenre = genres.some((g) => g !== undefined);
  const wModel = useModel ? (useGenre ? 0.7 : 1) : 0;
  const wGenre = useGenre ? (useModel ? 0.3 : 1) : 0;
  const others = new Float64Array(n);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let a = 0; a < n; a++) {
    if (wModel > 0) {
      const row = rows[rowOf.get(table.trackIds[selected[a]!]!)!]!;
      for (let b = 0; b < n; b++) others[b] = b === a ? Number.NEGATIVE_INFINITY : row[vocabIndex[b]!]!;
      idx.sort((x, y) => others[y]! - others[x]! || x - y);
      idx.forEach((b, r) => {
        if (b !== a) fit[a * n + b]! += wModel * (n > 2 ? 1 - r / (n - 2) : 1);
      });
    }
    if (wGenre > 0) {
      for (let b = 0; b < n; b++) {
        if (b !== a && genres[a] !== undefined && genres[a] === genres[b]) fit[a * n + b]! += wGenre;
      }
    }
  }
  return fit;
}

/** Longest run of one member's tracks that the ordering allows when the counts permit (see {@link orderForCoherence}). */
const MAX_RUN = 2;

/**
 * Whether tracks with main-member counts `left` can still be ordered with no member more than `limit` in
 * a row, when the last placed track was `last`'s, ending a run of `run`. Exact (checked by exhaustive
 * search on small counts): each member `u` needs `left[u] <= limit · (others + 1)` (one block of up to
 * `limit` before, between and after the others' tracks), less `run` for `last`, whose first block
 * continues the current run.
 */
function arrangeable(left: Int32Array, last: number, run: number, limit: number): boolean {
  let total = 0;
  for (const x of left) total += x;
  for (let u = 0; u < left.length; u++) {
    const mine = left[u]!;
    if (mine > 0 && mine > limit * (total - mine + 1) - (u === last ? run : 0)) return false;
  }
  return true;
}

/**
 * Greedy ordering: start from the strategy's first track; each next track maximises
 * `(1 - coherence) · strategyRank + coherence · fit(previous, next)` among the tracks that keep the rest
 * orderable with no member's tracks (by main member) more than twice in a row. When one member has more
 * than `2 · (others' tracks + 1)` tracks that is impossible, and the limit is the shortest run the
 * counts allow instead.
 */
function orderForCoherence(
  selected: number[],
  opts: { members: number; coherence: number; primary: (c: number) => number; fit: Float32Array },
): number[] {
  const n = selected.length;
  if (n === 0) return [];
  const prim = selected.map((c) => opts.primary(c));
  const left = new Int32Array(opts.members);
  for (const p of prim) left[p]!++;
  const most = Math.max(...left);
  const limit = Math.max(MAX_RUN, Math.ceil(most / (n - most + 1)));
  const used = new Uint8Array(n);
  const out: number[] = [];
  let last = -1;
  let run = 0;
  // Whether member `p`'s track can come next: not one too many in a row, and the rest still orderable.
  const canFollow = (p: number) => {
    const nextRun = p === last ? run + 1 : 1;
    if (nextRun > limit) return false;
    left[p]!--;
    const ok = arrangeable(left, p, nextRun, limit);
    left[p]!++;
    return ok;
  };
  for (let step = 0; step < n; step++) {
    const prev = out[out.length - 1];
    const can = Array.from({ length: opts.members }, (_, p) => left[p]! > 0 && canFollow(p));
    // The start is orderable within `limit` by its choice, and an orderable state always has a next
    // track that keeps it so: some track is always eligible.
    let best = -1;
    let bestV = Number.NEGATIVE_INFINITY;
    for (let b = 0; b < n; b++) {
      if (used[b] || !can[prim[b]!]) continue;
      const rank = 1 - b / n;
      const value =
        prev === undefined ? rank : (1 - opts.coherence) * rank + opts.coherence * opts.fit[prev * n + b]!;
      if (value > bestV) {
        bestV = value;
        best = b;
      }
    }
    used[best] = 1;
    out.push(best);
    left[prim[best]!]!--;
    run = prim[best] === last ? run + 1 : 1;
    last = prim[best]!;
  }
  return out.map((p) => selected[p]!);
}

/**
 * The selected track in the most members' lists; ties: highest lowest-member relevance, then highest
 * mean. Undefined only for an empty playlist.
 */
function bonding(
  selected: number[],
  table: RelevanceTable,
  relevanceOf: (c: number) => Record<string, number>,
  meta: Map<string, Track>,
): BlendResult['bondingTrack'] {
  let best = -1;
  let bestKey = [-1, -1, -1];
  for (const c of selected) {
    let shared = 0;
    let min = Number.POSITIVE_INFINITY;
    let mean = 0;
    for (const rel of table.relevance) {
      if (rel[c]! > 0) shared++;
      min = Math.min(min, rel[c]!);
      mean += rel[c]!;
    }
    const key = [shared, min, mean];
    const better = key[0]! - bestKey[0]! || key[1]! - bestKey[1]! || key[2]! - bestKey[2]!;
    if (better > 0) {
      best = c;
      bestKey = key;
    }
  }
  if (best < 0) return undefined;
  const id = table.trackIds[best]!;
  const title = meta.get(id)?.title;
  return { trackId: id, ...(title !== undefined ? { title } : {}), relevance: relevanceOf(best) };
}
