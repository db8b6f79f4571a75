// Built-in reward hooks (completion, skips, saves, repeats, diversity, return) and their weighted combination.
import { catalogueMap } from '../data/catalogue.js';
import type { Listen, Track } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import { type RewardContext, type RewardHook, runHook } from './hook.js';

const DAY_MS = 86_400_000;

/** Gives a hook a readable name used in {@link RewardHookError} messages. */
function named<T extends RewardHook>(name: string, hook: T): T {
  Object.defineProperty(hook, 'hookName', { value: name, enumerable: true });
  return hook;
}

/**
 * The listener's time-ordered listens and this listen's position in them: `context.listens` when the hook
 * runs over a dataset, else `history`, the listen and `next` (a context built by hand).
 */
function timeline(listen: Listen, ctx: RewardContext): { all: readonly Listen[]; at: number } {
  if (ctx.listens && ctx.listens[ctx.index] === listen) return { all: ctx.listens, at: ctx.index };
  return { all: [...ctx.history, listen, ...ctx.next], at: ctx.history.length };
}

/**
 * A per-timeline index computed once for each listener's listens (an O(n) pass, not one scan per listen),
 * kept while the listens array lives and rebuilt when it has grown or its last listen changed (a live log
 * that appends listens to the same array).
 */
function perTimeline(build: (all: readonly Listen[]) => Int32Array) {
  const cache = new WeakMap<
    readonly Listen[],
    { length: number; last: Listen | undefined; index: Int32Array }
  >();
  return (all: readonly Listen[]): Int32Array => {
    const hit = cache.get(all);
    if (hit && hit.length === all.length && hit.last === all[all.length - 1]) return hit.index;
    const index = build(all);
    cache.set(all, { length: all.length, last: all[all.length - 1], index });
    return index;
  };
}

function checkFinite(option: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidOptionError(option, 'a finite number', value);
  return value;
}

function checkPositive(option: string, value: unknown, integer = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value <= 0 ||
    (integer && !Number.isInteger(value))
  ) {
    throw new InvalidOptionError(option, integer ? 'an integer >= 1' : 'a finite number > 0', value);
  }
  return value;
}

/** Options of {@link rewards.completion}. */
export interface CompletionOptions {
  /** Completion credited to a skip when `msPlayed`/`durationMs` are missing, per skip level. Default {1: 0, 2: 0.25, 3: 0.75}. */
  skipCredit?: Partial<Record<1 | 2 | 3, number>>;
}

/** Options of {@link rewards.skipPenalty}. */
export interface SkipPenaltyOptions {
  /** Reward per skip level (1 = very brief .. 3 = most of the track). Default {1: -1, 2: -0.6, 3: -0.2}. */
  levels?: Partial<Record<1 | 2 | 3, number>>;
}

/** Options of {@link rewards.saveBonus}. */
export interface SaveBonusOptions {
  /** Reward when the listen has `saved: true`. Default 1. */
  bonus?: number;
}

/** Options of {@link rewards.repeatBonus}. */
export interface RepeatBonusOptions {
  /** Reward when the listener plays the same track again later. Default 1. */
  bonus?: number;
  /** Only count a repeat within this many days. Default 30. */
  withinDays?: number;
}

/** Options of {@link rewards.diversityBonus}. */
export interface DiversityBonusOptions {
  /** Reward for a listen entirely unlike the recent history. Default 1. */
  bonus?: number;
  /**
   * How many previous listens count as recent history. Default 10. Over a dataset ({@link computeRewards})
   * any window is honoured; on a hand-built context it cannot look further back than `context.history`.
   */
  window?: number;
  /**
   * Track metadata (artist, genre). With it, the bonus is `bonus * (1 - similarity)`, where similarity is the
   * share of recent listens by the same artist (weight 1) or only the same genre (weight `genreWeight`).
   * Without it, the bonus is paid when the track itself is not in the recent history.
   */
  tracks?: Iterable<Track> | ReadonlyMap<string, Track>;
  /** Similarity of two different-artist tracks of the same genre. Default 0.5. */
  genreWeight?: number;
}

/** Options of {@link rewards.returnBonus}. */
export interface ReturnBonusOptions {
  /** The listener's next session must start within this many days of the end of this listen's session. Default 7. */
  days?: number;
  /** Reward when they are. Default 1. */
  bonus?: number;
  /** A gap of at least this long between two listens starts a new session. Default 30. */
  minGapMinutes?: number;
}

function checkLevels(
  option: string,
  levels: Partial<Record<1 | 2 | 3, number>> | undefined,
  defaults: Record<1 | 2 | 3, number>,
  range?: readonly [number, number],
): Record<1 | 2 | 3, number> {
  if (levels === undefined) return defaults;
  const what = range ? `numbers in [${range[0]}, ${range[1]}]` : 'finite numbers';
  if (typeof levels !== 'object' || levels === null) {
    throw new InvalidOptionError(option, `an object mapping skip levels 1, 2, 3 to ${what}`, levels);
  }
  for (const key of Object.keys(levels)) {
    if (key !== '1' && key !== '2' && key !== '3') {
      throw new InvalidOptionError(`${option}.${key}`, 'one of the skip levels 1, 2 or 3', key);
    }
  }
  const out = { ...defaults };
  for (const lvl of [1, 2, 3] as const) {
    if (levels[lvl] === undefined) continue;
    const v = checkFinite(`${option}.${lvl}`, levels[lvl]);
    if (range && !(v >= range[0] && v <= range[1]))
      throw new InvalidOptionError(`${option}.${lvl}`, `a number in [${range[0]}, ${range[1]}]`, v);
    out[lvl] = v;
  }
  return out;
}

function trackMap(
  option: string,
  tracks: DiversityBonusOptions['tracks'],
): ReadonlyMap<string, Track> | undefined {
  return tracks === undefined ? undefined : catalogueMap(option, tracks, { iterables: true });
}

/**
 * How much of a track was played, in [0, 1]: `msPlayed / durationMs` when both are known, else 1 for a listen
 * played to the end (`skipLevel` 0) and `skipCredit[level]` for a skip, else from `reasonEnd` (1 for
 * `'trackdone'`, 0 for any other reason the track ended), else 1 (a plain play with no signal counts as
 * complete, as implicit-feedback data implies).
 */
function completionOf(listen: Listen, credit: Record<1 | 2 | 3, number>): number {
  if (listen.msPlayed !== undefined && listen.durationMs !== undefined && listen.durationMs > 0) {
    return Math.min(1, Math.max(0, listen.msPlayed / listen.durationMs));
  }
  if (listen.skipLevel !== undefined) return listen.skipLevel === 0 ? 1 : credit[listen.skipLevel];
  if (listen.reasonEnd !== undefined) return listen.reasonEnd === 'trackdone' ? 1 : 0;
  return 1;
}

/**
 * Built-in reward hooks. Each factory validates its options up front and returns a {@link RewardHook} with a
 * readable `hookName` for error messages.
 *
 * @example
 * ```ts
 * import { rewards, computeRewards } from 'encore';
 * const hook = rewards.combine([
 *   [rewards.completion(), 1],
 *   [rewards.skipPenalty(), 0.5],
 *   [rewards.saveBonus(), 2],
 *   [rewards.diversityBonus({ tracks }), 0.3],
 * ]);
 * const perUser = computeRewards(train, hook);
 * ```
 */
export const rewards = {
  /**
   * Share of the track played, in [0, 1] (`msPlayed / durationMs`; else 1 if played to the end, a partial credit
   * per skip level; else 1 when `reasonEnd` is `'trackdone'` and 0 for any other `reasonEnd`; or 1 when the
   * listen carries none of these).
   *
   * @example
   * ```ts
   * rewards.completion()({ userId: 'u', trackId: 't', timestamp: 0, msPlayed: 90_000, durationMs: 180_000 }, ctx); // 0.5
   * ```
   */
  completion(options: CompletionOptions = {}): RewardHook {
    checkKnownOptions(options, optionKeys<typeof options>({ skipCredit: true }), 'rewards.completion');
    const credit = checkLevels('skipCredit', options.skipCredit, { 1: 0, 2: 0.25, 3: 0.75 }, [0, 1]);
    return named('completion', (listen: Listen) => completionOf(listen, credit));
  },

  /**
   * A (negative) reward per skip level; 0 for a listen played to the end or without skip information.
   *
   * @example
   * ```ts
   * const hook = rewards.skipPenalty({ levels: { 1: -1, 2: -0.5, 3: 0 } });
   * ```
   */
  skipPenalty(options: SkipPenaltyOptions = {}): RewardHook {
    checkKnownOptions(options, optionKeys<typeof options>({ levels: true }), 'rewards.skipPenalty');
    const levels = checkLevels('levels', options.levels, { 1: -1, 2: -0.6, 3: -0.2 });
    return named('skipPenalty', (listen: Listen) =>
      listen.skipLevel === undefined || listen.skipLevel === 0 ? 0 : levels[listen.skipLevel],
    );
  },

  /**
   * `bonus` when the listener saved (liked) the track during this listen, else 0.
   *
   * @example
   * ```ts
   * const hook = rewards.saveBonus({ bonus: 2 });
   * ```
   */
  saveBonus(options: SaveBonusOptions = {}): RewardHook {
    checkKnownOptions(options, optionKeys<typeof options>({ bonus: true }), 'rewards.saveBonus');
    const bonus = checkFinite('bonus', options.bonus ?? 1);
    return named('saveBonus', (listen: Listen) => (listen.saved ? bonus : 0));
  },

  /**
   * `bonus` when the listener plays the same track again within `withinDays` after this listen, however many
   * listens come between (over a dataset it looks through all of the listener's later listens).
   *
   * @example
   * ```ts
   * const hook = rewards.repeatBonus({ withinDays: 14 });
   * ```
   */
  repeatBonus(options: RepeatBonusOptions = {}): RewardHook {
    checkKnownOptions(
      options,
      optionKeys<typeof options>({ bonus: true, withinDays: true }),
      'rewards.repeatBonus',
    );
    const bonus = checkFinite('bonus', options.bonus ?? 1);
    const windowMs = checkPositive('withinDays', options.withinDays ?? 30) * DAY_MS;
    // nextSame[i]: the next position with the same track as position i, or -1.
    const nextSameOf = perTimeline((all) => {
      const nextSame = new Int32Array(all.length).fill(-1);
      const seen = new Map<string, number>();
      for (let i = all.length - 1; i >= 0; i--) {
        const id = all[i]!.trackId;
        nextSame[i] = seen.get(id) ?? -1;
        seen.set(id, i);
      }
      return nextSame;
    });
    return named('repeatBonus', (listen: Listen, ctx: RewardContext) => {
      const { all, at } = timeline(listen, ctx);
      const j = nextSameOf(all)[at]!;
      return j >= 0 && all[j]!.timestamp - listen.timestamp <= windowMs ? bonus : 0;
    });
  },

  /**
   * Rewards listens unlike the recent history: by artist and genre when `tracks` metadata is given, else by
   * track-id novelty (`bonus` when the track is not among the last `window` listens).
   *
   * @example
   * ```ts
   * const hook = rewards.diversityBonus({ tracks: world.tracks, window: 10 });
   * ```
   */
  diversityBonus(options: DiversityBonusOptions = {}): RewardHook {
    checkKnownOptions(
      options,
      optionKeys<typeof options>({ bonus: true, window: true, tracks: true, genreWeight: true }),
      'rewards.diversityBonus',
    );
    const bonus = checkFinite('bonus', options.bonus ?? 1);
    const window = checkPositive('window', options.window ?? 10, true);
    const genreWeight = checkFinite('genreWeight', options.genreWeight ?? 0.5);
    if (genreWeight < 0 || genreWeight > 1)
      throw new InvalidOptionError('genreWeight', 'a number in [0, 1]', genreWeight);
    const tracks = trackMap('tracks', options.tracks);
    return named('diversityBonus', (listen: Listen, ctx: RewardContext) => {
      // The full timeline, not ctx.history (capped at 50 listens), so a `window` above 50 is honoured.
      const { all, at } = timeline(listen, ctx);
      const recent = all.slice(Math.max(0, at - window), at);
      if (recent.length === 0) return bonus;
      const me = tracks?.get(listen.trackId);
      if (!tracks || !me) return recent.some((l) => l.trackId === listen.trackId) ? 0 : bonus;
      let sim = 0;
      for (const l of recent) {
        // The same track again is as similar as can be, whatever its metadata says.
        if (l.trackId === listen.trackId) {
          sim += 1;
          continue;
        }
        const t = tracks.get(l.trackId);
        if (!t) continue;
        if (t.artistId !== '' && t.artistId === me.artistId) sim += 1;
        else if (me.genre !== undefined && t.genre === me.genre) sim += genreWeight;
      }
      return bonus * (1 - sim / recent.length);
    });
  },

  /**
   * `bonus` when the listener comes back: their next session (a listen at least `minGapMinutes` after the
   * listen before it) starts within `days` of the end of the session this listen is in. A listen whose
   * session is the listener's last earns 0. Over a dataset it looks through all of the listener's later
   * listens, however long the session.
   *
   * @example
   * ```ts
   * const hook = rewards.returnBonus({ days: 3 });
   * ```
   */
  returnBonus(options: ReturnBonusOptions = {}): RewardHook {
    checkKnownOptions(
      options,
      optionKeys<typeof options>({ days: true, bonus: true, minGapMinutes: true }),
      'rewards.returnBonus',
    );
    const days = checkPositive('days', options.days ?? 7);
    const bonus = checkFinite('bonus', options.bonus ?? 1);
    const gap = options.minGapMinutes ?? 30;
    if (typeof gap !== 'number' || !Number.isFinite(gap) || gap < 0) {
      throw new InvalidOptionError('minGapMinutes', 'a finite number >= 0', gap);
    }
    const gapMs = gap * 60_000;
    const windowMs = days * DAY_MS;
    // nextStart[i]: the first position after i that starts a new session, or -1.
    const nextStartOf = perTimeline((all) => {
      const nextStart = new Int32Array(all.length).fill(-1);
      for (let i = all.length - 2; i >= 0; i--)
        nextStart[i] = all[i + 1]!.timestamp - all[i]!.timestamp >= gapMs ? i + 1 : nextStart[i + 1]!;
      return nextStart;
    });
    return named('returnBonus', (listen: Listen, ctx: RewardContext) => {
      const { all, at } = timeline(listen, ctx);
      const j = nextStartOf(all)[at]!;
      return j >= 0 && all[j]!.timestamp - all[j - 1]!.timestamp <= windowMs ? bonus : 0;
    });
  },

  /**
   * Weighted sum of hooks. Each inner hook is run through {@link runHook}, so a NaN or a throw names the inner
   * hook and the listen.
   *
   * @example
   * ```ts
   * const hook = rewards.combine([[rewards.completion(), 1], [rewards.skipPenalty(), 0.5]]);
   * ```
   */
  combine(parts: readonly (readonly [RewardHook, number])[]): RewardHook {
    if (!Array.isArray(parts) || parts.length === 0) {
      throw new InvalidOptionError('parts', 'a non-empty array of [hook, weight] pairs', parts);
    }
    parts.forEach((p, i) => {
      if (!Array.isArray(p) || typeof p[0] !== 'function') {
        throw new InvalidOptionError(`parts[${i}]`, 'a [hook, weight] pair with a function hook', p);
      }
      checkFinite(`parts[${i}] weight`, p[1]);
    });
    const copy = parts.map(([h, w]) => [h, w] as const);
    const name = `combine(${copy.map(([h]) => (h as { hookName?: string }).hookName ?? (h.name || '(anonymous)')).join(', ')})`;
    return named(name, (listen: Listen, ctx: RewardContext) => {
      let sum = 0;
      for (const [h, w] of copy) sum += w * runHook(h, listen, ctx);
      return sum;
    });
  },
};
