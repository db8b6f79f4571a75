// Long-term listener simulator: hidden taste and satisfaction, clickbait vs kale tracks, skips, sessions, return.
import type { Listen, SkipLevel, Track } from '../data/types.js';
import { checkKnownOptions, InvalidDataError, InvalidOptionError, optionKeys } from '../errors.js';
import type { Recommendation, Recommender } from '../models/recommender.js';
import { createRng, hashSeed, type Rng } from '../util/random.js';

const DAY_MS = 86_400_000;
const START = Date.UTC(2024, 0, 1);

/**
 * A simulated track: a normal {@link Track} plus the hidden attributes that drive listener behaviour.
 * `appeal` is immediate catchiness (drives completion), `value` is how much it satisfies (drives saves and the
 * satisfaction state), `clickbait` is how fast it satiates. "Clickbait" tracks have high appeal, low value;
 * "kale" tracks the reverse.
 */
export interface SimTrack extends Track {
  genre: string;
  durationMs: number;
  appeal: number;
  value: number;
  clickbait: number;
}

/** A simulated listener's hidden profile. */
export interface SimListener {
  userId: string;
  /** Taste per genre (same order as {@link SimWorld.genres}), sums to 1. */
  taste: Float64Array;
  /** Personal offset of the daily return probability (logit scale). */
  activity: number;
}

/**
 * A simulated world: catalogue, listeners with hidden tastes, and their organic listening before the
 * simulation starts (`listens`, with skips, saves and msPlayed — train models on these).
 *
 * @example
 * ```ts
 * const world = createSimWorld({ listeners: 200, tracks: 400, seed: 1 });
 * const train = Dataset.fromListens(world.listens);
 * ```
 */
export interface SimWorld {
  tracks: SimTrack[];
  genres: string[];
  listeners: SimListener[];
  listens: Listen[];
  /** Epoch ms of the first simulated day (right after the organic history). */
  startTime: number;
}

/** Options of {@link createSimWorld}. */
export interface SimWorldOptions {
  /** Listeners. Default 200. */
  listeners?: number;
  /** Tracks in the catalogue. Default 400. */
  tracks?: number;
  /** Artists (each has one genre). Default 80. */
  artists?: number;
  /** Genres. Default 8. */
  genres?: number;
  /** Share of clickbait tracks (high appeal, low value). Default 0.3. */
  clickbaitShare?: number;
  /** Days of organic listening generated as the initial history. Default 14. */
  historyDays?: number;
  /** Tracks per organic session. Default 10. */
  sessionLength?: number;
  seed?: number;
}

/** The keys of {@link SimWorldOptions}, checked so that a misspelt option is an error. */
const SIM_WORLD_KEYS: Record<keyof SimWorldOptions, true> = {
  listeners: true,
  tracks: true,
  artists: true,
  genres: true,
  clickbaitShare: true,
  historyDays: true,
  sessionLength: true,
  seed: true,
};

/** A policy for {@link ListenerSimulator.simulate}: a model, optionally re-ranked per listener. */
export interface SimPolicy {
  model: Recommender;
  /** Re-ranks the model's candidates for one listener (e.g. with {@link rerank}). */
  rerank?: (recs: Recommendation[], ctx: SimRerankContext) => Recommendation[] | Promise<Recommendation[]>;
  /** Candidates asked from the model when `rerank` is set. Default 5 × sessionLength. */
  candidates?: number;
  /** Leave out the tracks in the history passed to the model. Default true. */
  excludeHistory?: boolean;
}

/** What a policy's `rerank` sees. */
export interface SimRerankContext {
  userId: string;
  /** Recent track ids, oldest first (the same history the model got). */
  history: string[];
  /** Simulated day (0-based). */
  day: number;
}

/** Options of {@link ListenerSimulator.simulate}. */
export interface SimulateOptions {
  /** Any Recommender over the world's track ids, or `{ model, rerank }`. */
  policy: Recommender | SimPolicy;
  /** Simulate only the first n listeners of the world. Default all. */
  listeners?: number;
  /** Days to simulate. Default 60. */
  days?: number;
  /** Seed of the listeners' behaviour. Default 0. */
  seed?: number;
  /** Most tracks per session (listeners may quit earlier). Default 10. */
  sessionLength?: number;
  /** How many recent listens form the history given to the policy. Default 30. */
  historyWindow?: number;
  /** Return every simulated listen in `listens`. Default false. */
  recordListens?: boolean;
}

/** One simulated day. */
export interface SimDay {
  day: number;
  /** Listeners who came back that day (whether or not the policy gave them anything to play). */
  visits: number;
  /**
   * Listeners active that day: they came back and played at least one track. A visit whose list is empty
   * plays nothing, is not an active day, and costs satisfaction ({@link EMPTY_VISIT_COST}).
   */
  active: number;
  /** Share of plays skipped (skip levels 1-3). */
  skipRate: number;
  /** Share of plays played to the end. */
  completionRate: number;
  /** Plays per active listener. */
  meanSessionLength: number;
  /** Mean over active listeners of distinct artists / plays in their session. */
  diversity: number;
  /** Mean hidden satisfaction of all listeners at the end of the day. */
  satisfaction: number;
}

/** Result of {@link ListenerSimulator.simulate}. */
export interface SimResult {
  daily: SimDay[];
  /** Mean number of days each listener was active. */
  meanActiveDays: number;
  /** Share of listeners active per day, averaged over the final 7 days (day 54-60 of 60). */
  retention: number;
  /** Share of all plays skipped. */
  skipRate: number;
  /** Plays per active listener-day. */
  sessionLength: number;
  /** Mean of the daily diversity over active listener-days (each day weighted by its active listeners). */
  diversity: number;
  /** Completion rate on the first simulated day (the short-term figure). */
  day1CompletionRate: number;
  perListener: { userId: string; activeDays: number; trace: Uint8Array }[];
  /** Every simulated listen when `recordListens` was set. */
  listens?: Listen[];
}

/**
 * Satisfaction a listener loses when they come back and the policy gives them nothing to play: about what
 * a session of a few early skips costs. Without it, an empty list would be a free day of rest in which a
 * dissatisfied listener drifts back to neutral, and a policy that recommends nothing would look kind.
 *
 * @example
 * ```ts
 * console.log(EMPTY_VISIT_COST); // 0.02
 * ```
 */
export const EMPTY_VISIT_COST = 0.02;

/** Mutable per-listener state during a run. */
interface ListenerState {
  satisfaction: number;
  fatigue: number;
  recent: number[]; // last track indices (most recent last), at most 20
  history: string[]; // track ids, grows
  rng: Rng;
}

function checkInt(option: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new InvalidOptionError(option, `an integer >= ${min}`, v);
  return v;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Builds a simulated world: genres, artists, tracks with hidden appeal/value/clickbait, listeners with hidden
 * genre tastes, and `historyDays` of organic listening (listeners pick tracks themselves, leaning on their taste
 * and on catchy, well-promoted tracks) that serve as training data.
 *
 * @example
 * ```ts
 * const world = createSimWorld({ listeners: 100, seed: 3 });
 * world.tracks[0]; // { trackId: 's0', artistId: 'a12', genre: 'g3', appeal, value, clickbait, ... }
 * ```
 */
export function createSimWorld(options: SimWorldOptions = {}): SimWorld {
  checkKnownOptions(options, Object.keys(SIM_WORLD_KEYS), 'createSimWorld');
  const nL = checkInt('listeners', options.listeners ?? 200, 1);
  const nT = checkInt('tracks', options.tracks ?? 400, 2);
  const nA = checkInt('artists', options.artists ?? 80, 1);
  const nG = checkInt('genres', options.genres ?? 8, 1);
  const historyDays = checkInt('historyDays', options.historyDays ?? 14, 1);
  const sessionLength = checkInt('sessionLength', options.sessionLength ?? 10, 1);
  const share = options.clickbaitShare ?? 0.3;
  if (typeof share !== 'number' || !(share >= 0 && share <= 1)) {
    throw new InvalidOptionError('clickbaitShare', 'a number in [0, 1]', share);
  }
  const seed = options.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isFinite(seed))
    throw new InvalidOptionError('seed', 'a finite number', seed);
  const rng = createRng(hashSeed('sim-world', seed));
  const genres = Array.from({ length: nG }, (_, g) => `g${g}`);
  const artistGenre = Array.from({ length: nA }, () => rng.int(nG));
  const tracks: SimTrack[] = [];
  for (let i = 0; i < nT; i++) {
    const a = rng.int(nA);
    const clickbait = rng.next() < share;
    const appeal = clickbait ? 0.75 + 0.25 * rng.next() : 0.15 + 0.45 * rng.next();
    const value = clickbait ? 0.05 + 0.2 * rng.next() : 0.45 + 0.55 * rng.next();
    tracks.push({
      trackId: `s${i}`,
      title: `Track ${i}`,
      artistId: `a${a}`,
      artist: `Artist ${a}`,
      genre: genres[artistGenre[a]!]!,
      durationMs: Math.round(150_000 + 120_000 * rng.next()),
      appeal,
      value,
      clickbait: clickbait ? 0.7 + 0.3 * rng.next() : 0.2 * rng.next(),
    });
  }
  const listeners: SimListener[] = Array.from({ length: nL }, (_, u) => {
    const raw = Array.from({ length: nG }, () => Math.exp(1.5 * rng.normal()));
    const z = raw.reduce((s, x) => s + x, 0);
    return { userId: `L${u}`, taste: Float64Array.from(raw, (x) => x / z), activity: 0.5 * rng.normal() };
  });
  const world: SimWorld = { tracks, genres, listeners, listens: [], startTime: START + historyDays * DAY_MS };
  // Organic listening: per pick, 70% a track from a genre drawn by taste, else any track; within the pool,
  // weighted by promotion (catchy tracks get promoted more).
  const byGenre = genres.map((_, g) =>
    tracks.map((t, i) => (t.genre === genres[g] ? i : -1)).filter((i) => i >= 0),
  );
  const promo = tracks.map((t) => 0.2 + t.appeal * t.appeal);
  const engine = new Engine(
    world,
    listeners,
    createRng(hashSeed('sim-organic', seed)).fork(),
    sessionLength,
    START,
    true,
  );
  for (let day = 0; day < historyDays; day++) {
    const active = engine.drawActive(day);
    const lists = active.map((u) => {
      const r = engine.states[u]!.rng;
      const picks: number[] = [];
      for (let j = 0; j < sessionLength; j++) {
        let pool: number[];
        if (r.next() < 0.7) {
          const g = r.weighted(listeners[u]!.taste);
          pool = byGenre[g]!.length > 0 ? byGenre[g]! : tracks.map((_, i) => i);
        } else {
          pool = tracks.map((_, i) => i);
        }
        picks.push(pool[r.weighted(pool.map((i) => promo[i]!))]!);
      }
      return picks;
    });
    engine.playDay(day, active, lists);
  }
  world.listens = engine.listens;
  return world;
}

/** The listener dynamics shared by the organic history and the simulation. */
class Engine {
  readonly states: ListenerState[];
  readonly listens: Listen[] = [];
  readonly traces: Uint8Array[];
  readonly daily: SimDay[] = [];
  private readonly artistIndex: Int32Array;

  constructor(
    readonly world: SimWorld,
    readonly listeners: readonly SimListener[],
    seed: number,
    readonly sessionLength: number,
    readonly startTime: number,
    readonly record: boolean,
    days = 0,
  ) {
    this.states = listeners.map((l) => ({
      satisfaction: 0.5,
      fatigue: 0,
      recent: [],
      history: [],
      rng: createRng(hashSeed(seed, l.userId)),
    }));
    this.traces = listeners.map(() => new Uint8Array(days));
    const artists = new Map<string, number>();
    this.artistIndex = Int32Array.from(world.tracks, (t) => {
      let a = artists.get(t.artistId);
      if (a === undefined) {
        a = artists.size;
        artists.set(t.artistId, a);
      }
      return a;
    });
  }

  /** Listeners who come back on `day`: everyone on day 0, then with a probability driven by satisfaction. */
  drawActive(day: number): number[] {
    const out: number[] = [];
    this.states.forEach((s, u) => {
      const p = day === 0 ? 1 : sigmoid(-2.2 + 5 * s.satisfaction + this.listeners[u]!.activity);
      if (s.rng.next() < p) out.push(u);
    });
    return out;
  }

  /** Plays each active listener's list (track indices, in order) until they quit; updates state and stats. */
  playDay(day: number, active: readonly number[], lists: readonly number[][]): void {
    const tracks = this.world.tracks;
    let plays = 0;
    let skips = 0;
    let divSum = 0;
    let listened = 0;
    active.forEach((u, k) => {
      const s = this.states[u]!;
      const L = this.listeners[u]!;
      const r = s.rng;
      const maxTaste = Math.max(...L.taste);
      let t = this.startTime + day * DAY_MS + Math.floor((8 + 12 * r.next()) * 3_600_000);
      const sessionArtists = new Set<number>();
      let n = 0;
      for (const ti of lists[k]!.slice(0, this.sessionLength)) {
        const track = tracks[ti]!;
        const fit = L.taste[this.world.genres.indexOf(track.genre)]! / maxTaste;
        let repeats = 0;
        let sameArtist = 0;
        for (let j = s.recent.length - 1, d = 0; j >= 0; j--, d++) {
          if (s.recent[j] === ti) repeats++;
          if (d < 10 && this.artistIndex[s.recent[j]!] === this.artistIndex[ti]) sameArtist++;
        }
        const boredom = 0.8 * repeats + 0.25 * sameArtist + s.fatigue * track.clickbait;
        const pComplete = sigmoid(
          -1.6 + 3 * track.appeal + 1.8 * fit + 1.5 * (s.satisfaction - 0.5) - 1.2 * boredom,
        );
        const completed = r.next() < pComplete;
        let skipLevel: SkipLevel = 0;
        let frac = 1;
        if (!completed) {
          const u2 = r.next();
          skipLevel = u2 < 0.5 ? 1 : u2 < 0.8 ? 2 : 3;
          frac =
            skipLevel === 1 ? 0.05 * r.next() : skipLevel === 2 ? 0.1 + 0.3 * r.next() : 0.4 + 0.5 * r.next();
        }
        const saved = completed && r.next() < 0.35 * track.value * fit;
        // Satisfaction: valuable, fitting tracks raise it; hollow or unfitting ones and skips lower it; variety helps.
        let delta = completed ? 0.05 * (track.value * (0.4 + 0.6 * fit) - 0.3) : -0.004 * (4 - skipLevel);
        delta += sessionArtists.has(this.artistIndex[ti]!) ? -0.006 : 0.004;
        delta -= 0.01 * repeats;
        s.satisfaction = Math.min(1, Math.max(0, s.satisfaction + delta));
        s.fatigue += 0.12 * track.clickbait;
        sessionArtists.add(this.artistIndex[ti]!);
        s.recent.push(ti);
        if (s.recent.length > 20) s.recent.shift();
        s.history.push(track.trackId);
        const msPlayed = Math.round(track.durationMs * frac);
        if (this.record) {
          this.listens.push({
            userId: L.userId,
            trackId: track.trackId,
            timestamp: t,
            msPlayed,
            durationMs: track.durationMs,
            skipLevel,
            saved,
            sessionId: `${L.userId}-d${day}`,
            reasonEnd: completed ? 'trackdone' : 'fwdbtn',
          });
        }
        t += msPlayed + 1000;
        n++;
        if (!completed) skips++;
        // Quit: more likely after a skip and when dissatisfied.
        const quit = 0.03 + (completed ? 0 : 0.2) * (1.5 - s.satisfaction);
        if (r.next() < quit) break;
      }
      if (n === 0) {
        // Came to listen and found nothing: not an active day, and a disappointment.
        s.satisfaction = Math.max(0, s.satisfaction - EMPTY_VISIT_COST);
        return;
      }
      if (this.traces[u]!.length > day) this.traces[u]![day] = 1;
      listened++;
      plays += n;
      divSum += sessionArtists.size / n;
    });
    // Overnight: clickbait fatigue fades; satisfaction drifts slowly back to neutral.
    let satSum = 0;
    for (const s of this.states) {
      s.fatigue *= 0.6;
      s.satisfaction += 0.03 * (0.5 - s.satisfaction);
      satSum += s.satisfaction;
    }
    this.daily.push({
      day,
      visits: active.length,
      active: listened,
      skipRate: plays ? skips / plays : 0,
      completionRate: plays ? 1 - skips / plays : 0,
      meanSessionLength: listened ? plays / listened : 0,
      diversity: listened ? divSum / listened : 0,
      satisfaction: satSum / this.states.length,
    });
  }
}

/**
 * Simulates listeners over many days under a recommendation policy. Each day, listeners come back with a
 * probability driven by their hidden satisfaction; active listeners get the policy's list for their recent
 * history and play it in order, completing or skipping each track depending on immediate appeal, taste fit,
 * boredom (repeats, same artist, clickbait fatigue) and satisfaction, and quit the session early after skips.
 * Valuable, fitting, varied listening raises satisfaction; hollow (clickbait), unfitting or repetitive
 * listening lowers it. Deterministic for a seed; each listener has its own random stream, so two policies
 * are compared on common random numbers.
 *
 * @example
 * ```ts
 * const world = createSimWorld({ listeners: 200, seed: 1 });
 * const model = await Popularity.fit(Dataset.fromListens(world.listens));
 * const sim = new ListenerSimulator(world);
 * const r = await sim.simulate({ policy: model, days: 60, seed: 7 });
 * console.log(r.day1CompletionRate, r.meanActiveDays, r.retention);
 * ```
 */
export class ListenerSimulator {
  readonly world: SimWorld;
  private readonly trackIndex: Map<string, number>;
  private readonly initialHistory: Map<string, string[]>;

  constructor(world: SimWorld) {
    if (
      !world ||
      !Array.isArray(world.tracks) ||
      !Array.isArray(world.listeners) ||
      world.tracks.length === 0
    ) {
      throw new InvalidOptionError(
        'world',
        'a SimWorld from createSimWorld (tracks, listeners, listens)',
        world,
      );
    }
    this.world = world;
    this.trackIndex = new Map(world.tracks.map((t, i) => [t.trackId, i]));
    this.initialHistory = initialHistories(world);
  }

  /** Runs the simulation. Options are validated before any work. */
  async simulate(options: SimulateOptions): Promise<SimResult> {
    if (options !== null && typeof options === 'object')
      checkKnownOptions(
        options,
        optionKeys<SimulateOptions & { world: SimWorld }>({
          policy: true,
          listeners: true,
          days: true,
          seed: true,
          sessionLength: true,
          historyWindow: true,
          recordListens: true,
          world: true,
        }),
        'simulate',
      );
    // `world` is there for the `simulate()` function; a different world here would be silently ignored.
    const given = (options as { world?: unknown } | undefined)?.world;
    if (given !== undefined && given !== this.world)
      throw new InvalidOptionError(
        'world',
        'the world this ListenerSimulator was made with, or no world (make a new ListenerSimulator for another)',
        given,
      );
    const policy = options?.policy;
    const sp: SimPolicy | undefined =
      policy && typeof (policy as Recommender).recommendBatch === 'function'
        ? { model: policy as Recommender }
        : policy && typeof (policy as SimPolicy).model?.recommendBatch === 'function'
          ? (policy as SimPolicy)
          : undefined;
    if (!sp)
      throw new InvalidOptionError('policy', 'a Recommender or { model: Recommender, rerank? }', policy);
    // A misspelt policy key (`rerankk`) would silently compare the plain model against itself.
    if (sp === policy)
      checkKnownOptions(
        sp,
        optionKeys<SimPolicy>({ model: true, rerank: true, candidates: true, excludeHistory: true }),
        'simulate policy',
        'policy.',
      );
    if (sp.rerank !== undefined && typeof sp.rerank !== 'function') {
      throw new InvalidOptionError('policy.rerank', 'a function (recs, ctx) => recs', sp.rerank);
    }
    const days = checkInt('days', options.days ?? 60, 1);
    const n = checkInt('listeners', options.listeners ?? this.world.listeners.length, 1);
    if (n > this.world.listeners.length) {
      throw new InvalidOptionError(
        'listeners',
        `at most the world's ${this.world.listeners.length} listeners`,
        n,
      );
    }
    const sessionLength = checkInt('sessionLength', options.sessionLength ?? 10, 1);
    const historyWindow = checkInt('historyWindow', options.historyWindow ?? 30, 1);
    const seed = options.seed ?? 0;
    if (typeof seed !== 'number' || !Number.isFinite(seed))
      throw new InvalidOptionError('seed', 'a finite number', seed);
    const catalogue = sp.model.vocabulary.size;
    const k = Math.min(
      catalogue,
      sp.rerank ? checkInt('policy.candidates', sp.candidates ?? 5 * sessionLength, 1) : sessionLength,
    );
    const excludeHistory = sp.excludeHistory ?? true;

    const listeners = this.world.listeners.slice(0, n);
    const engine = new Engine(
      this.world,
      listeners,
      hashSeed('sim-run', seed),
      sessionLength,
      this.world.startTime,
      options.recordListens ?? false,
      days,
    );
    engine.states.forEach((s, u) => {
      s.history = [...(this.initialHistory.get(listeners[u]!.userId) ?? [])];
    });
    for (let day = 0; day < days; day++) {
      const active = engine.drawActive(day);
      const histories = active.map((u) => {
        const h = engine.states[u]!.history;
        return h.slice(Math.max(0, h.length - historyWindow));
      });
      let recs = active.length > 0 ? await sp.model.recommendBatch(histories, { k, excludeHistory }) : [];
      if (sp.rerank) {
        const out: Recommendation[][] = [];
        for (let j = 0; j < active.length; j++) {
          const userId = listeners[active[j]!]!.userId;
          const list = await sp.rerank(recs[j]!, { userId, history: histories[j]!, day });
          if (!Array.isArray(list))
            throw new InvalidOptionError(
              'policy.rerank',
              'a function returning an array of recommendations',
              list,
            );
          out.push(list);
        }
        recs = out;
      }
      const lists = recs.map((list) =>
        list.map((rec) => {
          const i = this.trackIndex.get(rec.trackId);
          if (i === undefined) {
            throw new InvalidDataError(
              `The policy recommended ${JSON.stringify(rec.trackId)}, which is not in the simulated catalogue`,
              [
                {
                  column: 'trackId',
                  value: rec.trackId,
                  expected: "a track id of the simulator's world (train on world.listens)",
                },
              ],
            );
          }
          return i;
        }),
      );
      engine.playDay(day, active, lists);
    }
    const perListener = listeners.map((l, u) => {
      const trace = engine.traces[u]!;
      return { userId: l.userId, activeDays: trace.reduce((a, b) => a + b, 0), trace };
    });
    const lastWeek = Math.max(0, days - 7);
    let retainedSum = 0;
    for (const d of engine.daily.slice(lastWeek)) retainedSum += d.active / n;
    let plays = 0;
    let skips = 0;
    let divWeighted = 0;
    let activeDays = 0;
    for (const d of engine.daily) {
      const p = d.meanSessionLength * d.active;
      plays += p;
      skips += d.skipRate * p;
      divWeighted += d.diversity * d.active;
      activeDays += d.active;
    }
    const result: SimResult = {
      daily: engine.daily,
      meanActiveDays: activeDays / n,
      retention: retainedSum / (days - lastWeek),
      skipRate: plays ? skips / plays : 0,
      sessionLength: activeDays ? plays / activeDays : 0,
      diversity: activeDays ? divWeighted / activeDays : 0,
      day1CompletionRate: engine.daily[0]!.completionRate,
      perListener,
    };
    if (options.recordListens) result.listens = engine.listens;
    return result;
  }
}

/**
 * Each listener's initial history (track ids of the world's organic listens, oldest first), the histories the
 * simulation starts from.
 *
 * @example
 * ```ts
 * const h = initialHistories(world).get('L0'); // ['s12', 's40', ...]
 * ```
 */
export function initialHistories(world: SimWorld): Map<string, string[]> {
  const out = new Map<string, string[]>(world.listeners.map((l) => [l.userId, []]));
  const sorted = [...world.listens].sort((a, b) => a.timestamp - b.timestamp);
  for (const l of sorted) out.get(l.userId)?.push(l.trackId);
  return out;
}

/**
 * Convenience wrapper: `new ListenerSimulator(world).simulate(options)`.
 *
 * @example
 * ```ts
 * const r = await simulate({ world, policy: model, days: 60, seed: 1 });
 * ```
 */
export async function simulate(options: SimulateOptions & { world: SimWorld }): Promise<SimResult> {
  return new ListenerSimulator(options.world).simulate(options);
}
