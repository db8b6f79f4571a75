// Non-neural baselines every results table needs: most-popular, first-order item transitions, item-KNN.
import { checkDataset, type Dataset, type Vocabulary } from '../data/dataset.js';
import { checkKnownOptions, InvalidModelFileError, InvalidOptionError } from '../errors.js';
import {
  type Csr,
  countCooccurrences,
  countTransitions,
  csrArrays,
  csrRow,
  keepLargest,
  readCsr,
} from './csr.js';
import { getArray, type ModelContents, registerModelType, writeModelDir } from './persist.js';
import { BaseRecommender, checkHistories } from './recommender.js';

// ---------------------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------------------

function checkNumber(option: string, value: unknown, min: number, max: number, expected: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(option, expected, value);
  }
  return value;
}

/**
 * Upper bound of the smoothing, shrinkage and backoff options. Scores are float32: far larger values
 * overflowed them (every score Infinity, the ranking lost), and past this each option has long since
 * reached its limit (uniform smoothing, zero similarity, popularity alone).
 */
const MAX_SCALE = 1e6;
const SCALE_EXPECTED = `a number from 0 to ${MAX_SCALE.toExponential()}`;

function checkInt(option: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidOptionError(option, `an integer >= ${min}`, value);
  }
  return value;
}

function checkTrain(train: unknown, model: string): asserts train is Dataset {
  checkDataset(train, 'train', `to fit ${model} on`);
  if (train.vocabulary.size < 1)
    throw new InvalidOptionError('train', 'a Dataset with at least one track', 'a Dataset with no listens');
}

/** Float32 copy of the training counts (exact for counts below 2^24). */
function countsOf(train: Dataset): Float32Array {
  return Float32Array.from(train.itemCounts);
}

function readCounts(contents: ModelContents, dir: string): Float32Array {
  const counts = Float32Array.from(getArray(contents, 'popularity', dir).data);
  if (counts.length !== contents.vocabulary.size + 1) {
    throw new InvalidModelFileError(
      dir,
      `popularity has ${counts.length} values, expected ${contents.vocabulary.size + 1}`,
    );
  }
  return counts;
}

/** Validates a saved config, reporting a bad value as a broken model file rather than a bad option. */
function configOf<T>(dir: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (e) {
    if (e instanceof InvalidOptionError)
      throw new InvalidModelFileError(dir, `model.json config: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Base of the count-based baselines: holds training popularity, the cold-start answer of all three. */
abstract class CountRecommender extends BaseRecommender {
  /** Training listen counts per vocabulary index (index 0 = 0): the cold-start scores. */
  protected readonly popularity: Float32Array;

  constructor(vocabulary: Vocabulary, popularity: Float32Array) {
    super(vocabulary);
    this.popularity = popularity;
  }

  /** Scores after one history, given its known indices (possibly empty). */
  protected abstract scoreIndices(indices: number[]): Float32Array;

  async scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]> {
    checkHistories(histories);
    return histories.map((h) => {
      const idx = this.indices(h);
      return idx.length === 0 ? this.popularity.slice() : this.scoreIndices(idx);
    });
  }

  /** Nothing to free: baselines hold no tensors. */
  dispose(): void {}
}

// ---------------------------------------------------------------------------------------------------------
// Popularity
// ---------------------------------------------------------------------------------------------------------

/**
 * Options of {@link Popularity.fit}.
 *
 * @example
 * ```ts
 * const opts: PopularityOptions = { halfLifeDays: 30 };
 * ```
 */
export interface PopularityOptions {
  /**
   * Weight each listen by `0.5 ^ (age / halfLifeDays)`, with age measured back from the last training
   * listen, so recent hits count more. Ages are capped at {@link MAX_HALF_LIVES} half-lives: older listens
   * each weigh `2^-100` (scores are float32, which would round them to 0 and rank those tracks by index
   * instead of by count). Default: undefined (plain counts).
   */
  halfLifeDays?: number;
}

/**
 * The oldest age, in half-lives, that {@link PopularityOptions.halfLifeDays} decays a listen by: `2^-100` is
 * still a normal float32, and far below what a recent listen adds.
 *
 * @example
 * ```ts
 * console.log(2 ** -MAX_HALF_LIVES > 0); // true
 * ```
 */
export const MAX_HALF_LIVES = 100;

/** The keys of {@link PopularityOptions}, checked so that a misspelt option is an error. */
const POPULARITY_KEYS: Record<keyof PopularityOptions, true> = { halfLifeDays: true };

/**
 * Most-popular baseline: every history gets the same ranking, tracks by (optionally time-decayed)
 * training listen count. Score = that count.
 *
 * @example
 * ```ts
 * const pop = await Popularity.fit(train);
 * await pop.recommend([], { k: 10 }); // the 10 most played tracks
 * ```
 */
export class Popularity extends CountRecommender {
  readonly type = 'popularity';
  readonly options: Readonly<PopularityOptions>;

  private constructor(vocabulary: Vocabulary, scores: Float32Array, options: PopularityOptions) {
    super(vocabulary, scores);
    this.options = options;
  }

  /** Counts listens in `train` (validated options first). */
  static async fit(train: Dataset, options: PopularityOptions = {}): Promise<Popularity> {
    const half = Popularity.resolve(options).halfLifeDays;
    checkTrain(train, 'Popularity');
    if (half === undefined) return new Popularity(train.vocabulary, countsOf(train), {});
    let last = Number.NEGATIVE_INFINITY;
    for (const ls of train.userListens.values()) for (const l of ls) last = Math.max(last, l.timestamp);
    const weighted = new Float64Array(train.vocabulary.size + 1);
    const dayMs = 86_400_000;
    for (const [user, ls] of train.userListens) {
      const seq = train.sequences.get(user)!;
      ls.forEach((l, i) => {
        weighted[seq[i]!]! += 0.5 ** Math.min(MAX_HALF_LIVES, (last - l.timestamp) / (half * dayMs));
      });
    }
    return new Popularity(train.vocabulary, Float32Array.from(weighted), { halfLifeDays: half });
  }

  private static resolve(options: PopularityOptions): PopularityOptions {
    checkKnownOptions(options, Object.keys(POPULARITY_KEYS), 'Popularity');
    const half = options.halfLifeDays;
    if (half === undefined) return {};
    return {
      halfLifeDays: checkNumber(
        'halfLifeDays',
        half,
        Number.MIN_VALUE,
        Number.POSITIVE_INFINITY,
        'a finite number > 0 (leave it out for plain counts)',
      ),
    };
  }

  protected scoreIndices(): Float32Array {
    return this.popularity.slice();
  }

  async save(dir: string): Promise<void> {
    await writeModelDir(dir, {
      type: this.type,
      config: { ...this.options },
      vocabulary: this.vocabulary,
      arrays: [{ name: 'popularity', shape: [this.popularity.length], data: this.popularity }],
    });
  }

  /** @internal Restores a saved model (used by `loadModel`). */
  static fromContents(contents: ModelContents, dir: string): Popularity {
    const options = configOf(dir, () => Popularity.resolve((contents.config ?? {}) as PopularityOptions));
    return new Popularity(contents.vocabulary, readCounts(contents, dir), options);
  }
}

// ---------------------------------------------------------------------------------------------------------
// ItemTransition (first-order Markov)
// ---------------------------------------------------------------------------------------------------------

/**
 * Options of {@link ItemTransition.fit}.
 *
 * @example
 * ```ts
 * const opts: ItemTransitionOptions = { smoothing: 0.1, backoff: 0.1 };
 * ```
 */
export interface ItemTransitionOptions {
  /** Additive (Lidstone) smoothing added to every transition count. `>= 0`, default 0.1. */
  smoothing?: number;
  /** Interpolation weight of popularity, in [0, 1]: `score = (1 - backoff) P(j | last) + backoff P(j)`. Default 0.1. */
  backoff?: number;
}

/** The keys of {@link ItemTransitionOptions}, checked so that a misspelt option is an error. */
const ITEM_TRANSITION_KEYS: Record<keyof ItemTransitionOptions, true> = { smoothing: true, backoff: true };

/**
 * First-order Markov baseline: counts which track follows which in users' sequences and scores track `j`
 * after a history ending in `i` as `(1 - backoff) * (T[i][j] + smoothing) / (T[i] + smoothing * n) +
 * backoff * count(j) / listens`. A last track never followed by anything falls back to uniform
 * transitions, so the `backoff` term alone orders the tracks: popularity order (with `backoff: 0`, every
 * track ties and ties go by vocabulary index). Unknown ids are skipped, so "last" is the last known track.
 * Cold start (empty history, or only unknown ids): the training counts, as {@link Popularity}.
 *
 * @example
 * ```ts
 * const markov = await ItemTransition.fit(train, { smoothing: 0.1, backoff: 0.1 });
 * await markov.recommend(['t3', 't8'], { k: 5 }); // tracks that usually follow t8
 * ```
 */
export class ItemTransition extends CountRecommender {
  readonly type = 'item-transition';
  readonly options: Readonly<Required<ItemTransitionOptions>>;
  private readonly transitions: Csr;
  private readonly total: number;

  private constructor(
    vocabulary: Vocabulary,
    popularity: Float32Array,
    transitions: Csr,
    options: Required<ItemTransitionOptions>,
  ) {
    super(vocabulary, popularity);
    this.transitions = transitions;
    this.options = options;
    let total = 0;
    for (const c of popularity) total += c;
    this.total = total;
  }

  /** Counts consecutive pairs in every training sequence (validated options first). */
  static async fit(train: Dataset, options: ItemTransitionOptions = {}): Promise<ItemTransition> {
    const opts = ItemTransition.resolve(options);
    checkTrain(train, 'ItemTransition');
    const transitions = countTransitions(train.sequences.values(), train.vocabulary.size);
    return new ItemTransition(train.vocabulary, countsOf(train), transitions, opts);
  }

  private static resolve(options: ItemTransitionOptions): Required<ItemTransitionOptions> {
    checkKnownOptions(options, Object.keys(ITEM_TRANSITION_KEYS), 'ItemTransition');
    const smoothing = checkNumber('smoothing', options.smoothing ?? 0.1, 0, MAX_SCALE, SCALE_EXPECTED);
    const backoff = checkNumber('backoff', options.backoff ?? 0.1, 0, 1, 'a number from 0 to 1');
    return { smoothing, backoff };
  }

  protected scoreIndices(indices: number[]): Float32Array {
    const n = this.vocabulary.size;
    const { smoothing: a, backoff: b } = this.options;
    const last = indices[indices.length - 1]!;
    const { cols, vals, total: rowSum } = csrRow(this.transitions, last);
    const denom = rowSum + a * n;
    // P(j | last) = (T + a) / denom, or uniform when the row is empty and unsmoothed.
    const base = denom > 0 ? a / denom : 1 / n;
    const out = new Float64Array(n + 1);
    for (let j = 1; j <= n; j++) {
      const pop = this.total > 0 ? this.popularity[j]! / this.total : 1 / n;
      out[j] = (1 - b) * base + b * pop;
    }
    if (denom > 0) for (let p = 0; p < cols.length; p++) out[cols[p]!]! += ((1 - b) * vals[p]!) / denom;
    const scores = Float32Array.from(out);
    scores[0] = 0;
    return scores;
  }

  async save(dir: string): Promise<void> {
    await writeModelDir(dir, {
      type: this.type,
      config: { ...this.options },
      vocabulary: this.vocabulary,
      arrays: [
        { name: 'popularity', shape: [this.popularity.length], data: this.popularity },
        ...csrArrays(this.transitions, 'transitions'),
      ],
    });
  }

  /** @internal Restores a saved model (used by `loadModel`). */
  static fromContents(contents: ModelContents, dir: string): ItemTransition {
    const opts = configOf(dir, () =>
      ItemTransition.resolve((contents.config ?? {}) as ItemTransitionOptions),
    );
    return new ItemTransition(
      contents.vocabulary,
      readCounts(contents, dir),
      readCsr(contents, 'transitions', dir),
      opts,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// ItemKNN (windowed co-occurrence)
// ---------------------------------------------------------------------------------------------------------

/**
 * Options of {@link ItemKNN.fit}.
 *
 * @example
 * ```ts
 * const opts: ItemKNNOptions = { window: 5, shrink: 10, historyWindow: 10, decay: 0.8 };
 * ```
 */
export interface ItemKNNOptions {
  /** Two listens co-occur when at most `window` positions apart in a user's sequence. Integer >= 1, default 5. */
  window?: number;
  /** Shrinkage in `sim(a, b) = C[a][b] / (sqrt(count(a) * count(b)) + shrink)`; damps rare pairs. `>= 0`, default 10. */
  shrink?: number;
  /** Neighbours kept per track (largest similarities). Integer >= 1, default 100. */
  neighbours?: number;
  /** How many of the most recent history items vote. Integer >= 1, default 10. */
  historyWindow?: number;
  /** Vote weight of the item `d` steps before the last is `decay^d`. In (0, 1], default 0.8. */
  decay?: number;
  /**
   * Weight of popularity (scaled to [0, 1] by the top count) added to every score, so tracks with no
   * similar neighbour are ranked by popularity instead of tied. `>= 0`, default 1e-6.
   */
  backoff?: number;
}

/** The keys of {@link ItemKNNOptions}, checked so that a misspelt option is an error. */
const ITEM_KNN_KEYS: Record<keyof ItemKNNOptions, true> = {
  window: true,
  shrink: true,
  neighbours: true,
  historyWindow: true,
  decay: true,
  backoff: true,
};

/**
 * Item-based nearest-neighbour baseline for sequences: tracks are similar when they are played close
 * together (within `window` positions) by the same users, normalised cosine-style with shrinkage. A history
 * scores track `j` by `sum_d decay^d * sim(h[-1-d], j)` over its last `historyWindow` known tracks, plus a
 * tiny popularity term that orders the rest. Cold start (empty history or only unknown ids): the training
 * counts, as {@link Popularity}.
 *
 * @example
 * ```ts
 * const knn = await ItemKNN.fit(train, { window: 5, shrink: 10 });
 * await knn.recommend(['t3', 't8'], { k: 5 });
 * ```
 */
export class ItemKNN extends CountRecommender {
  readonly type = 'item-knn';
  readonly options: Readonly<Required<ItemKNNOptions>>;
  private readonly similarity: Csr;
  private readonly maxCount: number;

  private constructor(
    vocabulary: Vocabulary,
    popularity: Float32Array,
    similarity: Csr,
    options: Required<ItemKNNOptions>,
  ) {
    super(vocabulary, popularity);
    this.similarity = similarity;
    this.options = options;
    let max = 0;
    for (const c of popularity) max = Math.max(max, c);
    this.maxCount = max;
  }

  /** Counts windowed co-occurrences and keeps each track's top neighbours (validated options first). */
  static async fit(train: Dataset, options: ItemKNNOptions = {}): Promise<ItemKNN> {
    const opts = ItemKNN.resolve(options);
    checkTrain(train, 'ItemKNN');
    const stride = train.vocabulary.size + 1;
    const co = countCooccurrences(train.sequences.values(), train.vocabulary.size, opts.window);
    const counts = train.itemCounts;
    const sim = new Float64Array(co.vals.length); // in doubles until the top neighbours are chosen
    for (let a = 0; a < stride; a++)
      for (let p = co.rowPtr[a]!; p < co.rowPtr[a + 1]!; p++)
        sim[p] = co.vals[p]! / (Math.sqrt(counts[a]! * counts[co.cols[p]!]!) + opts.shrink);
    const similarity = keepLargest({ ...co, vals: sim }, opts.neighbours);
    return new ItemKNN(train.vocabulary, countsOf(train), similarity, opts);
  }

  private static resolve(options: ItemKNNOptions): Required<ItemKNNOptions> {
    checkKnownOptions(options, Object.keys(ITEM_KNN_KEYS), 'ItemKNN');
    return {
      window: checkInt('window', options.window ?? 5, 1),
      shrink: checkNumber('shrink', options.shrink ?? 10, 0, MAX_SCALE, SCALE_EXPECTED),
      neighbours: checkInt('neighbours', options.neighbours ?? 100, 1),
      historyWindow: checkInt('historyWindow', options.historyWindow ?? 10, 1),
      decay: checkNumber('decay', options.decay ?? 0.8, Number.MIN_VALUE, 1, 'a number in (0, 1]'),
      backoff: checkNumber('backoff', options.backoff ?? 1e-6, 0, MAX_SCALE, SCALE_EXPECTED),
    };
  }

  protected scoreIndices(indices: number[]): Float32Array {
    const n = this.vocabulary.size;
    const { historyWindow, decay, backoff } = this.options;
    const { rowPtr, cols, vals } = this.similarity;
    const out = new Float64Array(n + 1);
    const scale = this.maxCount > 0 ? backoff / this.maxCount : 0;
    for (let j = 1; j <= n; j++) out[j] = scale * this.popularity[j]!;
    let w = 1;
    for (let d = 0; d < historyWindow && d < indices.length; d++, w *= decay) {
      const h = indices[indices.length - 1 - d]!;
      for (let p = rowPtr[h]!; p < rowPtr[h + 1]!; p++) out[cols[p]!]! += w * vals[p]!;
    }
    const scores = Float32Array.from(out);
    scores[0] = 0;
    return scores;
  }

  async save(dir: string): Promise<void> {
    await writeModelDir(dir, {
      type: this.type,
      config: { ...this.options },
      vocabulary: this.vocabulary,
      arrays: [
        { name: 'popularity', shape: [this.popularity.length], data: this.popularity },
        ...csrArrays(this.similarity, 'similarity'),
      ],
    });
  }

  /** @internal Restores a saved model (used by `loadModel`). */
  static fromContents(contents: ModelContents, dir: string): ItemKNN {
    const opts = configOf(dir, () => ItemKNN.resolve((contents.config ?? {}) as ItemKNNOptions));
    return new ItemKNN(
      contents.vocabulary,
      readCounts(contents, dir),
      readCsr(contents, 'similarity', dir),
      opts,
    );
  }
}

registerModelType('popularity', (c, dir) => Popularity.fromContents(c, dir));
registerModelType('item-transition', (c, dir) => ItemTransition.fromContents(c, dir));
registerModelType('item-knn', (c, dir) => ItemKNN.fromContents(c, dir));
