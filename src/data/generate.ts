// Generated music world: a synthetic catalogue, listeners with tastes and moods, their listens, and the true next-track distributions.
import { checkKnownOptions, InvalidDataError, InvalidOptionError, optionKeys } from '../errors.js';
import { expectedAtK } from '../eval/expectation.js';
import { createRng, hashSeed, type Rng } from '../util/random.js';
import type { EvalCase, Listen, SkipLevel, Track } from './types.js';

/** Options of {@link generateWorld}. Defaults produce the shipped data set (~2,000 tracks, ~100k listens). */
export interface GenerateOptions {
  /** Seed of every random choice. Same seed, same world, byte for byte. Default 42. */
  seed?: number;
  /** Number of listeners. Default 500. */
  users?: number;
  /** Number of artists (at least `genres * stylesPerGenre`). Default 200. */
  artists?: number;
  /** Tracks per artist, in album order. Default 10. */
  tracksPerArtist?: number;
  /** Number of genres. Default 12. */
  genres?: number;
  /** Sub-styles per genre; a (genre, sub-style) pair is a cluster of artists. Default 3. */
  stylesPerGenre?: number;
  /** Days of listening. Default 60. */
  days?: number;
  /** Epoch ms of the first day (midnight UTC). Default `Date.UTC(2024, 0, 1)`. */
  start?: number;
  /** Mean listens per user before churn. Default 200. */
  meanListensPerUser?: number;
  /** Share of users who stop listening at some day. Default 0.25. */
  churnRate?: number;
  /** Share of churned users who come back after a gap. Default 0.3. */
  returnRate?: number;
  /** Exponent `s` of the Zipf popularity weight `rank^-s`. Default 1. */
  zipf?: number;
  /**
   * Which listens get a ground-truth next-track distribution: each user's last two (default), all, or
   * none (only the log is wanted, as `encore generate` writes it: the distributions are most of a world's
   * memory, and computing them most of its time).
   */
  truthFor?: 'last2' | 'all' | 'none';
  /** Keep the most likely tracks of each truth distribution until this much mass is covered. Default 0.999. */
  truthMass?: number;
}

/** The keys of {@link GenerateOptions}, checked so that a misspelt option is an error. */
const GENERATE_KEYS: Record<keyof GenerateOptions, true> = {
  seed: true,
  users: true,
  artists: true,
  tracksPerArtist: true,
  genres: true,
  stylesPerGenre: true,
  days: true,
  start: true,
  meanListensPerUser: true,
  churnRate: true,
  returnRate: true,
  zipf: true,
  truthFor: true,
  truthMass: true,
};

/** A generated listener: hidden taste and activity parameters, exposed so tests and examples can use them. */
export interface GeneratedUser {
  userId: string;
  /** Probability of each genre (same order as {@link GeneratedWorld.genres}); sums to 1. */
  taste: number[];
  /** The 2-4 genres the listener mostly plays, most liked first. */
  favouriteGenres: string[];
  /** Artists boosted in this listener's pools. */
  favouriteArtists: string[];
  /** The listener's heavy rotation, most played first. */
  favouriteTracks: string[];
  /** Probability of listening on a given day (before churn). */
  activity: number;
  /** First day (0-based) the listener is active. */
  joinDay: number;
  /** Day from which the listener stops (absent when they never churn). */
  churnDay?: number;
  /** Day the listener comes back after churning (absent when they don't). */
  returnDay?: number;
  /** Per-user skip tendency added to the skip logit (positive = skips more). */
  skipBias: number;
}

/** The true next-track distribution the generator used for one listen (before the skip decision). */
export interface TruthStep {
  userId: string;
  /** 0-based position of the listen in the user's time-ordered listens. */
  index: number;
  /** The track actually played. */
  trackId: string;
  /** Whether the listen opened a new session. */
  sessionStart: boolean;
  /** Tracks, most likely first, covering at least `truthMass` of the probability. */
  tracks: string[];
  /** Probability of each of `tracks` (not renormalised after truncation). */
  probs: number[];
  /**
   * What an observer of the log can know: the next-track distribution of an exact Bayesian filter that
   * knows the generator and this listener's profile (taste, favourites, favourite artists) but infers the
   * hidden mood from the listening so far (tracks, skip levels, session starts, and the context each listen
   * was played in, which a mood keeps while it lasts; until 2026-11-27 the filter ignored the context and
   * the ceiling was about 1.7% too low). Same truncation as
   * `tracks` / `probs`. No model of the history can beat it on average (up to about 3e-5 of HR@10: the
   * filter uses a listen's skip level to set the chance the mood switches, not as evidence of which mood
   * it was, which a review measured at that much), so it is the fair ceiling.
   */
  filtered: { tracks: string[]; probs: number[] };
}

/** Ground-truth next-track distributions for the listens chosen by `truthFor`. */
export interface GroundTruth {
  truthFor: 'last2' | 'all' | 'none';
  /** Probability mass each step's distribution covers at least. */
  mass: number;
  /** Steps in user order, each user's in time order. */
  steps: TruthStep[];
}

/** Everything {@link generateWorld} returns. */
export interface GeneratedWorld {
  tracks: Track[];
  /** All listens sorted by timestamp (ties: user order). Each user's listens are strictly increasing in time. */
  listens: Listen[];
  users: GeneratedUser[];
  /** Genre names, indexed like {@link GeneratedUser.taste}. */
  genres: string[];
  truth: GroundTruth;
}

const GENRE_NAMES = [
  'pop',
  'rock',
  'hip-hop',
  'electronic',
  'indie',
  'r&b',
  'jazz',
  'classical',
  'metal',
  'folk',
  'latin',
  'country',
  'reggae',
  'blues',
  'punk',
  'soul',
  'ambient',
  'k-pop',
];
const ADJECTIVES = [
  'Silver',
  'Broken',
  'Golden',
  'Quiet',
  'Electric',
  'Velvet',
  'Midnight',
  'Paper',
  'Neon',
  'Hollow',
  'Crimson',
  'Wild',
  'Frozen',
  'Lucky',
  'Northern',
  'Secret',
  'Distant',
  'Gentle',
  'Restless',
  'Burning',
];
const NOUNS = [
  'Heart',
  'River',
  'Summer',
  'Light',
  'Echo',
  'Road',
  'Dream',
  'Fire',
  'Ocean',
  'Garden',
  'Signal',
  'Shadow',
  'Morning',
  'Mirror',
  'Storm',
  'Window',
  'Horizon',
  'Letter',
  'Engine',
  'Season',
];
const SYLLABLES = [
  'ka',
  'lo',
  'mi',
  're',
  'sa',
  'ton',
  'vi',
  'da',
  'nel',
  'ra',
  'zu',
  'fen',
  'or',
  'li',
  'mar',
];

type Mode = 0 | 1 | 2 | 3; // album, artist, mix, favourites
const MODE_PROB = [0.2, 0.15, 0.45, 0.2];
/**
 * The context a mood's listens carry, by mode, with its probability: drawn once when the mood starts and
 * kept while it lasts, so the log's `context` tells the observer something about the hidden mood.
 */
const CONTEXT_BY_MODE: readonly (readonly (readonly [string, number])[])[] = [
  [['album', 1]],
  [
    ['search', 0.5],
    ['album', 0.5],
  ],
  [
    ['playlist', 0.55],
    ['radio', 0.45],
  ],
  [
    ['playlist', 0.8],
    ['search', 0.2],
  ],
];

/** P(context | mode) of {@link CONTEXT_BY_MODE}. */
function contextProb(mode: number, context: string): number {
  return CONTEXT_BY_MODE[mode]!.find(([c]) => c === context)?.[1] ?? 0;
}
/** Branch weights [albumNext, sameArtist, favourites, pool] per mode. */
const BRANCH: readonly (readonly number[])[] = [
  [0.7, 0.1, 0.05, 0.15],
  [0.15, 0.55, 0.05, 0.25],
  [0.05, 0.07, 0.08, 0.8],
  [0.03, 0.05, 0.6, 0.32],
];
/** Chance the first track of a mood is a favourite, per mode. */
const START_FAV = [0.05, 0.1, 0.1, 0.6];
/** Chance the first track of a mood is an album opener, per mode (else a pool track). */
const START_OPENER = [0.5, 0, 0, 0];
/** Share of the mood pool taken from the primary cluster. */
const PRIMARY_SHARE = 0.6;
/** Chance the secondary cluster is another sub-style of the primary's genre. */
const SAME_GENRE_SECONDARY = 0.6;
/** Per-track mood switch probability, by the previous listen's skip level. */
const SWITCH_PROB = [0.12, 0.35, 0.22, 0.18];
/** Popularity exponent inside pools (weights are `pop^POOL_BETA`). */
const POOL_BETA = 1;
/** Weight floor inside pools, as a share of the cluster's mean weight. */
const POOL_FLOOR = 0.4;
const FAV_ARTIST_BOOST = 3;
const DAY_MS = 86_400_000;

interface Sparse {
  idx: number[];
  p: number[];
}

interface Catalogue {
  n: number;
  clusters: number;
  trackArtist: Int32Array;
  trackCluster: Int32Array;
  trackGenre: Int32Array;
  /** Next track of the same artist in album order, or -1. */
  nextInAlbum: Int32Array;
  duration: Float64Array;
  pop: Float64Array;
  artistTracks: number[][];
  artistCluster: Int32Array;
  clusterArtists: number[][];
  clusterTracks: number[][];
  /** Per artist: tracks weighted by popularity. */
  artistDist: Sparse[];
  genrePop: number[];
}

interface Options {
  seed: number;
  users: number;
  artists: number;
  tracksPerArtist: number;
  genres: number;
  stylesPerGenre: number;
  days: number;
  start: number;
  meanListensPerUser: number;
  churnRate: number;
  returnRate: number;
  zipf: number;
  truthFor: 'last2' | 'all' | 'none';
  truthMass: number;
}

function intOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function numOption(name: string, value: unknown, min: number, max: number, open = false): number {
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    value < min ||
    value > max ||
    (open && value === min)
  ) {
    throw new InvalidOptionError(
      name,
      `a number ${open ? 'above' : 'from'} ${min}${open ? ' and at most' : ' to'} ${max}`,
      value,
    );
  }
  return value;
}

function resolveOptions(o: GenerateOptions): Options {
  if (o === null || typeof o !== 'object') throw new InvalidOptionError('options', 'an object', o);
  checkKnownOptions(o, Object.keys(GENERATE_KEYS), 'generateWorld');
  const genres = intOption('genres', o.genres ?? 12, 1, 1000);
  const stylesPerGenre = intOption('stylesPerGenre', o.stylesPerGenre ?? 3, 1, 100);
  const artists = intOption('artists', o.artists ?? 200, 1, 100_000);
  if (artists < genres * stylesPerGenre) {
    throw new InvalidOptionError(
      'artists',
      `at least genres * stylesPerGenre (${genres * stylesPerGenre})`,
      artists,
      'Every (genre, sub-style) cluster needs an artist; lower `genres` or `stylesPerGenre`',
    );
  }
  const truthFor = o.truthFor ?? 'last2';
  if (truthFor !== 'last2' && truthFor !== 'all' && truthFor !== 'none')
    throw new InvalidOptionError('truthFor', '"last2", "all" or "none"', truthFor);
  return {
    seed: intOption('seed', o.seed ?? 42, 0, 0xffffffff),
    users: intOption('users', o.users ?? 500, 1, 1_000_000),
    artists,
    tracksPerArtist: intOption('tracksPerArtist', o.tracksPerArtist ?? 10, 2, 1000),
    genres,
    stylesPerGenre,
    days: intOption('days', o.days ?? 60, 1, 3650),
    start: numOption('start', o.start ?? Date.UTC(2024, 0, 1), 0, 8.64e15),
    meanListensPerUser: numOption('meanListensPerUser', o.meanListensPerUser ?? 200, 1, 100_000),
    churnRate: numOption('churnRate', o.churnRate ?? 0.25, 0, 1),
    returnRate: numOption('returnRate', o.returnRate ?? 0.3, 0, 1),
    zipf: numOption('zipf', o.zipf ?? 1, 0, 5),
    truthFor,
    truthMass: numOption('truthMass', o.truthMass ?? 0.999, 0, 1, true),
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function normalise(w: number[]): number[] {
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

/** Gamma(shape >= 1 or < 1) sample (Marsaglia-Tsang), for Dirichlet weights. */
function gamma(rng: Rng, shape: number): number {
  if (shape < 1) return gamma(rng, shape + 1) * rng.next() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const v = (1 + c * x) ** 3;
    if (v <= 0) continue;
    const u = rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

function sampleSparse(rng: Rng, d: Sparse): number {
  return d.idx[rng.weighted(d.p)]!;
}

function buildCatalogue(opt: Options, rng: Rng): { cat: Catalogue; tracks: Track[]; genres: string[] } {
  const G = opt.genres;
  const S = opt.stylesPerGenre;
  const C = G * S;
  const A = opt.artists;
  const T = opt.tracksPerArtist;
  const n = A * T;
  const genres = Array.from({ length: G }, (_, g) =>
    g < GENRE_NAMES.length
      ? GENRE_NAMES[g]!
      : `${GENRE_NAMES[g % GENRE_NAMES.length]!}-${Math.floor(g / GENRE_NAMES.length) + 1}`,
  );
  const genrePop = normalise(genres.map((_, g) => (g + 1) ** -0.7));
  // Artists: one per cluster first, the rest by genre popularity and uniform sub-style.
  const artistCluster = new Int32Array(A);
  for (let a = 0; a < A; a++) {
    artistCluster[a] = a < C ? a : rng.weighted(genrePop) * S + rng.int(S);
  }
  rng.shuffle(Array.from(artistCluster)).forEach((c, i) => {
    artistCluster[i] = c;
  });
  // Popularity: artist Zipf weight times a within-artist weight, then re-ranked to an exact Zipf curve.
  const artistRank = rng.shuffle(Array.from({ length: A }, (_, i) => i + 1));
  const raw = new Float64Array(n);
  for (let a = 0; a < A; a++) {
    const within = rng.shuffle(Array.from({ length: T }, (_, j) => (j + 1) ** -0.9));
    for (let j = 0; j < T; j++)
      raw[a * T + j] = artistRank[a]! ** -1 * within[j]! * Math.exp(0.3 * rng.normal());
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => raw[y]! - raw[x]! || x - y);
  const pop = new Float64Array(n);
  order.forEach((i, r) => {
    pop[i] = (r + 1) ** -opt.zipf;
  });

  const trackArtist = new Int32Array(n);
  const trackCluster = new Int32Array(n);
  const trackGenre = new Int32Array(n);
  const nextInAlbum = new Int32Array(n);
  const duration = new Float64Array(n);
  const artistTracks: number[][] = [];
  const clusterArtists: number[][] = Array.from({ length: C }, () => []);
  const clusterTracks: number[][] = Array.from({ length: C }, () => []);
  const artistDist: Sparse[] = [];
  const clusterFeatures = Array.from({ length: C }, () =>
    Array.from({ length: 4 }, () => 0.15 + 0.7 * rng.next()),
  );
  const tracks: Track[] = [];
  const idWidth = String(n).length;
  const artistWidth = String(A).length;
  for (let a = 0; a < A; a++) {
    const c = artistCluster[a]!;
    const g = Math.floor(c / S);
    clusterArtists[c]!.push(a);
    const name =
      rng.next() < 0.4
        ? `The ${rng.choice(ADJECTIVES)} ${rng.choice(NOUNS)}s`
        : Array.from({ length: 2 + rng.int(2) }, () => rng.choice(SYLLABLES))
            .join('')
            .replace(/^./, (s) => s.toUpperCase());
    const artistId = `a${pad(a + 1, artistWidth)}`;
    const meanDur = genres[g] === 'classical' ? 330_000 : genres[g] === 'jazz' ? 290_000 : 215_000;
    const list: number[] = [];
    for (let j = 0; j < T; j++) {
      const i = a * T + j;
      list.push(i);
      clusterTracks[c]!.push(i);
      trackArtist[i] = a;
      trackCluster[i] = c;
      trackGenre[i] = g;
      nextInAlbum[i] = j + 1 < T ? i + 1 : -1;
      const dur = Math.round(Math.min(600_000, Math.max(95_000, meanDur * Math.exp(0.22 * rng.normal()))));
      duration[i] = dur;
      const features = clusterFeatures[c]!.map(
        (f) => Math.round(Math.min(1, Math.max(0, f + 0.1 * rng.normal())) * 1000) / 1000,
      );
      tracks.push({
        trackId: `t${pad(i + 1, idWidth)}`,
        title: `${rng.choice(ADJECTIVES)} ${rng.choice(NOUNS)}`,
        artistId,
        artist: name,
        genre: genres[g]!,
        durationMs: dur,
        features,
      });
    }
    artistTracks.push(list);
    artistDist.push({ idx: list, p: normalise(list.map((i) => pop[i]! ** POOL_BETA)) });
  }
  return {
    cat: {
      n,
      clusters: C,
      trackArtist,
      trackCluster,
      trackGenre,
      nextInAlbum,
      duration,
      pop,
      artistTracks,
      artistCluster,
      clusterArtists,
      clusterTracks,
      artistDist,
      genrePop,
    },
    tracks,
    genres,
  };
}

interface Mood {
  a: number;
  b: number;
  mode: Mode;
  context: string;
}

/** Per-user hidden state used to sample and to reconstruct the true distributions. */
class Listener {
  readonly clusterProb: number[];
  readonly fav: Sparse;
  readonly favArtists: Set<number>;
  private readonly pools = new Map<number, Sparse>();
  private readonly openers = new Map<number, Sparse>();
  private startDense: Float64Array | undefined;

  constructor(
    private readonly cat: Catalogue,
    readonly taste: number[],
    styles: number[][],
    favArtists: number[],
    favTracks: number[],
  ) {
    const S = styles[0]!.length;
    this.clusterProb = Array.from(
      { length: cat.clusters },
      (_, c) => taste[Math.floor(c / S)]! * styles[Math.floor(c / S)]![c % S]!,
    );
    this.favArtists = new Set(favArtists);
    this.fav = { idx: favTracks, p: normalise(favTracks.map((_, r) => (r + 1) ** -0.8)) };
  }

  pool(c: number): Sparse {
    let d = this.pools.get(c);
    if (!d) {
      const idx = this.cat.clusterTracks[c]!;
      // A floor of POOL_FLOOR times the mean weight keeps every track discoverable.
      const floor =
        (POOL_FLOOR * idx.reduce((sum, i) => sum + this.cat.pop[i]! ** POOL_BETA, 0)) / idx.length;
      d = {
        idx,
        p: normalise(
          idx.map(
            (i) =>
              (this.cat.pop[i]! ** POOL_BETA + floor) *
              (this.favArtists.has(this.cat.trackArtist[i]!) ? FAV_ARTIST_BOOST : 1),
          ),
        ),
      };
      this.pools.set(c, d);
    }
    return d;
  }

  /** First tracks of the cluster's artists, weighted by each artist's share of the pool. */
  opener(c: number): Sparse {
    let d = this.openers.get(c);
    if (!d) {
      const pool = this.pool(c);
      const byArtist = new Map<number, number>();
      pool.idx.forEach((i, k) => {
        const a = this.cat.trackArtist[i]!;
        byArtist.set(a, (byArtist.get(a) ?? 0) + pool.p[k]!);
      });
      d = { idx: [...byArtist.keys()].map((a) => this.cat.artistTracks[a]![0]!), p: [...byArtist.values()] };
      this.openers.set(c, d);
    }
    return d;
  }

  sampleMood(rng: Rng, S: number): Mood {
    const a = rng.weighted(this.clusterProb);
    let b: number;
    if (S > 1 && rng.next() < SAME_GENRE_SECONDARY) {
      const g = Math.floor(a / S);
      b = g * S + (((a % S) + 1 + rng.int(S - 1)) % S);
    } else {
      do b = rng.weighted(this.clusterProb);
      while (b === a && this.cat.clusters > 1 && this.clusterProb[a]! < 0.999);
    }
    const mode = rng.weighted(MODE_PROB) as Mode;
    const u = rng.next();
    // The first context whose cumulative probability exceeds u (the last one catches rounding).
    const options = CONTEXT_BY_MODE[mode]!;
    let cum = 0;
    let context = options[options.length - 1]![0];
    for (const [c, p] of options) {
      cum += p;
      if (u < cum) {
        context = c;
        break;
      }
    }
    return { a, b, mode, context };
  }

  sampleStart(rng: Rng, mood: Mood): number {
    const u = rng.next();
    const f = START_FAV[mood.mode]!;
    if (u < f) return sampleSparse(rng, this.fav);
    if (u < f + (1 - f) * START_OPENER[mood.mode]!) return sampleSparse(rng, this.opener(mood.a));
    return sampleSparse(rng, this.pool(mood.a));
  }

  sampleContinue(rng: Rng, mood: Mood, prev: number): number {
    const br = BRANCH[mood.mode]!;
    const next = this.cat.nextInAlbum[prev]!;
    const weights = [next >= 0 ? br[0]! : 0, br[1]!, br[2]!, br[3]! + (next >= 0 ? 0 : br[0]!)];
    switch (rng.weighted(weights)) {
      case 0:
        return next;
      case 1:
        return sampleSparse(rng, this.cat.artistDist[this.cat.trackArtist[prev]!]!);
      case 2:
        return sampleSparse(rng, this.fav);
      default:
        return sampleSparse(rng, this.pool(rng.next() < PRIMARY_SHARE ? mood.a : mood.b));
    }
  }

  /** Marginal distribution of a new mood's first track (dense over the catalogue). */
  start(): Float64Array {
    if (this.startDense) return this.startDense;
    const d = new Float64Array(this.cat.n);
    let fav = 0;
    let open = 0;
    let pool = 0;
    MODE_PROB.forEach((pm, m) => {
      fav += pm * START_FAV[m]!;
      open += pm * (1 - START_FAV[m]!) * START_OPENER[m]!;
      pool += pm * (1 - START_FAV[m]!) * (1 - START_OPENER[m]!);
    });
    addSparse(d, this.fav, fav);
    this.clusterProb.forEach((pc, c) => {
      if (pc === 0) return;
      if (open > 0) addSparse(d, this.opener(c), pc * open);
      addSparse(d, this.pool(c), pc * pool);
    });
    this.startDense = d;
    return d;
  }

  /** The full next-track distribution the sampler uses for a step (dense, prev excluded, normalised). */
  distribution(step: StepState): Float64Array {
    const d = new Float64Array(this.cat.n);
    const start = this.start();
    const ps = step.mood ? step.switchProb : 1;
    for (let i = 0; i < d.length; i++) d[i] = ps * start[i]!;
    if (step.mood && step.prev >= 0) {
      const cont = 1 - ps;
      const br = BRANCH[step.mood.mode]!;
      const next = this.cat.nextInAlbum[step.prev]!;
      if (next >= 0) d[next] = d[next]! + cont * br[0]!;
      addSparse(d, this.cat.artistDist[this.cat.trackArtist[step.prev]!]!, cont * br[1]!);
      addSparse(d, this.fav, cont * br[2]!);
      const poolMass = cont * (br[3]! + (next >= 0 ? 0 : br[0]!));
      addSparse(d, this.pool(step.mood.a), poolMass * PRIMARY_SHARE);
      addSparse(d, this.pool(step.mood.b), poolMass * (1 - PRIMARY_SHARE));
    }
    if (step.prev >= 0) d[step.prev] = 0;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]!;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! / s;
    return d;
  }
}

/**
 * Exact Bayesian filter over a listener's hidden mood, for an observer who knows the generator and the
 * listener's profile (taste, favourites, favourite artists) but not the mood: it sees only what a log holds
 * (the tracks, each listen's skip level, which sets the switch probability, and where sessions start). Its
 * predictive distribution is the best any model of the listening history can do, so it is the honest
 * ceiling; the sampler's own distribution additionally knows the mood.
 *
 * The recursion, per step with switch probability `ps` and previous track `prev` (a state's emission is
 * renormalised by `Z(m) = 1 - P(prev | m)`, because the sampler redraws `prev`):
 * `alpha'(m') ∝ ps * prior(m') * start(x | m') * sum_m alpha(m) / Z(m) + (1 - ps) * alpha(m') * cont(x | m', prev) / Z(m')`.
 */
class MoodFilter {
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private readonly mode: Uint8Array;
  private readonly prior: Float64Array;
  private readonly alpha: Float64Array;
  /** Per-state scratch: `alpha(m) / Z(m)` for the current step. */
  private readonly scaled: Float64Array;
  private readonly favProb: Map<number, number>;
  private started = false;
  /** The context of the last observed listen (a continuing mood keeps it). */
  private lastContext: string | undefined;

  constructor(
    private readonly listener: Listener,
    private readonly cat: Catalogue,
    stylesPerGenre: number,
  ) {
    const C = cat.clusters;
    const S = stylesPerGenre;
    const cp = listener.clusterProb;
    const a: number[] = [];
    const b: number[] = [];
    const mode: number[] = [];
    const prior: number[] = [];
    for (let x = 0; x < C; x++) {
      if (cp[x]! <= 0) continue;
      // P(b | a), as Listener.sampleMood draws it: a sibling sub-style, else a rejection draw from the taste.
      const rejects = C > 1 && cp[x]! < 0.999;
      for (let y = 0; y < C; y++) {
        let pb = 0;
        if (S > 1 && Math.floor(y / S) === Math.floor(x / S) && y !== x) pb += SAME_GENRE_SECONDARY / (S - 1);
        const rest = S > 1 ? 1 - SAME_GENRE_SECONDARY : 1;
        if (!rejects) pb += rest * cp[y]!;
        else if (y !== x) pb += (rest * cp[y]!) / (1 - cp[x]!);
        if (pb <= 0) continue;
        for (let m = 0; m < MODE_PROB.length; m++) {
          a.push(x);
          b.push(y);
          mode.push(m);
          prior.push(cp[x]! * pb * MODE_PROB[m]!);
        }
      }
    }
    this.a = Int32Array.from(a);
    this.b = Int32Array.from(b);
    this.mode = Uint8Array.from(mode);
    this.prior = Float64Array.from(prior);
    this.alpha = new Float64Array(prior.length);
    this.scaled = new Float64Array(prior.length);
    this.favProb = new Map(listener.fav.idx.map((i, k) => [i, listener.fav.p[k]!]));
  }

  /** `P(x)` of a sparse distribution (0 when absent). */
  private static at(d: Sparse, x: number): number {
    const k = d.idx.indexOf(x);
    return k < 0 ? 0 : d.p[k]!;
  }

  /**
   * The state-independent parts of x's emissions after prev: per mode, a new mood's first track is
   * `startBase[m] + [a = cluster(x)] * startOwn[m]`, and a continuing mood's next track is
   * `contBase[m] + share(a, b) * contPool[m]`, with share = 0.6 [a = cluster(x)] + 0.4 [b = cluster(x)].
   */
  private parts(x: number, prev: number): EmissionParts {
    const c = this.cat.trackCluster[x]!;
    const fav = this.favProb.get(x) ?? 0;
    const pool = MoodFilter.at(this.listener.pool(c), x);
    const opener = MoodFilter.at(this.listener.opener(c), x);
    const next = prev >= 0 ? this.cat.nextInAlbum[prev]! : -1;
    const artist =
      prev >= 0 && this.cat.trackArtist[x] === this.cat.trackArtist[prev]
        ? MoodFilter.at(this.cat.artistDist[this.cat.trackArtist[prev]!]!, x)
        : 0;
    const M = MODE_PROB.length;
    const out: EmissionParts = {
      cluster: c,
      startBase: new Float64Array(M),
      startOwn: new Float64Array(M),
      contBase: new Float64Array(M),
      contPool: new Float64Array(M),
    };
    for (let m = 0; m < M; m++) {
      const f = START_FAV[m]!;
      const o = START_OPENER[m]!;
      out.startBase[m] = f * fav;
      out.startOwn[m] = (1 - f) * (o * opener + (1 - o) * pool);
      const br = BRANCH[m]!;
      out.contBase[m] = br[2]! * fav + (x === next ? br[0]! : 0) + br[1]! * artist;
      out.contPool[m] = (br[3]! + (next >= 0 ? 0 : br[0]!)) * pool;
    }
    return out;
  }

  private startEmission(e: EmissionParts, s: number): number {
    const m = this.mode[s]!;
    return e.startBase[m]! + (this.a[s] === e.cluster ? e.startOwn[m]! : 0);
  }

  private contEmission(e: EmissionParts, s: number): number {
    const m = this.mode[s]!;
    const share =
      (this.a[s] === e.cluster ? PRIMARY_SHARE : 0) + (this.b[s] === e.cluster ? 1 - PRIMARY_SHARE : 0);
    return e.contBase[m]! + share * e.contPool[m]!;
  }

  /** Fills `scaled` with alpha(m) / Z(m) for a continuing step; returns their sum. */
  private scale(step: StepState): number {
    const ps = step.switchProb;
    const startPrev = this.listener.start()[step.prev]!;
    const self = this.parts(step.prev, step.prev);
    let sum = 0;
    for (let s = 0; s < this.alpha.length; s++) {
      if (this.alpha[s] === 0) {
        this.scaled[s] = 0;
        continue;
      }
      const z = 1 - ps * startPrev - (1 - ps) * this.contEmission(self, s);
      this.scaled[s] = this.alpha[s]! / Math.max(z, 1e-12);
      sum += this.scaled[s]!;
    }
    return sum;
  }

  /**
   * The observer's next-track distribution before a step (dense, prev excluded, normalised). At a session
   * start the mood is new for everyone, so this equals the sampler's distribution.
   */
  predictive(step: StepState): Float64Array {
    const startD = this.listener.start();
    const d = new Float64Array(this.cat.n);
    if (!this.started || step.mood === undefined || step.prev < 0) {
      d.set(startD);
    } else {
      const ps = step.switchProb;
      const total = this.scale(step);
      for (let i = 0; i < d.length; i++) d[i] = ps * total * startD[i]!;
      const next = this.cat.nextInAlbum[step.prev]!;
      const byMode = new Float64Array(MODE_PROB.length);
      const byCluster = new Float64Array(this.cat.clusters);
      for (let s = 0; s < this.scaled.length; s++) {
        const w = this.scaled[s]!;
        if (w === 0) continue;
        const m = this.mode[s]!;
        byMode[m] = byMode[m]! + w;
        const br = BRANCH[m]!;
        const poolMass = br[3]! + (next >= 0 ? 0 : br[0]!);
        byCluster[this.a[s]!] = byCluster[this.a[s]!]! + w * poolMass * PRIMARY_SHARE;
        byCluster[this.b[s]!] = byCluster[this.b[s]!]! + w * poolMass * (1 - PRIMARY_SHARE);
      }
      const cont = 1 - ps;
      byMode.forEach((w, m) => {
        if (w === 0) return;
        const br = BRANCH[m]!;
        if (next >= 0) d[next] = d[next]! + cont * w * br[0]!;
        addSparse(d, this.cat.artistDist[this.cat.trackArtist[step.prev]!]!, cont * w * br[1]!);
        addSparse(d, this.listener.fav, cont * w * br[2]!);
      });
      byCluster.forEach((w, c) => {
        if (w > 0) addSparse(d, this.listener.pool(c), cont * w);
      });
    }
    if (step.prev >= 0) d[step.prev] = 0;
    let s = 0;
    for (let i = 0; i < d.length; i++) s += d[i]!;
    for (let i = 0; i < d.length; i++) d[i] = d[i]! / s;
    return d;
  }

  /**
   * Conditions the mood posterior on the track played at this step and, when given, the context it was
   * played in: a fresh mood draws its context by mode ({@link CONTEXT_BY_MODE}), a continuing one keeps it.
   */
  observe(step: StepState, x: number, context?: string): void {
    const n = this.alpha.length;
    const e = this.parts(x, step.prev);
    const freshContext = (s: number) => (context === undefined ? 1 : contextProb(this.mode[s]!, context));
    if (!this.started || step.mood === undefined || step.prev < 0) {
      for (let s = 0; s < n; s++) this.alpha[s] = this.prior[s]! * this.startEmission(e, s) * freshContext(s);
    } else {
      const ps = step.switchProb;
      const total = this.scale(step);
      const keptContext = context === undefined || context === this.lastContext ? 1 : 0;
      for (let s = 0; s < n; s++) {
        const fresh = ps * this.prior[s]! * this.startEmission(e, s) * total * freshContext(s);
        const kept =
          this.scaled[s]! > 0 ? (1 - ps) * this.scaled[s]! * this.contEmission(e, s) * keptContext : 0;
        this.alpha[s] = fresh + kept;
      }
    }
    this.lastContext = context;
    let sum = 0;
    for (let s = 0; s < n; s++) sum += this.alpha[s]!;
    if (!(sum > 0)) {
      // Cannot happen for a sampled track; falls back to the prior so the filter stays defined.
      this.alpha.set(this.prior);
      sum = this.prior.reduce((t, v) => t + v, 0);
    }
    for (let s = 0; s < n; s++) this.alpha[s] = this.alpha[s]! / sum;
    this.started = true;
  }
}

interface EmissionParts {
  cluster: number;
  startBase: Float64Array;
  startOwn: Float64Array;
  contBase: Float64Array;
  contPool: Float64Array;
}

function addSparse(d: Float64Array, s: Sparse, w: number): void {
  for (let k = 0; k < s.idx.length; k++) {
    const i = s.idx[k]!;
    d[i] = d[i]! + w * s.p[k]!;
  }
}

interface StepState {
  /** Mood in force before the step; undefined at a session start. */
  mood: Mood | undefined;
  prev: number;
  switchProb: number;
}

function makeListener(
  opt: Options,
  cat: Catalogue,
  genres: string[],
  tracks: Track[],
  userId: string,
  rng: Rng,
): { listener: Listener; user: GeneratedUser } {
  const G = opt.genres;
  const S = opt.stylesPerGenre;
  // Taste: a sparse Dirichlet-like mixture over 2-4 favourite genres plus a little of everything.
  const nFav = Math.min(G, 2 + rng.int(3));
  const favGenres: number[] = [];
  const gp = [...cat.genrePop];
  while (favGenres.length < nFav) {
    const g = rng.weighted(gp);
    favGenres.push(g);
    gp[g] = 0;
  }
  const favW = normalise(favGenres.map(() => gamma(rng, 1.2)));
  const order = favGenres.map((g, k) => ({ g, w: favW[k]! })).sort((x, y) => y.w - x.w || x.g - y.g);
  const taste = Array.from({ length: G }, () => 0.07 / G);
  for (const { g, w } of order) taste[g] = taste[g]! + 0.93 * w;
  const styles = Array.from({ length: G }, () =>
    normalise(Array.from({ length: S }, () => 0.3 + gamma(rng, 1))),
  );
  const clusterOf = (c: number) => taste[Math.floor(c / S)]! * styles[Math.floor(c / S)]![c % S]!;
  // Favourite artists from the favourite genres, weighted by cluster preference and artist popularity.
  const artistW = cat.artistTracks.map((list, a) => {
    const c = cat.artistCluster[a]!;
    return favGenres.includes(Math.floor(c / S))
      ? clusterOf(c) * list.reduce((s, i) => s + cat.pop[i]! ** 0.5, 0)
      : 0;
  });
  const favArtists: number[] = [];
  const nArt = 3 + rng.int(6);
  for (let k = 0; k < nArt && artistW.some((w) => w > 0); k++) {
    const a = rng.weighted(artistW);
    favArtists.push(a);
    artistW[a] = 0;
  }
  // Heavy rotation: tracks from the taste, weighted by sqrt popularity (favourites are not only the hits).
  const trackW = Array.from(
    { length: cat.n },
    (_, i) =>
      clusterOf(cat.trackCluster[i]!) ** 1.5 *
      cat.pop[i]! ** 0.5 *
      (favArtists.includes(cat.trackArtist[i]!) ? 3 : 1),
  );
  const favTracks: number[] = [];
  const nTracks = 10 + rng.int(21);
  for (let k = 0; k < nTracks; k++) {
    const i = rng.weighted(trackW);
    favTracks.push(i);
    trackW[i] = 0;
  }
  const listener = new Listener(cat, taste, styles, favArtists, favTracks);
  const joinDay = rng.next() < 0.7 ? 0 : rng.int(Math.max(1, Math.floor(opt.days / 3)));
  // Target listens ~ lognormal around the mean; activity follows from the expected listens per active day.
  const target = opt.meanListensPerUser * Math.exp(0.6 * rng.normal() - 0.18);
  const perDay = 1.6 * 13.5;
  const activity = Math.min(0.95, Math.max(0.02, target / (perDay * Math.max(1, opt.days - joinDay))));
  const user: GeneratedUser = {
    userId,
    taste: taste.map((x) => Math.round(x * 1e6) / 1e6),
    favouriteGenres: order.map(({ g }) => genres[g]!),
    favouriteArtists: favArtists.map((a) => tracks[cat.artistTracks[a]![0]!]!.artistId),
    favouriteTracks: favTracks.map((i) => tracks[i]!.trackId),
    activity: Math.round(activity * 1e4) / 1e4,
    joinDay,
    skipBias: Math.round(0.5 * rng.normal() * 1000) / 1000,
  };
  if (rng.next() < opt.churnRate && opt.days - joinDay > 14) {
    user.churnDay = joinDay + 7 + rng.int(opt.days - joinDay - 13);
    if (rng.next() < opt.returnRate) {
      const back = user.churnDay + 5 + rng.int(16);
      if (back < opt.days) user.returnDay = back;
    }
  }
  return { listener, user };
}

/**
 * Generates a synthetic music-listening world: a Zipf-popular catalogue of artists in genre
 * sub-style clusters, listeners with sparse genre tastes, favourite artists and heavy rotations, who
 * listen on some days in sessions of 5-35 tracks driven by hidden moods (a pair of clusters plus a
 * pattern: album order, artist run, mix or favourites) that last a geometric number of tracks.
 * Skips depend on taste fit and satiation; some listeners churn and some come back. The true
 * next-track distributions the sampler used are returned in `truth`.
 *
 * Deterministic: the same options give the same world, byte for byte.
 *
 * @throws {InvalidOptionError} when an option is out of range.
 * @example
 * ```ts
 * const world = generateWorld({ seed: 7, users: 50 });
 * console.log(world.tracks.length, world.listens.length);
 * const ds = Dataset.fromListens(world.listens);
 * ```
 */
export function generateWorld(options: GenerateOptions = {}): GeneratedWorld {
  const opt = resolveOptions(options);
  const world = catalogueOf(opt);
  const { cat, tracks, genres, ids } = world;
  const users: GeneratedUser[] = [];
  const perUser: Listen[][] = [];
  const steps: TruthStep[] = [];
  for (const { userId, listener, user, listens, states, played } of simulatedUsers(opt, world)) {
    users.push(user);
    perUser.push(listens);
    const chosen = new Set(
      opt.truthFor === 'all'
        ? listens.map((_, i) => i)
        : opt.truthFor === 'none'
          ? []
          : [listens.length - 2, listens.length - 1].filter((i) => i >= 0),
    );
    // The filter consumes no randomness: the listens are the same with or without it. A session start
    // draws a fresh mood, so filtering from the session of the first chosen step loses nothing.
    const filter = new MoodFilter(listener, cat, opt.stylesPerGenre);
    for (let i = sessionStartOf(states, Math.min(...chosen, listens.length)); i < listens.length; i++) {
      const state = states[i]!;
      if (chosen.has(i)) {
        const d = listener.distribution(state);
        steps.push({
          userId,
          index: i,
          trackId: listens[i]!.trackId,
          sessionStart: state.mood === undefined,
          ...topMass(d, ids, opt.truthMass),
          filtered: topMass(filter.predictive(state), ids, opt.truthMass),
        });
      }
      filter.observe(state, played[i]!, listens[i]!.context);
    }
  }
  // Global time order; ties keep user order (stable sort), so each user's order is preserved.
  const listens = perUser.flat().sort((x, y) => x.timestamp - y.timestamp);
  return { tracks, listens, users, genres, truth: { truthFor: opt.truthFor, mass: opt.truthMass, steps } };
}

interface WorldCatalogue {
  cat: Catalogue;
  tracks: Track[];
  genres: string[];
  /** Track ids by catalogue index. */
  ids: string[];
}

/** The catalogue of a world's options (deterministic per seed). */
function catalogueOf(opt: Options): WorldCatalogue {
  const { cat, tracks, genres } = buildCatalogue(opt, createRng(hashSeed(opt.seed, 'catalogue')));
  return { cat, tracks, genres, ids: tracks.map((t) => t.trackId) };
}

/** Each listener of a world in user order: hidden profile, listens and the sampler's states (deterministic). */
function* simulatedUsers(opt: Options, { cat, tracks, genres, ids }: WorldCatalogue) {
  const userWidth = String(opt.users).length;
  for (let u = 0; u < opt.users; u++) {
    const urng = createRng(hashSeed(opt.seed, 'user', u));
    const userId = `u${pad(u + 1, userWidth)}`;
    const { listener, user } = makeListener(opt, cat, genres, tracks, userId, urng);
    yield { userId, listener, user, ...simulateUser(opt, cat, ids, listener, user, urng) };
  }
}

/** Index of the first listen of the session that listen `i` belongs to (the mood is fresh there). */
function sessionStartOf(states: readonly StepState[], i: number): number {
  let from = Math.min(i, states.length - 1);
  while (from > 0 && states[from]!.mood !== undefined) from--;
  return Math.max(from, 0);
}

/** The most likely tracks of a dense distribution, most likely first, until `mass` is covered. */
function topMass(d: Float64Array, ids: string[], mass: number): { tracks: string[]; probs: number[] } {
  const order: number[] = [];
  for (let i = 0; i < d.length; i++) if (d[i]! > 0) order.push(i);
  order.sort((x, y) => d[y]! - d[x]! || x - y);
  const tracks: string[] = [];
  const probs: number[] = [];
  let cum = 0;
  for (const i of order) {
    if (cum >= mass) break;
    tracks.push(ids[i]!);
    probs.push(d[i]!);
    cum += d[i]!;
  }
  return { tracks, probs };
}

/** A session start hour around the listener's peak hour, between 06:00 and 24:00. */
function sessionHour(rng: Rng, peak: number): number {
  for (let tries = 0; tries < 8; tries++) {
    const h = peak + 3 * rng.normal();
    if (h >= 6 && h < 24) return h;
  }
  return 6 + 18 * rng.next();
}

function simulateUser(
  opt: Options,
  cat: Catalogue,
  ids: string[],
  listener: Listener,
  user: GeneratedUser,
  rng: Rng,
): { listens: Listen[]; states: StepState[]; played: number[] } {
  const listens: Listen[] = [];
  const states: StepState[] = [];
  const played: number[] = [];
  const lastPlayedAt = new Map<number, number>();
  const saved = new Set<number>();
  const favSet = new Set(listener.fav.idx);
  const maxTaste = Math.max(...listener.taste);
  const peakHour = [8, 13, 19, 22][rng.int(4)]! + rng.normal();
  let clock = Number.NEGATIVE_INFINITY;
  let prev = -1;
  let lastSkip: SkipLevel = 0;
  let sessionNo = 0;
  for (let day = user.joinDay; day < opt.days; day++) {
    const churned =
      user.churnDay !== undefined &&
      day >= user.churnDay &&
      (user.returnDay === undefined || day < user.returnDay);
    if (churned) continue;
    const active =
      day === user.joinDay ||
      (user.returnDay !== undefined && day === user.returnDay) ||
      rng.next() < user.activity;
    if (!active) continue;
    const nSessions = 1 + (rng.next() < 0.45 ? 1 : 0) + (rng.next() < 0.15 ? 1 : 0);
    const hours = Array.from({ length: nSessions }, () => sessionHour(rng, peakHour)).sort((a, b) => a - b);
    for (const hour of hours) {
      let t = Math.max(
        opt.start + day * DAY_MS + Math.round(hour * 3_600_000),
        clock + 45 * 60_000 + rng.int(3_600_000),
      );
      const length = Math.min(35, Math.max(5, Math.round(Math.exp(Math.log(12) + 0.55 * rng.normal()))));
      sessionNo++;
      const sessionId = `${user.userId}-s${sessionNo}`;
      let mood: Mood | undefined;
      for (let pos = 0; pos < length; pos++) {
        const state: StepState = { mood, prev, switchProb: SWITCH_PROB[lastSkip]! };
        let track: number;
        let nextMood = mood;
        do {
          if (!mood || rng.next() < state.switchProb) {
            nextMood = listener.sampleMood(rng, opt.stylesPerGenre);
            track = listener.sampleStart(rng, nextMood);
          } else {
            nextMood = mood;
            track = listener.sampleContinue(rng, mood, prev);
          }
        } while (track === prev);
        mood = nextMood!;
        states.push(state);
        // Skip: taste fit lowers it, replaying a track too recently (satiation) raises it.
        const c = cat.trackCluster[track]!;
        const inMood = c === mood.a || c === mood.b ? 1 : 0;
        const liked = favSet.has(track) || listener.favArtists.has(cat.trackArtist[track]!) ? 1 : 0;
        const fit = 0.5 * (listener.taste[cat.trackGenre[track]!]! / maxTaste) + 0.3 * inMood + 0.2 * liked;
        let recent = 0;
        for (let k = played.length - 1; k >= Math.max(0, played.length - 30); k--)
          if (played[k] === track) recent++;
        const since = t - (lastPlayedAt.get(track) ?? Number.NEGATIVE_INFINITY);
        const logit =
          user.skipBias +
          1.15 -
          2.6 * fit +
          0.9 * Math.min(2, recent) +
          (since < 3 * 3_600_000 ? 0.6 : 0) -
          (pos === 0 ? 0.4 : 0);
        const pSkip = 1 / (1 + Math.exp(-logit));
        let skip: SkipLevel = 0;
        if (rng.next() < pSkip) {
          const v = rng.next();
          const p1 = 0.56 + 0.2 * (1 - fit);
          skip = v < p1 ? 1 : v < p1 + 0.24 ? 2 : 3;
        }
        const dur = cat.duration[track]!;
        const msPlayed =
          skip === 0
            ? dur
            : skip === 1
              ? 400 + rng.int(Math.round(Math.min(10_000, 0.06 * dur)))
              : skip === 2
                ? Math.round(dur * (0.06 + 0.34 * rng.next()))
                : Math.round(dur * (0.4 + 0.55 * rng.next()));
        const last = pos === length - 1;
        const reasonEnd =
          skip === 0
            ? 'trackdone'
            : last
              ? 'endplay'
              : ((v) => (v < 0.85 ? 'fwdbtn' : v < 0.93 ? 'backbtn' : 'clickrow'))(rng.next());
        let isSaved = false;
        if (
          skip === 0 &&
          !saved.has(track) &&
          rng.next() < 0.003 + 0.05 * fit * fit * (favSet.has(track) ? 2 : 1)
        ) {
          isSaved = true;
          saved.add(track);
        }
        listens.push({
          userId: user.userId,
          trackId: ids[track]!,
          timestamp: t,
          msPlayed,
          durationMs: dur,
          skipLevel: skip,
          reasonEnd,
          saved: isSaved,
          context: mood.context,
          sessionId,
        });
        played.push(track);
        lastPlayedAt.set(track, t);
        t += msPlayed + 200 + rng.int(skip === 0 ? 4000 : 1500);
        prev = track;
        lastSkip = skip;
      }
      clock = t;
      lastSkip = 0;
    }
  }
  return { listens, states, played };
}

/** Options of {@link bestAchievableHitRate}. */
export interface BestHitRateOptions {
  /**
   * Leave the history's items out of the ranking, as `evaluate()` does by default. Default true.
   */
  excludeHistory?: boolean;
  /**
   * With `excludeHistory`, what a target that is already in the history counts as. `'miss'` (default, the
   * `evaluate()` protocol): history tracks can never be recommended, so such a target is always a miss.
   * `'rankable'`: it is ranked against the non-history tracks only (the protocol `evaluate()` used before
   * it was found to leak the target; kept to compare with old numbers; not a ceiling).
   */
  historyTargets?: 'rankable' | 'miss';
  /**
   * What the reference predictor knows. `'history'` (default): the generator, the listener's profile and
   * the log so far, with the hidden mood inferred by exact filtering ({@link TruthStep.filtered}): the best
   * any model of the listening history can do. `'mood'`: also the hidden mood, which no recommender
   * observes, so it is a looser bound ({@link TruthStep.probs}).
   */
  knows?: 'history' | 'mood';
}

/**
 * Expected HR@k of the Bayes-optimal predictor that scores every track by its next-track probability given
 * what it knows (`knows`: the listening history, by default, or also the hidden mood), under the same
 * protocol as `evaluate()`: the summed true probabilities of the k tracks it recommends. Tracks whose
 * probabilities tie exactly (a world made with `zipf: 0` has them) are ordered as the predictor likes, since
 * any order expects the same hits; until 2026-11-28 a tie straddling rank k counted against it, which a
 * model breaking the tie could beat. With `excludeHistory` (the default, as in
 * `evaluate()`) the history's tracks cannot be recommended and a replayed target is a miss, so it is the
 * mean over cases of the summed true probabilities of the k most likely tracks not in the history. With
 * `excludeHistory: false` every track competes. With `knows: 'history'` it is a ceiling for any model's HR@k
 * on the same cases under either protocol (up to the `truthMass` left out of each truth step): ranking the
 * candidates by probability maximises the expected hits. (With `historyTargets: 'rankable'` it is not: a
 * replayed target then competes only with tracks outside the history, so ranking the whole history first
 * would hit every replay.)
 *
 * Each case is matched to the truth step of the same user at position `history.length` (so the history
 * must be the user's full listening prefix, as in leave-one-out) whose played track is `target`.
 *
 * @throws {InvalidOptionError} when `k` or an option is invalid, or `cases` is empty.
 * @throws {InvalidDataError} when a case has no matching truth step.
 * @example
 * ```ts
 * const world = generateWorld({ users: 50 });
 * const ceiling = bestAchievableHitRate(world.truth, truthCases(world, 'test'), 10);
 * ```
 */
export function bestAchievableHitRate(
  truth: GroundTruth,
  cases: readonly EvalCase[],
  k: number,
  options: BestHitRateOptions = {},
): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1)
    throw new InvalidOptionError('k', 'an integer >= 1', k);
  checkKnownOptions(
    options,
    optionKeys<typeof options>({ excludeHistory: true, historyTargets: true, knows: true }),
    'bestAchievableHitRate',
  );
  const excludeHistory = options.excludeHistory ?? true;
  if (typeof excludeHistory !== 'boolean')
    throw new InvalidOptionError('excludeHistory', 'a boolean', excludeHistory);
  const historyTargets = options.historyTargets ?? 'miss';
  if (historyTargets !== 'rankable' && historyTargets !== 'miss') {
    throw new InvalidOptionError('historyTargets', '"rankable" or "miss"', historyTargets);
  }
  const knows = options.knows ?? 'history';
  if (knows !== 'history' && knows !== 'mood')
    throw new InvalidOptionError('knows', '"history" or "mood"', knows);
  if (!Array.isArray(cases) || cases.length === 0) {
    throw new InvalidOptionError('cases', 'a non-empty array of evaluation cases', cases);
  }
  const stepOf = truthStepFinder(truth);
  let total = 0;
  for (const c of cases) {
    const step = stepOf(c);
    const { tracks, probs } = knows === 'mood' ? step : step.filtered;
    const hist = excludeHistory ? new Set(c.history) : undefined;
    // Probabilities of the tracks the target is ranked against, descending (probs is sorted).
    const rivals = hist ? probs.filter((_, j) => !hist.has(tracks[j]!)) : probs;
    if (historyTargets === 'miss') {
      // The best predictor recommends the k most likely tracks it may recommend (ties broken as it likes:
      // any order of tied tracks expects the same hits), and hits with their summed probability.
      for (let j = 0; j < Math.min(k, rivals.length); j++) total += rivals[j]!;
      continue;
    }
    for (let j = 0; j < tracks.length; j++) {
      const p = probs[j]!;
      const inHistory = hist?.has(tracks[j]!) ?? false;
      // rank - 1 = rivals other than this track with probability >= p (ties count against).
      const atLeast = countAtLeast(rivals, p);
      if (atLeast - 1 >= k) break; // probabilities only fall from here: no later track can make the top k
      if (atLeast - (inHistory ? 0 : 1) < k) total += p;
    }
  }
  return total / cases.length;
}

/**
 * Checks that `truth` is a generated world's ground truth, naming the option otherwise.
 *
 * @example
 * ```ts
 * checkTruth(world.truth); // fine
 * checkTruth(world);       // throws, naming `truth`
 * ```
 */
export function checkTruth(truth: unknown, option = 'truth'): asserts truth is GroundTruth {
  if (truth === null || typeof truth !== 'object' || !Array.isArray((truth as Partial<GroundTruth>).steps))
    throw new InvalidOptionError(option, "a generated world's ground truth (`world.truth`)", truth);
}

/**
 * A lookup of each case's ground-truth step: the step of the same user at position `history.length` whose
 * played track is `target`.
 *
 * @throws {InvalidDataError} from the lookup, when a case has no matching truth step.
 * @example
 * ```ts
 * const stepOf = truthStepFinder(world.truth);
 * const { tracks, probs } = stepOf(truthCases(world, 'test')[0]!).filtered;
 * ```
 */
export function truthStepFinder(truth: GroundTruth): (c: EvalCase) => TruthStep {
  checkTruth(truth);
  const index = new Map<string, TruthStep>();
  for (const s of truth.steps) index.set(`${s.userId}\u0000${s.index}`, s);
  return (c) => {
    const step = index.get(`${c.userId}\u0000${c.history.length}`);
    if (!step || step.trackId !== c.target) {
      throw new InvalidDataError(
        `No ground-truth step for user ${JSON.stringify(c.userId)} at position ${c.history.length} with target ${JSON.stringify(c.target)}`,
        [
          {
            column: 'history',
            value: String(c.history.length),
            expected: `a full listening prefix whose next listen has a truth step (truthFor: ${truth.truthFor})`,
          },
        ],
      );
    }
    return step;
  };
}

/** Number of entries >= x in a descending array (binary search). */
function countAtLeast(desc: readonly number[], x: number): number {
  let lo = 0;
  let hi = desc.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (desc[mid]! >= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Leave-one-out evaluation cases of a generated world, matching {@link bestAchievableHitRate}: `'test'`
 * predicts each user's last listen from everything before it, `'validation'` the second-to-last. Users
 * with too few listens are left out.
 *
 * @example
 * ```ts
 * const world = generateWorld({ users: 50 });
 * const cases = truthCases(world, 'test'); // one EvalCase per user
 * ```
 */
export function truthCases(world: GeneratedWorld, which: 'test' | 'validation' = 'test'): EvalCase[] {
  if (which !== 'test' && which !== 'validation')
    throw new InvalidOptionError('which', '"test" or "validation"', which);
  if (
    world === null ||
    typeof world !== 'object' ||
    !Array.isArray((world as Partial<GeneratedWorld>).listens) ||
    !Array.isArray((world as Partial<GeneratedWorld>).users)
  )
    throw new InvalidOptionError('world', 'a world from generateWorld()', world);
  const byUser = new Map<string, string[]>();
  for (const l of world.listens) {
    let arr = byUser.get(l.userId);
    if (!arr) {
      arr = [];
      byUser.set(l.userId, arr);
    }
    arr.push(l.trackId);
  }
  const out: EvalCase[] = [];
  const drop = which === 'test' ? 1 : 2;
  for (const u of world.users) {
    const seq = byUser.get(u.userId) ?? [];
    if (seq.length < drop + 1) continue;
    out.push({ userId: u.userId, history: seq.slice(0, seq.length - drop), target: seq[seq.length - drop]! });
  }
  return out;
}

/**
 * A diagnostic for the ground-truth ceiling, used by `bench/next-track.ts`: the test HR@k (each user's
 * last listen) of a learner that knows the generator's exact structure and catalogue (clusters, artists,
 * album order, popularity) but, like any recommender, must estimate each listener's profile from their
 * history: taste from per-cluster play shares, favourite artists from the most played artists, the heavy
 * rotation from tracks played at least twice. It then runs the same mood filter as the ceiling, on the same
 * log (skip levels, session starts and contexts included; see {@link tracksOnlyHitRate} for what those are worth). The gap
 * between it and `bestAchievableHitRate` is what not knowing the profile costs even a learner that knows
 * the generator; the estimates are simple plug-ins, so a cleverer learner could do somewhat better.
 *
 * @example
 * ```ts
 * const hr = generatorAwareHitRate({ users: 100 }, 10, { excludeHistory: false });
 * ```
 */
export function generatorAwareHitRate(
  options: GenerateOptions,
  k: number,
  { excludeHistory = true }: { excludeHistory?: boolean } = {},
): number {
  return testHitRate(options, k, excludeHistory, ({ states, played, listens }, opt, { cat }) => {
    const G = opt.genres;
    const S = opt.stylesPerGenre;
    const n = played.length;
    const history = played.slice(0, n - 1);
    // Plug-in profile from the history.
    const clusterCount = new Float64Array(cat.clusters).fill(0.5);
    const artistCount = new Map<number, number>();
    const trackCount = new Map<number, number>();
    const lastAt = new Map<number, number>();
    history.forEach((x, p) => {
      clusterCount[cat.trackCluster[x]!] = clusterCount[cat.trackCluster[x]!]! + 1;
      const a = cat.trackArtist[x]!;
      artistCount.set(a, (artistCount.get(a) ?? 0) + 1);
      trackCount.set(x, (trackCount.get(x) ?? 0) + 1);
      lastAt.set(x, p);
    });
    const total = clusterCount.reduce((s, v) => s + v, 0);
    const taste = Array.from({ length: G }, (_, g) => {
      let s = 0;
      for (let j = 0; j < S; j++) s += clusterCount[g * S + j]!;
      return s / total;
    });
    const styles = Array.from({ length: G }, (_, g) => {
      const row = Array.from({ length: S }, (_, j) => clusterCount[g * S + j]!);
      return normalise(row);
    });
    const favArtists = [...artistCount.entries()]
      .filter(([, c]) => c >= 3)
      .sort((x, y) => y[1] - x[1] || x[0] - y[0])
      .slice(0, 6)
      .map(([a]) => a);
    const favTracks = [...trackCount.entries()]
      .filter(([, c]) => c >= 2)
      .sort((x, y) => y[1] - x[1] || lastAt.get(y[0])! - lastAt.get(x[0])!)
      .slice(0, 30)
      .map(([x]) => x);
    if (favTracks.length === 0) favTracks.push(history[history.length - 1]!);
    const estimated = new Listener(cat, taste, styles, favArtists, favTracks);
    const filter = new MoodFilter(estimated, cat, S);
    for (let i = sessionStartOf(states, n - 1); i < n - 1; i++)
      filter.observe(states[i]!, played[i]!, listens[i]!.context);
    return filter.predictive(states[n - 1]!);
  });
}

type SimulatedUser = ReturnType<typeof simulatedUsers> extends Generator<infer U> ? U : never;

/**
 * Mean expected hits at k on each simulated user's last listen (users with at least 2 listens) when the
 * tracks are ranked by `predict`'s scores and the next track follows the sampler's true distribution.
 */
function testHitRate(
  options: GenerateOptions,
  k: number,
  excludeHistory: boolean,
  predict: (user: SimulatedUser, opt: Options, world: WorldCatalogue) => Float64Array,
): number {
  if (!Number.isInteger(k) || k < 1) throw new InvalidOptionError('k', 'an integer >= 1', k);
  const opt = resolveOptions(options);
  const world = catalogueOf(opt);
  let hits = 0;
  let cases = 0;
  for (const user of simulatedUsers(opt, world)) {
    const n = user.played.length;
    if (n < 2) continue;
    const scores = predict(user, opt, world);
    const truth = user.listener.distribution(user.states[n - 1]!);
    hits += expectedHits(scores, truth, user.played.slice(0, n - 1), excludeHistory, k);
    cases++;
  }
  return cases ? hits / cases : Number.NaN;
}

/**
 * Expected hits at k of ranking by `scores` when the next track follows `truth`, counted as
 * bestAchievableHitRate and `evaluate()` count them: ties against, and with `excludeHistory` the history's
 * tracks are out of the ranking and their probability is a miss.
 */
function expectedHits(
  scores: Float64Array,
  truth: Float64Array,
  history: readonly number[],
  excludeHistory: boolean,
  k: number,
): number {
  const entries: [number, number][] = [];
  for (let x = 0; x < truth.length; x++) if (truth[x]! > 0) entries.push([x, truth[x]!]);
  return expectedAtK(scores, entries, k, new Set(excludeHistory ? history : [])).hr;
}

/** Listens before the test listen that {@link tracksOnlyHitRate}'s filter reads (the mood forgets fast). */
const TRACKS_ONLY_CONTEXT = 40;

/**
 * A diagnostic for the ground-truth ceiling, used by `bench/next-track.ts`: the test HR@k (each user's last
 * listen) of the mood filter run by an observer that, like a recommender, sees only the track ids.
 * It knows the generator and the listener's profile, as the ceiling does, but not the skip levels, session
 * starts or contexts the ceiling's filter reads. In their place it uses the listener's average chance of a fresh mood
 * per listen, over the last 40 listens. This replacement is an approximation, so the result lies at or below
 * the exact best for track ids alone; that best lies between this value and `bestAchievableHitRate`.
 * Expected hits are counted under the sampler's true distribution.
 *
 * @example
 * ```ts
 * const hr = tracksOnlyHitRate({ users: 100 }, 10, { excludeHistory: false });
 * ```
 */
export function tracksOnlyHitRate(
  options: GenerateOptions,
  k: number,
  { excludeHistory = true }: { excludeHistory?: boolean } = {},
): number {
  return testHitRate(options, k, excludeHistory, ({ listener, states, played }, opt, { cat }) => {
    const n = played.length;
    // The listener's average chance that a listen starts a fresh mood (a session start or a switch).
    let fresh = 0;
    for (const st of states) fresh += st.mood === undefined ? 1 : st.switchProb;
    const rate = fresh / n;
    const from = Math.max(0, n - 1 - TRACKS_ONLY_CONTEXT);
    const someMood = states.find((st) => st.mood !== undefined)?.mood;
    // What the observer sees of step i: the previous track only; a fresh mood at the first step it reads.
    const seen = (i: number): StepState => ({
      mood: i === from ? undefined : someMood,
      prev: states[i]!.prev,
      switchProb: rate,
    });
    const filter = new MoodFilter(listener, cat, opt.stylesPerGenre);
    for (let i = from; i < n - 1; i++) filter.observe(seen(i), played[i]!);
    return filter.predictive(seen(n - 1));
  });
}
