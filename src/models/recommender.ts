// The Recommender contract every model implements, plus the shared top-k and history handling.

import type { Vocabulary } from '../data/dataset.js';
import { checkKnownOptions, EncoreError, InvalidOptionError } from '../errors.js';

/** Options of {@link Recommender.recommend}. */
export interface RecommendOptions {
  /** How many tracks to return (1 to the catalogue size). Default 10, or the catalogue size if smaller. */
  k?: number;
  /** Track ids never to return (an array or other iterable of ids; ids unknown to the model are ignored). */
  exclude?: Iterable<string>;
  /** Leave out tracks already in the history. Default true. */
  excludeHistory?: boolean;
}

/** One recommended track. */
export interface Recommendation {
  trackId: string;
  score: number;
}

/**
 * The contract every encore model implements, so models are interchangeable in evaluation, Blend and
 * re-ranking. A history is any sequence of track ids, oldest first: a known user, a new listener or a live
 * session. Unknown ids are skipped and counted in {@link Recommender.unknownSkipped}. An empty history (or
 * one with only unknown ids) gets the cold-start answer: tracks by training popularity.
 *
 * @example
 * ```ts
 * const model: Recommender = await SASRec.fit(train);
 * const recs = await model.recommend(['t12', 't7'], { k: 5 });
 * const scores = await model.score(['t12', 't7'], ['t3', 't9']);
 * ```
 */
export interface Recommender {
  /** Model type, e.g. `'sasrec'`, `'popularity'`. */
  readonly type: string;
  /** The track vocabulary; score arrays are indexed by its dense indices (index 0 = padding). */
  readonly vocabulary: Vocabulary;
  /** Unknown track ids skipped in histories so far. */
  readonly unknownSkipped: number;
  /**
   * Top-k tracks for one history, best first. Fewer than k come back only when fewer tracks are left after
   * `exclude` and (by default) the history's own tracks.
   */
  recommend(history: readonly string[], options?: RecommendOptions): Promise<Recommendation[]>;
  /** Top-k for many histories at once (one pass where the model allows). */
  recommendBatch(
    histories: readonly (readonly string[])[],
    options?: RecommendOptions,
  ): Promise<Recommendation[][]>;
  /** Scores of the given tracks after `history` (`-Infinity` for unknown tracks). Higher is better. */
  score(history: readonly string[], trackIds: readonly string[]): Promise<number[]>;
  /**
   * Scores of every vocabulary index after each history: `Float32Array(vocabulary.size + 1)`, index 0
   * unused. The primitive that evaluation and Blend build on.
   */
  scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]>;
  /** Writes the model to `dir` atomically (see {@link loadModel}). */
  save(dir: string): Promise<void>;
  /** Frees tensors. The model is unusable afterwards. */
  dispose(): void;
}

/**
 * Validates `k` against a catalogue size; throws {@link InvalidOptionError} naming `k`.
 *
 * @example
 * ```ts
 * checkK(10, 2000); // 10
 * checkK(0, 2000);  // throws: The `k` option must be an integer from 1 to the catalogue size (2000), got 0
 * ```
 */
export function checkK(k: unknown, catalogue: number, option = 'k'): number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > catalogue) {
    throw new InvalidOptionError(option, `an integer from 1 to the catalogue size (${catalogue})`, k);
  }
  return k;
}

/** The keys of {@link RecommendOptions}, checked so that a misspelt option is an error. */
const RECOMMEND_KEYS: Record<keyof RecommendOptions, true> = { k: true, exclude: true, excludeHistory: true };

/**
 * Checks a list of track ids (a history, or the tracks to score): an array of strings.
 *
 * @throws {InvalidOptionError} naming `option`, or `option[p]` for the first entry that is not a string.
 * @example
 * ```ts
 * checkTrackIds(['t1', 't2'], 'history'); // fine
 * checkTrackIds(['t1', 7], 'history');    // throws: The `history[1]` option must be a track id (a string), got 7
 * ```
 */
export function checkTrackIds(ids: unknown, option: string): asserts ids is readonly string[] {
  if (!Array.isArray(ids))
    throw new InvalidOptionError(option, 'an array of track ids (strings), oldest first', ids);
  for (let p = 0; p < ids.length; p++) {
    if (typeof ids[p] !== 'string')
      throw new InvalidOptionError(`${option}[${p}]`, 'a track id (a string)', ids[p]);
  }
}

/**
 * Reads track ids given as an array or other iterable (a Set, say) into an array, checking each: a string
 * is refused rather than read letter by letter.
 *
 * @throws {InvalidOptionError} naming `option`, or `option[p]` for the first entry that is not a string.
 * @example
 * ```ts
 * trackIdsOf(new Set(['t1', 't2']), 'exclude'); // ['t1', 't2']
 * trackIdsOf('t1', 'exclude');                  // throws, naming `exclude`
 * ```
 */
export function trackIdsOf(value: unknown, option: string): readonly string[] {
  if (
    value === null ||
    typeof value !== 'object' ||
    typeof (value as Iterable<unknown>)[Symbol.iterator] !== 'function'
  )
    throw new InvalidOptionError(option, 'an array (or other iterable) of track ids', value);
  const ids = Array.from(value as Iterable<unknown>);
  checkTrackIds(ids, option);
  return ids;
}

/**
 * Checks a batch of histories: an array of arrays of track ids.
 *
 * @throws {InvalidOptionError} naming `histories`, `histories[i]` or `histories[i][p]`.
 * @example
 * ```ts
 * checkHistories([['t1'], ['t2', 't3']]); // fine
 * checkHistories('t1');                   // throws, naming `histories`
 * ```
 */
export function checkHistories(
  histories: unknown,
  option = 'histories',
): asserts histories is readonly (readonly string[])[] {
  if (!Array.isArray(histories))
    throw new InvalidOptionError(option, 'an array of histories (each an array of track ids)', histories);
  for (let i = 0; i < histories.length; i++) checkTrackIds(histories[i], `${option}[${i}]`);
}

/**
 * Indices of the `k` largest finite-or-not scores, best first, in O(n log k) without sorting the whole
 * array. Ties go to the lower index. Entries where `skip[i]` is set are ignored, as is index 0.
 *
 * @example
 * ```ts
 * topK(new Float32Array([0, 0.5, 0.9, 0.1]), 2); // [2, 1]
 * ```
 */
export function topK(scores: Float32Array | Float64Array, k: number, skip?: Uint8Array): number[] {
  if (!(Number.isInteger(k) && k >= 0)) throw new InvalidOptionError('k', 'an integer >= 0', k);
  // Min-heap of size k over (score, index); the root is the weakest kept entry.
  const heapS = new Float64Array(k);
  const heapI = new Int32Array(k);
  let size = 0;
  const worse = (s1: number, i1: number, s2: number, i2: number) => s1 < s2 || (s1 === s2 && i1 > i2);
  const swap = (x: number, y: number) => {
    const ts = heapS[x]!;
    const ti = heapI[x]!;
    heapS[x] = heapS[y]!;
    heapI[x] = heapI[y]!;
    heapS[y] = ts;
    heapI[y] = ti;
  };
  const siftDown = (pos: number) => {
    for (;;) {
      const l = 2 * pos + 1;
      const r = l + 1;
      let m = pos;
      if (l < size && worse(heapS[l]!, heapI[l]!, heapS[m]!, heapI[m]!)) m = l;
      if (r < size && worse(heapS[r]!, heapI[r]!, heapS[m]!, heapI[m]!)) m = r;
      if (m === pos) return;
      swap(pos, m);
      pos = m;
    }
  };
  for (let i = 1; i < scores.length; i++) {
    if (skip?.[i]) continue;
    const raw = scores[i]!;
    const s = Number.isNaN(raw) ? Number.NEGATIVE_INFINITY : raw;
    // Once the heap is full, most entries lose to its weakest at once. Indices only grow, so an equal score
    // never displaces a kept entry (ties go to the lower index): only a strictly higher score gets in.
    if (size === k) {
      if (s > heapS[0]!) {
        heapS[0] = s;
        heapI[0] = i;
        siftDown(0);
      }
      continue;
    }
    heapS[size] = s;
    heapI[size] = i;
    size++;
    // sift up
    let c = size - 1;
    while (c > 0) {
      const p = (c - 1) >> 1;
      if (!worse(heapS[c]!, heapI[c]!, heapS[p]!, heapI[p]!)) break;
      swap(p, c);
      c = p;
    }
  }
  const out: { s: number; i: number }[] = [];
  for (let j = 0; j < size; j++) out.push({ s: heapS[j]!, i: heapI[j]! });
  out.sort((a, b) => b.s - a.s || a.i - b.i);
  return out.map((e) => e.i);
}

/**
 * `model.scoreAll(histories)`, checked: one row per history, each of `vocabulary.size + 1` scores. Every
 * caller of `scoreAll` in encore goes through it, so a custom model that returns rows of the wrong width
 * (forgetting the padding column, say) fails with an error naming `scoreAll`, instead of reading `undefined`
 * scores as misses or hits.
 *
 * @throws {InvalidOptionError} (`model`) when the rows do not have that shape.
 * @example
 * ```ts
 * const [row] = await scoreRows(model, [['t1', 't2']]); // Float32Array(model.vocabulary.size + 1)
 * ```
 */
export async function scoreRows(
  model: Pick<Recommender, 'scoreAll' | 'vocabulary' | 'type'>,
  histories: readonly (readonly string[])[],
): Promise<Float32Array[]> {
  const rows = await model.scoreAll(histories);
  const width = model.vocabulary.size + 1;
  const wrong = (got: unknown) =>
    new InvalidOptionError(
      'model',
      `a Recommender whose scoreAll returns one row of vocabulary.size + 1 = ${width} scores per history (model type ${model.type})`,
      got,
    );
  if (!Array.isArray(rows)) throw wrong(rows);
  if (rows.length !== histories.length) throw wrong(`${rows.length} rows for ${histories.length} histories`);
  const bad = rows.findIndex((r) => r?.length !== width);
  if (bad >= 0) throw wrong(`a row of ${rows[bad]?.length} scores (history ${bad})`);
  return rows;
}

/**
 * Bytes of score rows (128 MiB) `evaluate` and the default `recommendBatch` ask a model for at once. Each
 * row holds a score for every track, so 256 rows at 660,000 tracks are 676 MB. SASRec's `recommendBatch`
 * scores 64 histories at a time whatever the catalogue and hands each row on as it comes. Measured there (660,734 tracks, random listens, 2 cores, wasm;
 * scratch runs): `ItemTransition` over 512 cases peaked at 2,260 MB of memory and took 29 ms a case with
 * 256 rows a batch, 957 MB and 19 ms with 64, 819 MB and 17 ms with 32, 986 MB and 18 ms with this default
 * (50); SASRec over 256 cases rose 393 MB above its memory before `evaluate` with 256 rows (31.2 ms a case),
 * 111 MB with the default (30.4 ms).
 *
 * @example
 * ```ts
 * SCORE_BATCH_BYTES / (4 * 660_001); // about 50 rows a batch at 660,000 tracks
 * ```
 */
export const SCORE_BATCH_BYTES = 128 * 1024 * 1024;

/**
 * Histories `evaluate` and the default `recommendBatch` score per `scoreAll` call for a catalogue of
 * `tracks`: 256, or as many rows as fit in {@link SCORE_BATCH_BYTES}, at least 1.
 *
 * @example
 * ```ts
 * scoreBatchSize(2_000);   // 256
 * scoreBatchSize(912_510); // 36
 * ```
 */
export function scoreBatchSize(tracks: number): number {
  if (!(Number.isInteger(tracks) && tracks >= 0))
    throw new InvalidOptionError('tracks', 'a catalogue size (an integer >= 0)', tracks);
  return Math.max(1, Math.min(256, Math.floor(SCORE_BATCH_BYTES / (4 * (tracks + 1)))));
}

/**
 * Shared implementation of `recommend`, `recommendBatch` and `score` on top of `scoreAll`, plus
 * history-to-index mapping with unknown-id counting. Models extend it and implement `scoreAll`.
 *
 * @example
 * ```ts
 * class Constant extends BaseRecommender {
 *   readonly type = 'constant';
 *   async scoreAll(h: readonly (readonly string[])[]) { return h.map(() => new Float32Array(this.vocabulary.size + 1)); }
 *   async save() {}
 *   dispose() {}
 * }
 * ```
 */
export abstract class BaseRecommender implements Recommender {
  abstract readonly type: string;
  readonly vocabulary: Vocabulary;
  protected unknown = 0;

  constructor(vocabulary: Vocabulary) {
    this.vocabulary = vocabulary;
  }

  get unknownSkipped(): number {
    return this.unknown;
  }

  /** Maps a history to dense indices, skipping (and counting) unknown ids. */
  protected indices(history: readonly string[]): number[] {
    const out: number[] = [];
    for (const id of history) {
      const i = this.vocabulary.index(id);
      if (i === undefined) this.unknown++;
      else out.push(i);
    }
    return out;
  }

  abstract scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]>;
  abstract save(dir: string): Promise<void>;
  abstract dispose(): void;

  async recommend(history: readonly string[], options: RecommendOptions = {}): Promise<Recommendation[]> {
    checkTrackIds(history, 'history');
    const [out] = await this.recommendBatch([history], options);
    return out!;
  }

  async recommendBatch(
    histories: readonly (readonly string[])[],
    options: RecommendOptions = {},
  ): Promise<Recommendation[][]> {
    checkHistories(histories);
    checkKnownOptions(options, Object.keys(RECOMMEND_KEYS), 'recommend');
    const k = checkK(options.k ?? Math.min(10, this.vocabulary.size), this.vocabulary.size);
    const excludeHistory = options.excludeHistory ?? true;
    if (typeof excludeHistory !== 'boolean')
      throw new InvalidOptionError('excludeHistory', 'true or false', excludeHistory);
    const excluded = new Uint8Array(this.vocabulary.size + 1);
    for (const id of trackIdsOf(options.exclude ?? [], 'exclude')) {
      const i = this.vocabulary.index(id);
      if (i !== undefined) excluded[i] = 1;
    }
    const out: Recommendation[][] = new Array(histories.length);
    await this.visitRows(histories, (scores, h) => {
      const marked: number[] = [];
      if (excludeHistory)
        for (const id of histories[h]!) {
          const i = this.vocabulary.index(id);
          if (i !== undefined && !excluded[i]) {
            excluded[i] = 1;
            marked.push(i);
          }
        }
      out[h] = topK(scores, k, excluded).map((i) => ({
        trackId: this.vocabulary.ids[i]!,
        score: scores[i]!,
      }));
      for (const i of marked) excluded[i] = 0; // the next history starts from `exclude` alone again
    });
    const missing = histories.findIndex((_, h) => out[h] === undefined);
    if (missing >= 0)
      throw new EncoreError(
        `${this.type}: visitRows gave no score row for history ${missing} of ${histories.length}: a model that overrides visitRows must visit every history once`,
      );
    return out;
  }

  /**
   * Calls `visit(row, h)` with the score row of each history `h` (as {@link BaseRecommender.scoreAll}
   * computes it), in any order. A row is valid only during its call, so a model may hand out views of a
   * buffer it reuses; this default calls `scoreAll` on {@link scoreBatchSize} histories at a time (so a
   * model's `scoreAll` sees a large batch in parts). `recommendBatch` is built on it; a model that
   * overrides it must visit every history exactly once.
   */
  protected async visitRows(
    histories: readonly (readonly string[])[],
    visit: (row: Float32Array, h: number) => void,
  ): Promise<void> {
    const size = scoreBatchSize(this.vocabulary.size);
    for (let start = 0; start < histories.length; start += size) {
      const rows = await scoreRows(this, histories.slice(start, start + size));
      rows.forEach((row, r) => {
        visit(row, start + r);
      });
    }
  }

  async score(history: readonly string[], trackIds: readonly string[]): Promise<number[]> {
    checkTrackIds(history, 'history');
    checkTrackIds(trackIds, 'trackIds');
    const [scores] = await scoreRows(this, [history]);
    return trackIds.map((id) => {
      const i = this.vocabulary.index(id);
      return i === undefined ? Number.NEGATIVE_INFINITY : scores![i]!;
    });
  }
}
