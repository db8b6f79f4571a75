// Dataset: a stable track vocabulary and per-user time-ordered listening sequences.
import { checkKnownOptions, type DataIssue, InvalidDataError, InvalidOptionError } from '../errors.js';
import { isValidListen, LISTEN_KEYS } from './schemas.js';
import type { Listen } from './types.js';

/** Options of {@link Dataset.fromListens}. */
export interface DatasetOptions {
  /** Keep only users with at least this many listens (iterative k-core with `minTrackListens`). Default 1. */
  minUserListens?: number;
  /** Keep only tracks with at least this many listens (iterative k-core with `minUserListens`). Default 1. */
  minTrackListens?: number;
  /** A gap of inactivity longer than this starts a new session. Default 30 minutes. */
  sessionGapMinutes?: number;
  /** Reuse an existing vocabulary (e.g. a training set's) instead of building one. Unknown tracks then throw. */
  vocabulary?: Vocabulary;
}

/** The keys of {@link DatasetOptions}, checked so that a misspelt option is an error. */
const DATASET_KEYS: Record<keyof DatasetOptions, true> = {
  minUserListens: true,
  minTrackListens: true,
  sessionGapMinutes: true,
  vocabulary: true,
};

/** Most problems one {@link InvalidDataError} from {@link checkListens} lists. */
const MAX_LISTEN_ISSUES = 100;

// The rules of a valid listen, shared by checkListens' fast pass and listenProblems' report.
const isId = (v: unknown) => typeof v === 'string' && v !== '';
const isTime = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const isOptionalMs = (v: unknown) => v === undefined || isTime(v);
const isOptionalBoolean = (v: unknown) => v === undefined || typeof v === 'boolean';
const isOptionalId = (v: unknown) => v === undefined || isId(v);
const isSkipLevel = (v: unknown) => v === undefined || v === 0 || v === 1 || v === 2 || v === 3;

/**
 * Checks the fields a {@link Dataset} is built from: every listen has a non-empty string `userId` and
 * `trackId` and a non-negative integer `timestamp` (a NaN would break the time order, and a number id would
 * become a second user or track beside its string form), and its optional `skipLevel` (0-3), `msPlayed`,
 * `durationMs` (non-negative integers), `saved` (a boolean) and `artistId`, `reasonEnd`, `context` and
 * `sessionId` (non-empty strings) are what a loaded file's would be, with no other fields: the rules of
 * `ListenSchema`, so whatever builds a Dataset can also be saved.
 */
function checkListens(listens: unknown): asserts listens is readonly Listen[] {
  if (!Array.isArray(listens))
    throw new InvalidOptionError('listens', 'an array of listens { userId, trackId, timestamp }', listens);
  // One pass with no allocation per listen (this runs over every listen of a log of tens of millions);
  // the problems are collected only once one is found.
  let first = -1;
  for (let i = 0; i < listens.length; i++) {
    if (!isValidListen(listens[i] as Listen)) {
      first = i;
      break;
    }
  }
  if (first < 0) return;
  const issues: DataIssue[] = [];
  let bad = 0;
  for (let i = first; i < listens.length; i++) {
    const found = listenProblems(listens[i], `listens[${i}]`);
    if (found.length === 0) continue;
    bad++;
    for (const issue of found) if (issues.length < MAX_LISTEN_ISSUES) issues.push(issue);
  }
  throw new InvalidDataError(`Dataset.fromListens: ${bad} of ${listens.length} listens are invalid`, issues);
}

/** What is wrong with one listen for {@link checkListens} (nothing: an empty list). */
function listenProblems(value: unknown, at: string): DataIssue[] {
  const l = value as Partial<Listen> | null;
  if (l === null || typeof l !== 'object')
    return [{ column: at, value: String(l), expected: 'a listen object { userId, trackId, timestamp }' }];
  const out: DataIssue[] = [];
  if (!isId(l.userId))
    out.push({ column: `${at}.userId`, value: String(l.userId), expected: 'a non-empty string' });
  if (!isId(l.trackId))
    out.push({ column: `${at}.trackId`, value: String(l.trackId), expected: 'a non-empty string' });
  if (!isTime(l.timestamp))
    out.push({
      column: `${at}.timestamp`,
      value: String(l.timestamp),
      expected: 'a non-negative integer (epoch milliseconds, from 1970 on)',
    });
  if (!isSkipLevel(l.skipLevel))
    out.push({ column: `${at}.skipLevel`, value: String(l.skipLevel), expected: '0, 1, 2 or 3 (or absent)' });
  for (const field of ['msPlayed', 'durationMs'] as const) {
    const v = l[field];
    if (!isOptionalMs(v))
      out.push({
        column: `${at}.${field}`,
        value: String(v),
        expected: 'a non-negative integer of milliseconds (or absent)',
      });
  }
  if (!isOptionalBoolean(l.saved))
    out.push({ column: `${at}.saved`, value: String(l.saved), expected: 'true or false (or absent)' });
  if (!isOptionalId(l.artistId))
    out.push({
      column: `${at}.artistId`,
      value: String(l.artistId),
      expected: 'a non-empty string (or absent)',
    });
  for (const field of ['reasonEnd', 'context', 'sessionId'] as const) {
    const v = l[field];
    if (!isOptionalId(v))
      out.push({ column: `${at}.${field}`, value: String(v), expected: 'a non-empty string (or absent)' });
  }
  // A misspelt field (`skip_level`) would otherwise be dropped without a word.
  for (const key of Object.keys(l))
    if (!LISTEN_KEYS.has(key))
      out.push({
        column: `${at}.${key}`,
        value: String((l as Record<string, unknown>)[key]),
        expected: `one of a listen's fields (${[...LISTEN_KEYS].join(', ')})`,
      });
  return out;
}

/** Summary statistics of a {@link Dataset}. */
export interface DatasetStats {
  users: number;
  tracks: number;
  listens: number;
  sessions: number;
  /** listens / (users * tracks). */
  density: number;
  meanSequenceLength: number;
  medianSequenceLength: number;
  minSequenceLength: number;
  maxSequenceLength: number;
  /** Share of listens with skipLevel 1-3, among listens that have a skip level (NaN when none have one). */
  skipRate: number;
  /** Share of all listens that go to the most popular 1% of tracks. */
  top1PercentShare: number;
  /** Listens removed by k-core filtering. */
  filteredListens: number;
  /** Tracks whose listens name an artist (`Listen.artistId`; see {@link Dataset.artists}). */
  tracksWithArtist: number;
  /** Of those, tracks whose listens name more than one artist (the first is kept). */
  tracksWithSeveralArtists: number;
  firstTimestamp: number;
  lastTimestamp: number;
}

/**
 * A bidirectional map from track ids to dense integers. Index 0 is reserved for padding, so the
 * `n` tracks get indices `1..n` in first-seen order (deterministic for the same input order).
 *
 * @example
 * ```ts
 * const v = Vocabulary.from(['a', 'b', 'a']);
 * v.index('b'); // 2
 * v.id(1);      // 'a'
 * v.size;       // 2 (tracks, not counting padding)
 * ```
 */
export class Vocabulary {
  /** `ids[i]` is the track id of index `i`; `ids[0]` is `''` (padding). */
  readonly ids: readonly string[];
  private readonly map: Map<string, number>;

  private constructor(ids: string[]) {
    this.ids = ids;
    this.map = new Map(ids.map((id, i) => [id, i]));
    this.map.delete('');
  }

  /** Builds a vocabulary from ids in first-seen order. */
  static from(trackIds: Iterable<string>): Vocabulary {
    if (
      typeof trackIds === 'string' ||
      typeof (trackIds as Partial<Iterable<string>>)?.[Symbol.iterator] !== 'function'
    )
      throw new InvalidOptionError('trackIds', 'an iterable of track ids (an array, a Set, ...)', trackIds);
    const seen = new Set<string>();
    const ids = [''];
    let at = 0;
    for (const id of trackIds) {
      if (typeof id !== 'string' || id === '')
        throw new InvalidOptionError(`trackIds[${at}]`, 'a non-empty track id ("" is the padding entry)', id);
      at++;
      if (!seen.has(id)) {
        seen.add(id);
        ids.push(id);
      }
    }
    return new Vocabulary(ids);
  }

  /** Restores a vocabulary from `ids` as returned by {@link Vocabulary.ids} (with the leading padding entry). */
  static fromIds(ids: readonly string[]): Vocabulary {
    if (!Array.isArray(ids) || ids[0] !== '')
      throw new InvalidDataError('A vocabulary must start with the padding entry ""');
    const seen = new Set<string>();
    for (let i = 1; i < ids.length; i++) {
      const id: unknown = ids[i];
      // A repeated id would make its later index unreachable (index() finds the first).
      if (typeof id !== 'string' || id === '' || seen.has(id))
        throw new InvalidDataError(
          `A vocabulary's ids must be distinct non-empty strings after the padding entry; entry ${i} is ${JSON.stringify(id)}`,
        );
      seen.add(id);
    }
    return new Vocabulary([...ids]);
  }

  /** Number of tracks (not counting padding). */
  get size(): number {
    return this.ids.length - 1;
  }

  /** Dense index of a track id, or undefined when unknown. */
  index(trackId: string): number | undefined {
    return this.map.get(trackId);
  }

  /** Track id of a dense index. */
  id(index: number): string {
    const id = this.ids[index];
    if (id === undefined || index === 0) throw new RangeError(`No track at vocabulary index ${index}`);
    return id;
  }

  /** Whether the track id is known. */
  has(trackId: string): boolean {
    return this.map.has(trackId);
  }
}

/**
 * Listening data ready for training: a stable vocabulary, and each user's listens sorted by time
 * (equal timestamps keep their input order).
 *
 * @example
 * ```ts
 * const { listens } = await loadListens('data/listens.csv');
 * const ds = Dataset.fromListens(listens, { minUserListens: 5 });
 * console.log(ds.stats());
 * const seq = ds.sequence('u1'); // dense ids, oldest first
 * ```
 */
export class Dataset {
  readonly vocabulary: Vocabulary;
  /** User ids in first-seen order. */
  readonly users: readonly string[];
  /** Per user (same order as `users`), listens sorted by timestamp. */
  readonly userListens: ReadonlyMap<string, readonly Listen[]>;
  /** Per user, dense track indices in time order. */
  readonly sequences: ReadonlyMap<string, Int32Array>;
  /** `itemCounts[i]` = listens of vocabulary index `i` (index 0 = padding = 0). */
  readonly itemCounts: Float64Array;
  readonly sessionGapMinutes: number;
  private readonly filteredListens: number;
  private artistMap: { byTrack: Map<string, string>; several: number } | undefined;

  private constructor(
    vocabulary: Vocabulary,
    userListens: Map<string, Listen[]>,
    sessionGapMinutes: number,
    filteredListens: number,
  ) {
    this.vocabulary = vocabulary;
    this.userListens = userListens;
    this.users = [...userListens.keys()];
    this.sessionGapMinutes = sessionGapMinutes;
    this.filteredListens = filteredListens;
    const sequences = new Map<string, Int32Array>();
    const counts = new Float64Array(vocabulary.size + 1);
    for (const [user, ls] of userListens) {
      const seq = new Int32Array(ls.length);
      ls.forEach((l, i) => {
        const idx = vocabulary.index(l.trackId);
        if (idx === undefined) {
          throw new InvalidDataError(
            `Track ${JSON.stringify(l.trackId)} of user ${JSON.stringify(user)} is not in the vocabulary`,
          );
        }
        seq[i] = idx;
        counts[idx] = (counts[idx] ?? 0) + 1;
      });
      sequences.set(user, seq);
    }
    this.sequences = sequences;
    this.itemCounts = counts;
  }

  /**
   * Builds a dataset from listens (any order). Sorting is stable, so equal timestamps keep input order.
   * Optional iterative k-core filtering removes users and tracks below the thresholds until none remain;
   * the number of removed listens is reported by {@link Dataset.stats}.
   */
  static fromListens(listens: readonly Listen[], options: DatasetOptions = {}): Dataset {
    checkKnownOptions(options, Object.keys(DATASET_KEYS), 'Dataset');
    const minUser = options.minUserListens ?? 1;
    const minTrack = options.minTrackListens ?? 1;
    const gap = options.sessionGapMinutes ?? 30;
    if (!Number.isInteger(minUser) || minUser < 1)
      throw new InvalidOptionError('minUserListens', 'an integer >= 1', minUser);
    if (!Number.isInteger(minTrack) || minTrack < 1)
      throw new InvalidOptionError('minTrackListens', 'an integer >= 1', minTrack);
    if (typeof gap !== 'number' || !(gap > 0))
      throw new InvalidOptionError('sessionGapMinutes', 'a number > 0', gap);
    if (options.vocabulary !== undefined && !(options.vocabulary instanceof Vocabulary))
      throw new InvalidOptionError('vocabulary', "a Vocabulary (e.g. a training set's)", options.vocabulary);
    checkListens(listens);

    let kept: readonly Listen[] = listens;
    if (minUser > 1 || minTrack > 1) {
      for (;;) {
        const userCount = new Map<string, number>();
        const trackCount = new Map<string, number>();
        for (const l of kept) {
          userCount.set(l.userId, (userCount.get(l.userId) ?? 0) + 1);
          trackCount.set(l.trackId, (trackCount.get(l.trackId) ?? 0) + 1);
        }
        const next = kept.filter(
          (l) => (userCount.get(l.userId) ?? 0) >= minUser && (trackCount.get(l.trackId) ?? 0) >= minTrack,
        );
        if (next.length === kept.length) break;
        kept = next;
      }
    }
    const byUser = new Map<string, Listen[]>();
    for (const l of kept) {
      let arr = byUser.get(l.userId);
      if (!arr) {
        arr = [];
        byUser.set(l.userId, arr);
      }
      arr.push(l);
    }
    for (const arr of byUser.values()) arr.sort((a, b) => a.timestamp - b.timestamp); // stable
    const vocabulary =
      options.vocabulary ??
      Vocabulary.from(
        (function* () {
          for (const arr of byUser.values()) for (const l of arr) yield l.trackId;
        })(),
      );
    return new Dataset(vocabulary, byUser, gap, listens.length - kept.length);
  }

  /** Number of tracks in the vocabulary. */
  get numTracks(): number {
    return this.vocabulary.size;
  }

  /** Total listens. */
  get numListens(): number {
    let n = 0;
    for (const s of this.sequences.values()) n += s.length;
    return n;
  }

  /** All listens, user by user, each user's in time order. */
  listens(): Listen[] {
    const out: Listen[] = [];
    // One by one: push(...ls) passes every listen as an argument, past the stack for a 200,000-listen user.
    for (const ls of this.userListens.values()) for (const l of ls) out.push(l);
    return out;
  }

  /** A user's dense sequence (empty when unknown). */
  sequence(userId: string): Int32Array {
    return this.sequences.get(userId) ?? new Int32Array(0);
  }

  /**
   * Each track's artist, from the listens that name one (`Listen.artistId`, which the Last.fm 1K, MPD and
   * Spotify loaders fill in, as does an `artist_id` column): undefined when no listen does. `SASRec.fit`
   * uses it for artist embeddings unless given `artists` or `artistEmbeddings: false`. A track whose
   * listens name several artists keeps the first, in user then time order, and is counted in
   * `stats().tracksWithSeveralArtists`.
   *
   * @example
   * ```ts
   * const ds = Dataset.fromListens([{ userId: 'u1', trackId: 't1', timestamp: 0, artistId: 'a1' }]);
   * ds.artists(); // Map { 't1' => 'a1' }
   * ```
   */
  artists(): ReadonlyMap<string, string> | undefined {
    const { byTrack } = this.artistTable();
    return byTrack.size > 0 ? byTrack : undefined;
  }

  private artistTable(): { byTrack: Map<string, string>; several: number } {
    if (this.artistMap) return this.artistMap;
    const byTrack = new Map<string, string>();
    const conflicting = new Set<string>();
    for (const ls of this.userListens.values())
      for (const l of ls) {
        if (l.artistId === undefined) continue;
        const seen = byTrack.get(l.trackId);
        if (seen === undefined) byTrack.set(l.trackId, l.artistId);
        else if (seen !== l.artistId) conflicting.add(l.trackId);
      }
    this.artistMap = { byTrack, several: conflicting.size };
    return this.artistMap;
  }

  /** A user's track ids in time order (empty when unknown). */
  history(userId: string): string[] {
    return (this.userListens.get(userId) ?? []).map((l) => l.trackId);
  }

  /** A user's listens split into sessions wherever the gap between plays exceeds `sessionGapMinutes`. */
  sessions(userId: string): Listen[][] {
    const ls = this.userListens.get(userId) ?? [];
    const gapMs = this.sessionGapMinutes * 60_000;
    const out: Listen[][] = [];
    let cur: Listen[] = [];
    let prev = Number.NEGATIVE_INFINITY;
    for (const l of ls) {
      if (cur.length > 0 && l.timestamp - prev > gapMs) {
        out.push(cur);
        cur = [];
      }
      cur.push(l);
      prev = l.timestamp;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }

  /** Summary statistics. */
  stats(): DatasetStats {
    const lengths = [...this.sequences.values()].map((s) => s.length).sort((a, b) => a - b);
    const listens = lengths.reduce((a, b) => a + b, 0);
    let sessions = 0;
    let withSkip = 0;
    let skipped = 0;
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    for (const user of this.users) {
      sessions += this.sessions(user).length;
      for (const l of this.userListens.get(user) ?? []) {
        if (l.skipLevel !== undefined) {
          withSkip++;
          if (l.skipLevel > 0) skipped++;
        }
        if (l.timestamp < first) first = l.timestamp;
        if (l.timestamp > last) last = l.timestamp;
      }
    }
    const counts = [...this.itemCounts.subarray(1)].sort((a, b) => b - a);
    const top = Math.max(1, Math.ceil(counts.length * 0.01));
    const topSum = counts.slice(0, top).reduce((a, b) => a + b, 0);
    const n = lengths.length;
    const artistTable = this.artistTable();
    return {
      users: n,
      tracks: this.numTracks,
      listens,
      sessions,
      density: n && this.numTracks ? listens / (n * this.numTracks) : 0,
      meanSequenceLength: n ? listens / n : 0,
      medianSequenceLength: n ? (lengths[(n - 1) >> 1]! + lengths[n >> 1]!) / 2 : 0,
      minSequenceLength: n ? lengths[0]! : 0,
      maxSequenceLength: n ? lengths[n - 1]! : 0,
      skipRate: withSkip ? skipped / withSkip : Number.NaN,
      top1PercentShare: listens ? topSum / listens : 0,
      filteredListens: this.filteredListens,
      tracksWithArtist: artistTable.byTrack.size,
      tracksWithSeveralArtists: artistTable.several,
      firstTimestamp: first,
      lastTimestamp: last,
    };
  }
}

/**
 * Checks that an argument is a {@link Dataset} (for example not the listens array it would be built from).
 *
 * @param what what the Dataset is for, completing "a Dataset ...".
 * @throws {InvalidOptionError} naming `option`.
 * @example
 * ```ts
 * checkDataset(train, 'train', 'to fit ItemKNN on'); // throws for listens: "a Dataset to fit ItemKNN on (...)"
 * ```
 */
export function checkDataset(value: unknown, option: string, what: string): asserts value is Dataset {
  if (!(value instanceof Dataset))
    throw new InvalidOptionError(
      option,
      `a Dataset ${what} (Dataset.fromListens(listens), or a split's train)`,
      value,
    );
}
