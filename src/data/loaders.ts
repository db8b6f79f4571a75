// Reading and writing listening data files: canonical listens/tracks CSV, Last.fm 1K, MSSD, sequence files and
// the Spotify Million Playlist Dataset's JSON slices.
import fs from 'node:fs';
import path from 'node:path';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import Papa from 'papaparse';
import { checkKnownOptions, type DataIssue, InvalidDataError, InvalidOptionError } from '../errors.js';
import { writeFileAtomic, writeFilesAtomic } from '../util/fs.js';
import { isValidListen, isValidTrack, ListenSchema, TrackSchema } from './schemas.js';
import type { Listen, SkipLevel, Track } from './types.js';

/**
 * Canonical column order of a listens CSV file.
 *
 * @example
 * ```ts
 * console.log(LISTEN_COLUMNS.join(',')); // the header saveListens writes
 * ```
 */
export const LISTEN_COLUMNS = [
  'user_id',
  'track_id',
  'timestamp',
  'ms_played',
  'duration_ms',
  'skip_level',
  'reason_end',
  'saved',
  'context',
  'session_id',
  'artist_id',
] as const;

/**
 * Canonical column order of a tracks CSV file.
 *
 * @example
 * ```ts
 * console.log(TRACK_COLUMNS.join(',')); // the header saveTracks writes
 * ```
 */
export const TRACK_COLUMNS = [
  'track_id',
  'title',
  'artist_id',
  'artist',
  'genre',
  'duration_ms',
  'features',
] as const;

/** A canonical listens CSV column name. */
export type ListenColumn = (typeof LISTEN_COLUMNS)[number];
/** A canonical tracks CSV column name. */
export type TrackColumn = (typeof TRACK_COLUMNS)[number];

function opt(v: string | number | boolean | undefined): string {
  return v === undefined ? '' : String(v);
}

function validateAll<T>(
  file: string,
  rows: readonly T[],
  schema: {
    safeParse(v: unknown): {
      success: boolean;
      error?: { issues: { path: (string | number)[]; message: string }[] };
    };
  },
  what: string,
): void {
  const issues: DataIssue[] = [];
  rows.forEach((row, i) => {
    const r = schema.safeParse(row);
    if (!r.success) {
      for (const iss of r.error?.issues ?? []) {
        const key = iss.path[0];
        issues.push({
          file,
          line: i + 2,
          column: key === undefined ? undefined : String(key),
          value:
            key === undefined ? undefined : JSON.stringify((row as Record<string, unknown>)[String(key)]),
          expected: `${iss.message} (${what} #${i})`,
        });
      }
    }
  });
  if (issues.length > 0) throw new InvalidDataError(`Cannot save ${rows.length} ${what}s to ${file}`, issues);
}

function toCsv(fields: readonly string[], rows: string[][]): string {
  // quotes only where needed (commas, quotes, newlines, edge spaces); "\n" line endings; trailing newline.
  return `${Papa.unparse({ fields: [...fields], data: rows }, { quotes: false, newline: '\n', header: true })}\n`;
}

/**
 * Serialises listens to canonical CSV text (the exact bytes {@link saveListens} writes). Timestamps are epoch
 * milliseconds, except the rare ones that {@link parseTimestamp} would read as seconds (between 1970-01-02
 * and 1973-03-03), which are written in ISO 8601 so that loading gives back the same listens. The last
 * column, `artist_id`, is written only when some listen has an `artistId`.
 *
 * @example
 * ```ts
 * listensToCsv([{ userId: 'u1', trackId: 't1', timestamp: 0 }]);
 * // 'user_id,track_id,timestamp,ms_played,duration_ms,skip_level,reason_end,saved,context,session_id\nu1,t1,0,,,,,,,\n'
 * ```
 */
export function listensToCsv(listens: readonly Listen[]): string {
  const rows = listens.map((l) => [
    l.userId,
    l.trackId,
    autoReadsSeconds(l.timestamp) ? new Date(l.timestamp).toISOString() : String(l.timestamp),
    opt(l.msPlayed),
    opt(l.durationMs),
    opt(l.skipLevel),
    opt(l.reasonEnd),
    opt(l.saved),
    opt(l.context),
    opt(l.sessionId),
  ]);
  // artist_id only when some listen names one, so files without artists keep their bytes.
  if (!listens.some((l) => l.artistId !== undefined)) return toCsv(LISTEN_COLUMNS.slice(0, -1), rows);
  listens.forEach((l, i) => {
    rows[i]!.push(opt(l.artistId));
  });
  return toCsv(LISTEN_COLUMNS, rows);
}

/**
 * Serialises tracks to canonical CSV text (the exact bytes {@link saveTracks} writes).
 *
 * @example
 * ```ts
 * tracksToCsv([{ trackId: 't1', title: 'Song', artistId: 'a1', artist: 'Band', features: [0.5, 1] }]);
 * // 'track_id,title,artist_id,artist,genre,duration_ms,features\nt1,Song,a1,Band,,,0.5;1\n'
 * ```
 */
export function tracksToCsv(tracks: readonly Track[]): string {
  const rows = tracks.map((t) => [
    t.trackId,
    t.title,
    t.artistId,
    t.artist,
    opt(t.genre),
    opt(t.durationMs),
    t.features === undefined ? '' : t.features.map((x) => String(x)).join(';'),
  ]);
  return toCsv(TRACK_COLUMNS, rows);
}

/** A non-empty array: `loader` refuses a file without data rows, so an empty save could not be read back. */
function checkRowsToSave(rows: unknown, option: string, what: string, loader: string): void {
  if (!Array.isArray(rows)) throw new InvalidOptionError(option, `an array of ${what}s`, rows);
  if (rows.length === 0)
    throw new InvalidOptionError(
      option,
      `at least one ${what} (${loader} refuses a file without rows)`,
      rows,
    );
}

/** What a saved id must be for `loader` to read it back unchanged, when it is not; undefined when it is. */
function unreadableId(id: string, loader: string): string | undefined {
  if (/[\r\n]/.test(id)) return `an id on one line, as ${loader} requires`;
  if (id.trim() !== id) return `an id without spaces around it, which ${loader} trims`;
  return undefined;
}

/**
 * Writes listens as canonical CSV, atomically (temporary file in the same directory, then rename).
 *
 * Columns: `user_id,track_id,timestamp,ms_played,duration_ms,skip_level,reason_end,saved,context,session_id`,
 * and `artist_id` when some listen has an `artistId`;
 * `timestamp` is epoch milliseconds (ISO 8601 for the few that would read back as seconds, see
 * {@link listensToCsv}), absent optional fields are empty, `saved` is `true`/`false`, fields are quoted only
 * when needed, lines end with `\n`. The output is byte-identical for identical input.
 * Every listen is validated first ({@link ListenSchema}), and so is what {@link loadListens} would refuse to
 * read back (a time more than a day after now, an exact duplicate, an id with spaces around it, which loading
 * trims); nothing is written when one is invalid.
 *
 * @throws {InvalidDataError} when a listen is invalid, in the future or a duplicate.
 * @throws {InvalidOptionError} when `listens` is not an array or is empty.
 * @example
 * ```ts
 * await saveListens('data/listens.csv', [{ userId: 'u1', trackId: 't1', timestamp: Date.now(), skipLevel: 0 }]);
 * ```
 */
export async function saveListens(file: string, listens: readonly Listen[]): Promise<void> {
  await writeFileAtomic(file, listensFileText(file, listens));
}

/** The checked CSV text of {@link saveListens} (throws what it throws, writes nothing). */
function listensFileText(file: string, listens: readonly Listen[]): string {
  checkRowsToSave(listens, 'listens', 'listen', 'loadListens');
  if (!listens.every(isValidListen)) validateAll(file, listens, ListenSchema, 'listen');
  // What loadListens would refuse is not written: saving then loading gives back the same listens.
  const issues: DataIssue[] = [];
  const latest = Date.now() + DAY_MS;
  const dups = new DuplicateIndex(listens);
  for (let i = 0; i < listens.length && issues.length < MAX_STRICT_ISSUES; i++) {
    const l = listens[i]!;
    if (l.timestamp > latest) {
      issues.push({
        file,
        line: i + 2,
        column: 'timestamp',
        value: String(l.timestamp),
        expected: `a time not in the future (at most 1 day after now), as loadListens requires (listen #${i})`,
      });
    }
    for (const [column, id] of [
      ['user_id', l.userId],
      ['track_id', l.trackId],
    ] as const) {
      const expected = unreadableId(id, 'loadListens');
      if (expected)
        issues.push({ file, line: i + 2, column, value: id, expected: `${expected} (listen #${i})` });
    }
    const prev = dups.addOrFind(i);
    if (prev >= 0) {
      issues.push({
        file,
        line: i + 2,
        value: `${l.userId},${l.trackId},${l.timestamp}`,
        expected: `a listen that is not an exact duplicate of listen #${prev} (same user, track and timestamp), as loadListens requires (listen #${i})`,
      });
    }
  }
  if (issues.length > 0)
    throw new InvalidDataError(`Cannot save ${listens.length} listens to ${file}`, issues);
  return listensToCsv(listens);
}

/**
 * Writes tracks as canonical CSV, atomically (temporary file in the same directory, then rename).
 *
 * Columns: `track_id,title,artist_id,artist,genre,duration_ms,features`; `features` is the numbers joined
 * by `;` (empty when absent). Byte-identical output for identical input. A repeated track id, which
 * {@link loadTracks} refuses, is refused here too.
 *
 * @throws {InvalidDataError} when a track is invalid or its id repeated.
 * @example
 * ```ts
 * await saveTracks('data/tracks.csv', [{ trackId: 't1', title: 'Song', artistId: 'a1', artist: 'Band' }]);
 * ```
 */
export async function saveTracks(file: string, tracks: readonly Track[]): Promise<void> {
  await writeFileAtomic(file, tracksFileText(file, tracks));
}

/** The checked CSV text of {@link saveTracks} (throws what it throws, writes nothing). */
function tracksFileText(file: string, tracks: readonly Track[]): string {
  checkRowsToSave(tracks, 'tracks', 'track', 'loadTracks');
  if (!tracks.every(isValidTrack)) validateAll(file, tracks, TrackSchema, 'track');
  const first = new Map<string, number>();
  const issues: DataIssue[] = [];
  tracks.forEach((t, i) => {
    const expected = unreadableId(t.trackId, 'loadTracks');
    if (expected && issues.length < MAX_STRICT_ISSUES)
      issues.push({
        file,
        line: i + 2,
        column: 'track_id',
        value: t.trackId,
        expected: `${expected} (track #${i})`,
      });
    const prev = first.get(t.trackId);
    if (prev === undefined) first.set(t.trackId, i);
    else if (issues.length < MAX_STRICT_ISSUES)
      issues.push({
        file,
        line: i + 2,
        column: 'track_id',
        value: t.trackId,
        expected: `a track id not already used (track #${prev}), as loadTracks requires (track #${i})`,
      });
  });
  if (issues.length > 0) throw new InvalidDataError(`Cannot save ${tracks.length} tracks to ${file}`, issues);
  return tracksToCsv(tracks);
}

/**
 * Saves a catalogue and its listens as one: both are checked as {@link saveTracks} and {@link saveListens}
 * check them, both are written to temporary files, and only then are both renamed into place. A failure or
 * an interruption leaves both earlier files as they were, never a new catalogue beside old listens.
 *
 * @throws {InvalidDataError} or {InvalidOptionError} as `saveTracks` and `saveListens` do; nothing is written.
 * @example
 * ```ts
 * const world = generateWorld({ users: 50 });
 * await saveListensAndTracks('data/listens.csv', world.listens, 'data/tracks.csv', world.tracks);
 * ```
 */
export async function saveListensAndTracks(
  listensFile: string,
  listens: readonly Listen[],
  tracksFile: string,
  tracks: readonly Track[],
): Promise<void> {
  await writeFilesAtomic([
    [tracksFile, tracksFileText(tracksFile, tracks)],
    [listensFile, listensFileText(listensFile, listens)],
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// Loading

/**
 * File formats {@link loadListens} reads.
 *
 * @example
 * ```ts
 * for (const format of LISTEN_FORMATS) console.log(format);
 * ```
 */
export const LISTEN_FORMATS = [
  'listens-csv',
  'lastfm-1k',
  'mssd',
  'sequences',
  'mpd',
  'spotify-history',
] as const;

/** A file format {@link loadListens} reads. */
export type ListenFormat = (typeof LISTEN_FORMATS)[number];

/** What to do with a row that fails validation: `'throw'` (default) or `'skip'` (and report it in `issues`). */
export type InvalidRowPolicy = (typeof INVALID_ROW_POLICIES)[number];

/**
 * The values of `onInvalidRow` (and of the CLI's `--on-invalid-row`).
 *
 * @example
 * ```ts
 * INVALID_ROW_POLICIES.includes('skip'); // true
 * ```
 */
export const INVALID_ROW_POLICIES = ['throw', 'skip'] as const;

/** Options of {@link loadListens}. */
export interface LoadListensOptions {
  /** File format. Default `'listens-csv'`. */
  format?: ListenFormat;
  /**
   * For `'listens-csv'` only: maps canonical column names to the header names used in the file,
   * e.g. `{ user_id: 'uid', timestamp: 'played_at' }`. Unmapped columns keep their canonical names.
   */
  columns?: Partial<Record<ListenColumn, string>>;
  /** `'throw'` (default): any invalid row throws {@link InvalidDataError}. `'skip'`: invalid rows are skipped and returned in `issues`. */
  onInvalidRow?: InvalidRowPolicy;
  /**
   * Unit of digits-only timestamps (see {@link parseTimestamp}): `'auto'` (default) reads values from
   * 10^8 up to 10^11 as epoch seconds and the rest as epoch milliseconds; `'ms'` and `'s'` force a unit.
   * A forced unit is refused with `'sequences'` (no times) and `'mpd'` (its `modified_at` is always epoch
   * seconds).
   */
  timestampUnit?: TimestampUnit;
  /**
   * For `'spotify-history'` only: the listener's id. Default: each entry's `username` where the export has
   * one, else `'me'`.
   */
  userId?: string;
}

/** The keys of {@link LoadListensOptions}, checked so that a misspelt option is an error. */
const LOAD_LISTENS_KEYS: Record<keyof LoadListensOptions, true> = {
  format: true,
  columns: true,
  onInvalidRow: true,
  timestampUnit: true,
  userId: true,
};

/** Result of {@link loadListens}. */
export interface LoadListensResult {
  /** Valid listens in file order. */
  listens: Listen[];
  /** One issue per skipped row (empty in strict mode, which throws instead). */
  issues: DataIssue[];
  /**
   * Data rows read (blank lines and the header not counted; for `'sequences'`, each user-item pair is a row and
   * each invalid line one row; for `'mpd'`, each playlist entry is a row and each playlist that cannot be read
   * one row): `listens.length + issues.length === rows`.
   */
  rows: number;
  /**
   * `'lastfm-1k'`, `'mpd'` and `'spotify-history'` only: the tracks the file names, with their artist, in order of first appearance.
   * Last.fm 1K: `artistId` is `artid`, or `artname` when `artid` is empty; tracks with neither are left out.
   * MPD: `artistId` is `artist_uri`, `title` `track_name`, `durationMs` `duration_ms`. Spotify history:
   * `artistId` and `artist` are the artist's name (the export has no artist URI). Pass them to
   * `SASRec.fit(train, { artists: tracks })` for artist embeddings.
   */
  tracks?: Track[];
  /**
   * `'spotify-history'` only: entries that are not plays of a music track, by kind (`'podcast episode'`,
   * `'audiobook chapter'`, `'video'`, `'no track'`: neither a track URI nor a track and artist name). They
   * are read and counted here, not in `rows`.
   */
  ignored?: Record<string, number>;
}

/** Options of {@link loadTracks}. */
export interface LoadTracksOptions {
  /** Maps canonical column names to the header names used in the file, e.g. `{ track_id: 'id' }`. */
  columns?: Partial<Record<TrackColumn, string>>;
  /** `'throw'` (default) or `'skip'` invalid rows (reported in `issues`). */
  onInvalidRow?: InvalidRowPolicy;
}

/** The keys of {@link LoadTracksOptions}, checked so that a misspelt option is an error. */
const LOAD_TRACKS_KEYS: Record<keyof LoadTracksOptions, true> = { columns: true, onInvalidRow: true };

/** Result of {@link loadTracks}. */
export interface LoadTracksResult {
  /** Valid tracks in file order. */
  tracks: Track[];
  /** One issue per skipped row (empty in strict mode). */
  issues: DataIssue[];
  /** Data rows read: `tracks.length + issues.length === rows`. */
  rows: number;
}

/** Strict mode stops reading after this many problems. */
const MAX_STRICT_ISSUES = 100;
const DAY_MS = 86_400_000;

/** A row problem without the file (added by the reader). */
type RowIssue = Omit<DataIssue, 'file' | 'line'>;

class RowError {
  constructor(readonly issue: RowIssue) {}
}

function fail(column: string | undefined, value: string | undefined, expected: string): never {
  throw new RowError({ column, value, expected });
}

/**
 * One shared, standalone copy of each distinct string. A field split from a line (or a papaparse chunk) is a
 * slice that keeps its whole parent string alive, so storing fields as they come would hold the raw file
 * in memory (about 300 bytes a listen on a Last.fm 1K-shaped file, where the 19 million rows would pass
 * Node's 4 GiB heap); ids also repeat on every listen. Interned, a listen costs its object and one number.
 */
class Interner {
  private readonly map = new Map<string, string>();
  get(s: string): string {
    let v = this.map.get(s);
    if (v === undefined) {
      v = Buffer.from(s, 'utf8').toString('utf8'); // a fresh copy, not a slice of the line
      this.map.set(v, v);
    }
    return v;
  }
}

/** Characters of a bad value an issue keeps (messages show fewer). */
const ISSUE_VALUE_CHARS = 200;

/** Collects rows or issues, enforcing the strict/skip policy. */
class Collector<T> {
  readonly items: T[] = [];
  /** Interns the strings kept from each row (see {@link Interner}). */
  readonly strings = new Interner();
  readonly issues: DataIssue[] = [];
  rows = 0;
  constructor(
    readonly file: string,
    readonly policy: InvalidRowPolicy,
  ) {}
  /** Returns false when reading should stop (too many problems in strict mode). */
  issue(line: number | undefined, issue: RowIssue, file = this.file): boolean {
    // The value is usually a slice of a line, which would keep the line's whole read buffer alive for as long
    // as the issue lives: keep a standalone copy of at most ISSUE_VALUE_CHARS characters instead.
    const value =
      issue.value === undefined
        ? undefined
        : Buffer.from(issue.value.slice(0, ISSUE_VALUE_CHARS), 'utf8').toString('utf8');
    this.issues.push(stripUndefined({ file, line, ...issue, value }));
    return !(this.policy === 'throw' && this.issues.length >= MAX_STRICT_ISSUES);
  }
}

function stripUndefined<T extends object>(o: T): T {
  const out = {} as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

function validatePolicy(policy: unknown): InvalidRowPolicy {
  if (policy === undefined) return 'throw';
  if (!(INVALID_ROW_POLICIES as readonly unknown[]).includes(policy))
    throw new InvalidOptionError('onInvalidRow', "'throw' or 'skip'", policy);
  return policy as InvalidRowPolicy;
}

function validateUnit(unit: unknown): TimestampUnit {
  if (unit === undefined) return 'auto';
  if (unit !== 'auto' && unit !== 'ms' && unit !== 's')
    throw new InvalidOptionError('timestampUnit', "'auto', 'ms' or 's'", unit);
  return unit;
}

function validateColumns(columns: unknown, allowed: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  if (columns === undefined) return map;
  if (typeof columns !== 'object' || columns === null || Array.isArray(columns)) {
    throw new InvalidOptionError(
      'columns',
      'an object mapping canonical column names to header names',
      columns,
    );
  }
  for (const [k, v] of Object.entries(columns)) {
    if (!allowed.includes(k)) {
      throw new InvalidOptionError(
        `columns.${k}`,
        `a canonical column name (one of ${allowed.join(', ')})`,
        k,
      );
    }
    if (typeof v !== 'string' || v.length === 0) {
      throw new InvalidOptionError(`columns.${k}`, 'a non-empty header name', v);
    }
    // Two columns read from one header would fill both with the same values.
    const twin = [...map].find(([, header]) => header === v)?.[0];
    if (twin !== undefined)
      throw new InvalidOptionError(
        `columns.${k}`,
        `a header not already mapped (columns.${twin} is '${v}')`,
        v,
      );
    map.set(k, v);
  }
  return map;
}

/** Leading bytes of the compressed and archive formats real datasets ship in, and how to unpack each. */
const PACKED: readonly (readonly [string, readonly number[], string])[] = [
  ['gzip-compressed', [0x1f, 0x8b], 'gunzip it, or `tar -xzf` a .tar.gz'],
  ['a zip archive', [0x50, 0x4b, 0x03, 0x04], 'unzip it'],
  ['bzip2-compressed', [0x42, 0x5a, 0x68], 'bunzip2 it, or `tar -xjf` a .tar.bz2'],
  ['xz-compressed', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'unxz it, or `tar -xJf` a .tar.xz'],
];

/** Checks that `file` is an existing, non-empty regular file of text, not a compressed archive. */
async function checkFile(file: string, expected = 'a header and data rows'): Promise<void> {
  if (typeof file !== 'string' || file === '') throw new InvalidOptionError('file', 'a file path', file);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(file);
  } catch (e) {
    throw new InvalidDataError(
      `Cannot read ${file}: no such file`,
      [{ file, expected: 'an existing file' }],
      {
        cause: e,
      },
    );
  }
  if (st.isDirectory()) {
    throw new InvalidDataError(`Cannot read ${file}: it is a directory`, [
      { file, expected: 'a file, not a directory' },
    ]);
  }
  if (st.size === 0) {
    throw new InvalidDataError(`Cannot read ${file}: the file is empty`, [{ file, expected }]);
  }
  const head = Buffer.alloc(6);
  const handle = await fs.promises.open(file, 'r');
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  for (const [kind, magic, fix] of PACKED) {
    if (st.size >= magic.length && magic.every((b, i) => head[i] === b))
      throw new InvalidDataError(
        `Cannot read ${file}: it is ${kind}; ${fix} first and load the file inside`,
        [{ file, expected: `${expected}, as plain text (this file is ${kind})` }],
      );
  }
}

/**
 * A record whose quoted field is still open after this many physical lines is malformed: its first line is
 * reported, and the lines after it are read again as records of their own (as they are when the quote closes
 * but the record does not parse). Without this, one stray quote would swallow the rest of the file, or the
 * lines up to the next stray quote, into one bad "row".
 */
const MAX_QUOTED_LINES = 100;

/**
 * Whether a quoted field is still open at the end of `text`, given whether one was open at its start. A
 * quote opens a field only at the field's start (as papaparse reads it); `""` inside is an escaped quote.
 *
 * @internal
 * @example
 * ```ts
 * quoteOpenAfter('u1,"two', ',', false); // true: the record goes on on the next line
 * ```
 */
export function quoteOpenAfter(text: string, delimiter: string, open: boolean): boolean {
  let fieldStart = !open;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (open) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else open = false;
      }
      continue;
    }
    if (c === delimiter) fieldStart = true;
    else {
      if (c === '"' && fieldStart) open = true;
      fieldStart = false;
    }
  }
  return open;
}

/**
 * Splits one line that holds quotes into fields, by the rules papaparse applies: a field that starts with a
 * quote runs to the next lone quote (`""` is an escaped quote) and must end there, or after spaces; a quote
 * elsewhere is a plain character. Returns undefined when a closing quote is followed by anything but spaces
 * and the delimiter. Lines without quotes are split directly, and records that span lines go to papaparse.
 * A property test checks it against papaparse.
 *
 * @internal
 * @example
 * ```ts
 * splitQuotedLine('u1,"Hello, ""World""",x', ','); // ['u1', 'Hello, "World"', 'x']
 * ```
 */
export function splitQuotedLine(text: string, delimiter: string): string[] | undefined {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      let from = i + 1;
      for (;;) {
        const q = text.indexOf('"', from);
        if (q < 0) return undefined; // unterminated (the caller only passes closed quotes)
        value += text.slice(from, q);
        if (text[q + 1] === '"') {
          value += '"';
          from = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      while (text[i] === ' ') i++; // spaces between a closing quote and the delimiter are allowed
      if (i === text.length) return fields;
      if (text[i] !== delimiter) return undefined;
      i++;
    } else {
      const d = text.indexOf(delimiter, i);
      if (d < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, d));
      i = d + 1;
    }
  }
}

/**
 * The error for a file that is not valid UTF-8, naming the first line with an invalid byte sequence and
 * showing it. Read again (only on this path) with replacement characters, so the line can be counted.
 */
async function notUtf8(file: string): Promise<InvalidDataError> {
  // Streamed: a whole multi-gigabyte export would not fit in one string.
  const decoder = new TextDecoder('utf-8');
  let line = 1;
  let value: string | undefined;
  let lastCr = false; // a chunk that ended in \r, whose \n may open the next
  const stream = fs.createReadStream(file);
  try {
    for await (const bytes of stream as AsyncIterable<Buffer>) {
      const text = decoder.decode(bytes, { stream: true });
      const at = text.indexOf('\uFFFD');
      const upTo = at >= 0 ? text.slice(0, at) : text;
      line += (upTo.match(/\r\n|\r|\n/g)?.length ?? 0) - (lastCr && upTo.startsWith('\n') ? 1 : 0);
      if (at >= 0) {
        // The bad line (this chunk's part of it): from the last break before it to the next one.
        const from = Math.max(upTo.lastIndexOf('\n'), upTo.lastIndexOf('\r')) + 1;
        const end = text.slice(at).search(/[\r\n]/);
        value = text.slice(from, end < 0 ? undefined : at + end);
        break;
      }
      lastCr = text.endsWith('\r');
    }
  } finally {
    stream.destroy();
  }
  return new InvalidDataError(`Cannot read ${file}: it is not valid UTF-8`, [
    {
      file,
      line,
      ...(value !== undefined ? { value } : {}),
      expected:
        'UTF-8 text (this looks like another encoding, such as Latin-1 or Windows-1252: convert it, e.g. `iconv -f windows-1252 -t utf-8`)',
    },
  ]);
}

/**
 * Streams a text file as physical lines, each with the break that ended it (`\n`, `\r\n`, `\r`, or `''` for a
 * last line without one): 1-based line numbers, BOM stripped. `onLine` returns false to stop.
 *
 * Bytes are decoded strictly: a file that is not valid UTF-8 (a Latin-1 export) is an error naming the line,
 * not text with replacement characters, which would merge distinct names. A lone `\r` ends a line only in a
 * file with old Mac line ends (no `\n` in its first chunk); elsewhere it is part of the line, so a stray one
 * inside a name neither splits the row nor shifts the line numbers after it.
 */
async function streamRawLines(
  file: string,
  onLine: (text: string, eol: string, line: number) => boolean,
): Promise<void> {
  const stream = fs.createReadStream(file);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = 0;
  const emit = (text: string, eol: string): boolean => {
    line++;
    return onLine(line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, eol, line);
  };
  let rest = '';
  let crEnds: boolean | undefined; // whether a lone \r ends a line, decided on the first chunk
  try {
    for await (const bytes of stream as AsyncIterable<Buffer>) {
      let chunk: string;
      try {
        chunk = decoder.decode(bytes, { stream: true });
      } catch {
        throw await notUtf8(file);
      }
      const s = rest + chunk;
      crEnds ??= !s.includes('\n');
      let start = 0;
      let nl = s.indexOf('\n');
      let cr = crEnds ? s.indexOf('\r') : -1;
      for (;;) {
        if (nl < 0 && cr < 0) break;
        if (cr >= 0 && (nl < 0 || cr < nl)) {
          if (cr === s.length - 1) break; // maybe the first half of a \r\n split across chunks
          const crlf = s.charCodeAt(cr + 1) === 10;
          if (!emit(s.slice(start, cr), crlf ? '\r\n' : '\r')) return;
          start = cr + (crlf ? 2 : 1);
          if (crlf) nl = s.indexOf('\n', start);
          cr = s.indexOf('\r', start);
        } else {
          const crlf = nl > start && s.charCodeAt(nl - 1) === 13;
          if (!emit(s.slice(start, crlf ? nl - 1 : nl), crlf ? '\r\n' : '\n')) return;
          start = nl + 1;
          nl = s.indexOf('\n', start);
        }
      }
      rest = s.slice(start);
    }
    try {
      rest += decoder.decode(); // a multi-byte character cut off at the end of the file throws here
    } catch {
      throw await notUtf8(file);
    }
    if (rest.endsWith('\r'))
      emit(rest.slice(0, -1), '\r'); // a last \r ends the file's last line
    else if (rest !== '') emit(rest, '');
  } finally {
    stream.destroy();
  }
}

/**
 * Streams a delimited file, calling `onRow` with each record's fields and the 1-based physical line it starts
 * on. Blank lines are skipped; `onRow` returns false to stop. A line without quotes is split as it is; a
 * record with quotes (which may span lines) is parsed by papaparse, and a malformed one goes to `onError`
 * with its line, alone: the lines after it are still read (see {@link MAX_QUOTED_LINES}).
 */
async function streamCsv(
  file: string,
  delimiter: string,
  onRow: (fields: string[], line: number) => boolean,
  onError: (line: number, message: string) => boolean,
): Promise<void> {
  let pending: { text: string; eol: string; line: number }[] = [];
  const record = (text: string, line: number): boolean => {
    const fields = splitQuotedLine(text, delimiter);
    if (!fields) return onError(line, 'Trailing quote on quoted field is malformed');
    return onRow(fields, line);
  };
  const unclosed = (message = 'Quoted field unterminated'): boolean => {
    // The first pending line opened a quote that never closed properly: it is the bad record, and the lines
    // after it are read again on their own.
    const [first, ...after] = pending;
    pending = [];
    if (!onError(first!.line, message)) return false;
    for (const l of after) if (!feed(l.text, l.eol, l.line)) return false;
    return true;
  };
  const feed = (text: string, eol: string, line: number): boolean => {
    if (pending.length === 0) {
      if (!text.includes('"')) return text.trim() === '' || onRow(text.split(delimiter), line);
      if (!quoteOpenAfter(text, delimiter, false)) return record(text, line);
      pending.push({ text, eol, line });
      return true;
    }
    pending.push({ text, eol, line });
    if (quoteOpenAfter(text, delimiter, true)) return pending.length < MAX_QUOTED_LINES || unclosed();
    const whole = pending.map((p, i) => (i < pending.length - 1 ? p.text + p.eol : p.text)).join('');
    const parsed = Papa.parse<string[]>(whole, {
      delimiter,
      newline: '\n',
      header: false,
      skipEmptyLines: false,
    });
    // A quote that closed lines later but malformed (a stray quote meeting another): only the first line is bad.
    if (parsed.errors.length > 0) return unclosed(parsed.errors[0]!.message);
    const start = pending[0]!.line;
    pending = [];
    return onRow(parsed.data[0]!, start);
  };
  let go = true;
  await streamRawLines(file, (text, eol, line) => (go = feed(text, eol, line)));
  while (go && pending.length > 0) go = unclosed();
}

/** Streams a text file line by line (any line ending), 1-based line numbers, BOM stripped. */
function streamLines(file: string, onLine: (text: string, line: number) => boolean): Promise<void> {
  return streamRawLines(file, (text, _eol, line) => onLine(text, line));
}

/**
 * A header that is not well-formed CSV: the whole file's columns are unknown, so this is an error in either
 * `onInvalidRow` mode, not a skipped row (otherwise the first data row would be read as the header).
 */
function malformedHeader(file: string, line: number, message: string): InvalidDataError {
  return new InvalidDataError(`${file}: the header row is not well-formed CSV`, [
    { file, line, expected: `a well-formed header row (${message})` },
  ]);
}

/** Resolves a header (on `line`, after any blank lines) into canonical column -> field index, checking required columns. */
function resolveHeader(
  file: string,
  header: string[],
  canonical: readonly string[],
  required: readonly string[],
  mapping: Map<string, string>,
  line: number,
): Map<string, number> {
  const trimmed = header.map((h) => h.trim());
  const index = new Map<string, number>();
  const missing: string[] = [];
  for (const col of canonical) {
    const name = mapping.get(col) ?? col;
    const i = trimmed.indexOf(name);
    const again = i >= 0 ? trimmed.indexOf(name, i + 1) : -1;
    if (again >= 0)
      // Which of two same-named columns holds the values is anyone's guess: say so rather than pick one.
      throw new InvalidDataError(`${file}: the header names column \`${name}\` twice`, [
        {
          file,
          line,
          column: name,
          value: trimmed.join(','),
          expected: `each column name once (found at positions ${i + 1} and ${again + 1})`,
        },
      ]);
    // A header mapped to one column may still be another column's own name: reading it twice would fill
    // both columns with the same values.
    const twin = i >= 0 ? [...index].find(([, at]) => at === i)?.[0] : undefined;
    if (twin !== undefined) {
      const mapped = mapping.has(col) ? col : twin;
      const other = mapped === col ? twin : col;
      throw new InvalidOptionError(
        `columns.${mapped}`,
        `a header that column \`${other}\` does not read too (it reads '${name}'; map \`${other}\` to another header in \`columns\`)`,
        name,
      );
    }
    if (i >= 0) index.set(col, i);
    else if (required.includes(col))
      missing.push(name === col ? `\`${col}\`` : `\`${name}\` (for \`${col}\`)`);
  }
  if (missing.length > 0) {
    throw new InvalidDataError(
      `${file}: missing required column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; header found: ${trimmed.join(',')}`,
      missing.map((m) => ({
        file,
        line,
        column: m.replace(/`/g, ''),
        value: trimmed.join(','),
        expected: 'this column in the header',
      })),
    );
  }
  return index;
}

const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Unit of a digits-only timestamp: `'ms'` (epoch milliseconds), `'s'` (epoch seconds, as Last.fm's and
 * ListenBrainz's exports write them) or `'auto'`.
 *
 * @example
 * ```ts
 * const unit: TimestampUnit = 's';
 * ```
 */
export type TimestampUnit = 'auto' | 'ms' | 's';

/** Digits-only values in `[AUTO_SECONDS_FROM, AUTO_SECONDS_BELOW)` are epoch seconds under `'auto'`. */
const AUTO_SECONDS_FROM = 1e8; // 1973-03-03 in seconds; as milliseconds, the second day of 1970
const AUTO_SECONDS_BELOW = 1e11; // the year 5138 in seconds; as milliseconds, 1973-03-03

/** Whether `'auto'` reads these digits as epoch seconds. */
function autoReadsSeconds(n: number): boolean {
  return n >= AUTO_SECONDS_FROM && n < AUTO_SECONDS_BELOW;
}

/**
 * Parses a timestamp to epoch milliseconds: digits only (epoch milliseconds or seconds, see `unit`) or ISO
 * 8601 (`YYYY-MM-DD`, optional `THH:MM[:SS[.fff]]`, optional `Z` or `±HH[:MM]`; no zone means UTC).
 * Returns undefined when it is neither.
 *
 * With `unit: 'auto'` (default), a digits-only value from 10^8 up to 10^11 is read as epoch seconds: as
 * milliseconds it would fall between 1970-01-02 and 1973-03-03, which no listening log holds, while epoch
 * seconds of any date from 1973 on land there. Larger values are milliseconds, and smaller ones (synthetic
 * or positional times) are kept as they are.
 *
 * @example
 * ```ts
 * parseTimestamp('2024-01-01T10:00:00Z'); // 1704103200000
 * parseTimestamp('1704103200000');        // 1704103200000 (milliseconds)
 * parseTimestamp('1704103200');           // 1704103200000 (seconds, read by 'auto')
 * parseTimestamp('1704103200', 'ms');     // 1704103200 (forced: 1970-01-20)
 * parseTimestamp('yesterday');            // undefined
 * ```
 */
export function parseTimestamp(text: string, unit: TimestampUnit = 'auto'): number | undefined {
  if (typeof text !== 'string') throw new InvalidOptionError('text', 'a timestamp as text', text);
  if (unit !== 'auto' && unit !== 's' && unit !== 'ms')
    throw new InvalidOptionError('unit', "'auto', 's' or 'ms'", unit);
  const s = text.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (!Number.isSafeInteger(n)) return undefined;
    const seconds = unit === 's' || (unit === 'auto' && autoReadsSeconds(n));
    return seconds ? (Number.isSafeInteger(n * 1000) ? n * 1000 : undefined) : n;
  }
  const m = ISO_RE.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h = '0', mi = '0', sec = '0', frac = '', zone = 'Z'] = m
    .slice(1)
    .map((x) => x) as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(sec);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return undefined;
  const ms = Number((frac ?? '').slice(0, 3).padEnd(3, '0'));
  // Date.UTC reads years 0-99 as 1900-1999; setUTCFullYear takes the year as written.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, ms));
  date.setUTCFullYear(year, month - 1, day);
  const t = date.getTime();
  if (date.getUTCDate() !== day) return undefined; // e.g. 2023-02-30
  let offset = 0;
  if (zone.toUpperCase() !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return undefined;
    offset = sign * (oh * 60 + om) * 60_000;
  }
  return t - offset;
}

/** How a loader reads times: the latest acceptable time and the unit of digits-only timestamps. */
interface TimeRules {
  latest: number;
  unit: TimestampUnit;
}

function timestampField(column: string, text: string, time: TimeRules): number {
  // Epoch digits written with a zero decimal (`1700000000.0`, as pandas writes a column with gaps).
  const t = parseTimestamp(integral(text.trim()), time.unit);
  if (t === undefined) {
    const digits =
      time.unit === 'auto'
        ? 'epoch milliseconds or seconds'
        : time.unit === 's'
          ? 'epoch seconds'
          : 'epoch milliseconds';
    fail(
      column,
      text,
      `an ISO 8601 date-time (e.g. 2024-01-31T18:05:00Z) or ${digits} (a non-negative integer)`,
    );
  }
  if (t < 0) fail(column, text, 'a time from 1970-01-01T00:00:00Z on');
  if (t > time.latest) {
    const hint = time.unit === 's' ? "; with timestampUnit: 's', digits are read as epoch seconds" : '';
    fail(column, text, `a time not in the future (at most 1 day after now)${hint}`);
  }
  return t;
}

function requiredText(column: string, raw: string | undefined): string {
  // Spaces around an id are the file's layout (`u1, t1, ...`), as they are around numbers: " u1 " and "u1"
  // are one listener. An id of spaces only is empty.
  const text = raw?.trim();
  if (text === undefined || text === '') fail(column, raw ?? '', 'a non-empty value');
  // An id never spans lines; one that does swallowed the next rows after an unbalanced quote (`12" Mix`).
  if (/[\r\n]/.test(text))
    fail(column, text, 'a value on one line (a line break inside it means an unbalanced quote opened here)');
  return text;
}

/**
 * An integer written as a decimal with only zeros after the point (`180000.0`) read as the integer: pandas
 * writes an integer column that has missing values as floats.
 */
const integral = (s: string): string => (/^-?\d+\.0+$/.test(s) ? s.slice(0, s.indexOf('.')) : s);

function optionalInt(column: string, text: string): number | undefined {
  const s = integral(text.trim());
  if (s === '') return undefined; // blank like the other optional columns (skip_level, saved)
  if (!/^-?\d+$/.test(s)) fail(column, text, 'a non-negative integer (or empty)');
  const n = Number(s);
  if (n < 0) fail(column, text, 'a non-negative integer (or empty)');
  if (!Number.isSafeInteger(n)) fail(column, text, 'an integer below 2^53');
  return n;
}

function optionalBool(column: string, text: string, required = false): boolean | undefined {
  const s = text.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  if (s === '' && !required) return undefined;
  fail(column, text, required ? '`true` or `false`' : '`true` or `false` (or empty)');
}

function requiredBool(column: string, text: string): boolean {
  return optionalBool(column, text, true)!;
}

function skipLevelField(column: string, text: string): SkipLevel | undefined {
  if (text.trim() === '') return undefined;
  const s = integral(text.trim());
  if (s !== '0' && s !== '1' && s !== '2' && s !== '3')
    fail(column, text, 'a skip level 0, 1, 2 or 3 (or empty)');
  return Number(s) as SkipLevel;
}

/** Open-addressing hash set over listen indices, to find exact (user, track, timestamp) duplicates in O(1) each. */
class DuplicateIndex {
  private slots = new Int32Array(1 << 12); // 0 = empty, else index + 1
  private hashes = new Uint32Array(1 << 11); // hash of items[i]
  private count = 0;
  constructor(private readonly items: readonly Listen[]) {}

  private static hash(l: Listen): number {
    let h = 0x811c9dc5;
    const u = l.userId;
    for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
    const t = l.trackId;
    for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xff, 0x01000193);
    h = Math.imul(h ^ (l.timestamp % 0x100000000), 0x01000193);
    h = Math.imul(h ^ Math.floor(l.timestamp / 0x100000000), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h >>> 0;
  }

  /** Index of an earlier equal listen, or -1 after adding `index` (which must be items[index]). */
  addOrFind(index: number): number {
    const l = this.items[index]!;
    const h = DuplicateIndex.hash(l);
    const mask = this.slots.length - 1;
    let i = h & mask;
    for (;;) {
      const v = this.slots[i]!;
      if (v === 0) break;
      if (this.hashes[v - 1] === h) {
        const o = this.items[v - 1]!;
        if (o.timestamp === l.timestamp && o.userId === l.userId && o.trackId === l.trackId) return v - 1;
      }
      i = (i + 1) & mask;
    }
    if (index >= this.hashes.length) {
      const grown = new Uint32Array(this.hashes.length * 2);
      grown.set(this.hashes);
      this.hashes = grown;
    }
    this.hashes[index] = h;
    this.slots[i] = index + 1;
    this.count++;
    if (this.count * 2 > this.slots.length) this.grow();
    return -1;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (const v of old) {
      if (v === 0) continue;
      let i = this.hashes[v - 1]! & mask;
      while (this.slots[i] !== 0) i = (i + 1) & mask;
      this.slots[i] = v;
    }
  }
}

/** Adds a listen unless it duplicates an earlier one; returns false when reading should stop. */
function acceptListen(
  c: Collector<Listen>,
  dups: DuplicateIndex,
  lines: number[],
  listen: Listen,
  line: number,
): boolean {
  const prev = addUnlessDuplicate(c, dups, listen);
  if (prev < 0) {
    lines.push(line);
    return true;
  }
  return c.issue(line, duplicateIssue(listen, `line ${lines[prev]}`));
}

/** Replaces a listen's strings by the collector's shared copies (see {@link Interner}). */
function internListen(c: Collector<Listen>, listen: Listen): void {
  const intern = c.strings;
  listen.userId = intern.get(listen.userId);
  listen.trackId = intern.get(listen.trackId);
  if (listen.reasonEnd !== undefined) listen.reasonEnd = intern.get(listen.reasonEnd);
  if (listen.context !== undefined) listen.context = intern.get(listen.context);
  if (listen.sessionId !== undefined) listen.sessionId = intern.get(listen.sessionId);
  if (listen.artistId !== undefined) listen.artistId = intern.get(listen.artistId);
}

/** Interns the listen's strings and adds it; returns the index of an exact duplicate instead (not added), else -1. */
function addUnlessDuplicate(c: Collector<Listen>, dups: DuplicateIndex, listen: Listen): number {
  internListen(c, listen);
  c.items.push(listen);
  const prev = dups.addOrFind(c.items.length - 1);
  if (prev >= 0) c.items.pop();
  return prev;
}

function duplicateIssue(listen: Listen, earlier: string): RowIssue {
  return {
    column: undefined,
    value: `${listen.userId},${listen.trackId},${listen.timestamp}`,
    expected: `a listen that is not an exact duplicate (same user, track and timestamp) of ${earlier}`,
  };
}

function handleRow(
  c: Collector<Listen>,
  line: number,
  build: () => Listen,
  accept: (l: Listen) => boolean,
): boolean {
  c.rows++;
  try {
    return accept(build());
  } catch (e) {
    if (e instanceof RowError) return c.issue(line, e.issue);
    throw e;
  }
}

function fieldCountCheck(fields: string[], expected: number): void {
  if (fields.length !== expected) {
    fail(undefined, `${fields.length} fields`, `${expected} fields, as in the header`);
  }
}

type Getter<C extends string> = (name: C) => string;

/**
 * Streams a CSV file with a header into listens: resolves the header, then calls `build` for each data row
 * (closures are created once, not per row, to keep large files fast).
 */
async function loadCsvListens<C extends string>(
  file: string,
  c: Collector<Listen>,
  canonical: readonly C[],
  required: readonly C[],
  mapping: Map<string, string>,
  build: (get: Getter<C>, col: (name: C) => string) => Listen,
): Promise<void> {
  let index: Map<string, number> | undefined;
  let width = 0;
  let fields: string[] = [];
  let current = 0;
  const dups = new DuplicateIndex(c.items);
  const lines: number[] = [];
  const get = (name: C): string => {
    const i = index!.get(name);
    return i === undefined ? '' : (fields[i] ?? '');
  };
  const col = (name: C): string => mapping.get(name) ?? name;
  const buildRow = (): Listen => {
    fieldCountCheck(fields, width);
    return build(get, col);
  };
  const accept = (l: Listen): boolean => acceptListen(c, dups, lines, l, current);
  await streamCsv(
    file,
    ',',
    (f, line) => {
      if (!index) {
        index = resolveHeader(file, f, canonical, required, mapping, line);
        width = f.length;
        return true;
      }
      fields = f;
      current = line;
      return handleRow(c, line, buildRow, accept);
    },
    (line, message) => {
      if (!index) throw malformedHeader(file, line, message);
      c.rows++;
      return c.issue(line, { expected: `well-formed CSV (${message})` });
    },
  );
  if (!index) throw new InvalidDataError(`${file}: no header row`, [{ file, expected: 'a header row' }]);
}

function buildCanonicalListen(
  get: Getter<ListenColumn>,
  col: (name: ListenColumn) => string,
  time: TimeRules,
): Listen {
  const userId = requiredText(col('user_id'), get('user_id'));
  const trackId = requiredText(col('track_id'), get('track_id'));
  const timestamp = timestampField(col('timestamp'), get('timestamp'), time);
  // Fields go in the object literal where they can: each one added afterwards moves the listen's fields
  // to a separate properties array (on 1,000,000 rows of every column: 131 against 163 bytes a listen).
  // So a row with every optional value is built in one literal; other rows keep their few fields.
  const artistId = get('artist_id');
  const msPlayed = optionalInt(col('ms_played'), get('ms_played'));
  const durationMs = optionalInt(col('duration_ms'), get('duration_ms'));
  const skipLevel = skipLevelField(col('skip_level'), get('skip_level'));
  const reasonEnd = get('reason_end');
  const saved = optionalBool(col('saved'), get('saved'));
  const context = get('context');
  const sessionId = get('session_id');
  if (
    msPlayed !== undefined &&
    durationMs !== undefined &&
    skipLevel !== undefined &&
    reasonEnd !== '' &&
    saved !== undefined &&
    context !== '' &&
    sessionId !== ''
  ) {
    // biome-ignore format: one listen a line
    return artistId === ''
      ? { userId, trackId, timestamp, msPlayed, durationMs, skipLevel, reasonEnd, saved, context, sessionId }
      : { userId, trackId, timestamp, artistId, msPlayed, durationMs, skipLevel, reasonEnd, saved, context, sessionId };
  }
  const listen: Listen =
    artistId === '' ? { userId, trackId, timestamp } : { userId, trackId, timestamp, artistId };
  if (msPlayed !== undefined) listen.msPlayed = msPlayed;
  if (durationMs !== undefined) listen.durationMs = durationMs;
  if (skipLevel !== undefined) listen.skipLevel = skipLevel;
  if (reasonEnd !== '') listen.reasonEnd = reasonEnd;
  if (saved !== undefined) listen.saved = saved;
  if (context !== '') listen.context = context;
  if (sessionId !== '') listen.sessionId = sessionId;
  return listen;
}

const MSSD_COLUMNS = [
  'session_id',
  'session_position',
  'track_id_clean',
  'skip_1',
  'skip_2',
  'skip_3',
  'not_skipped',
  'date',
  'context_type',
  'hist_user_behavior_reason_end',
] as const;
type MssdColumn = (typeof MSSD_COLUMNS)[number];

/**
 * The positions seen so far in the session being read. MSSD logs list each session's rows together, so a
 * position used twice (two tracks at one place in the play order) is found without indexing the whole file.
 */
interface MssdPositions {
  session: string;
  seen: Set<number>;
}

function buildMssdListen(get: Getter<MssdColumn>, time: TimeRules, positions: MssdPositions): Listen {
  const session = requiredText('session_id', get('session_id'));
  const trackId = requiredText('track_id_clean', get('track_id_clean'));
  const posText = get('session_position').trim();
  if (!/^\d+$/.test(posText) || Number(posText) < 1) {
    fail('session_position', get('session_position'), 'a positive integer');
  }
  if (positions.session !== session) {
    positions.session = session;
    positions.seen.clear();
  }
  if (positions.seen.has(Number(posText)))
    fail('session_position', get('session_position'), `a position not already used in session ${session}`);
  positions.seen.add(Number(posText));
  const dateText = get('date').trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dateText)) fail('date', get('date'), 'a date YYYY-MM-DD');
  const day = timestampField('date', dateText, time);
  const s1 = requiredBool('skip_1', get('skip_1'));
  const s2 = requiredBool('skip_2', get('skip_2'));
  const s3 = requiredBool('skip_3', get('skip_3'));
  requiredBool('not_skipped', get('not_skipped'));
  const timestamp = day + Number(posText) * 1000;
  const skipLevel = s1 ? 1 : s2 ? 2 : s3 ? 3 : 0;
  const reasonEnd = get('hist_user_behavior_reason_end');
  const context = get('context_type');
  // One object literal where the row has every field, as in buildCanonicalListen.
  if (reasonEnd !== '' && context !== '')
    return { userId: session, trackId, timestamp, skipLevel, reasonEnd, context, sessionId: session };
  const listen: Listen = { userId: session, trackId, timestamp, skipLevel, sessionId: session };
  if (reasonEnd !== '') listen.reasonEnd = reasonEnd;
  if (context !== '') listen.context = context;
  return listen;
}

async function loadLastfm(
  file: string,
  c: Collector<Listen>,
  time: TimeRules,
  catalogue: Map<string, Track>,
): Promise<void> {
  const dups = new DuplicateIndex(c.items);
  const lines: number[] = [];
  await streamLines(file, (text, line) => {
    if (text.trim() === '' && !text.includes('\t')) return true; // a line of tabs is a row of empty fields
    return handleRow(
      c,
      line,
      () => {
        const f = text.split('\t');
        if (f.length !== 6) {
          fail(
            undefined,
            `${f.length} fields`,
            '6 tab-separated fields: userid, timestamp, artid, artname, traid, traname',
          );
        }
        const [user, stamp, artid, artname, traid, traname] = f as [
          string,
          string,
          string,
          string,
          string,
          string,
        ];
        const userId = requiredText('userid', user);
        const timestamp = timestampField('timestamp', stamp, time);
        let trackId = traid.trim();
        if (trackId === '') {
          if (traname.trim() === '') fail('traname', traname, 'a track name when traid is empty');
          trackId = `${artname.trim()} - ${traname.trim()}`;
        }
        // The track's artist: its MusicBrainz id, or its name when the id is empty (first row wins).
        const artistId = artid.trim() || artname.trim();
        if (artistId !== '' && !catalogue.has(trackId)) {
          const intern = c.strings;
          catalogue.set(intern.get(trackId), {
            trackId: intern.get(trackId),
            title: intern.get(traname.trim()),
            artistId: intern.get(artistId),
            artist: intern.get(artname.trim()),
          });
        }
        return artistId === '' ? { userId, trackId, timestamp } : { userId, trackId, timestamp, artistId };
      },
      (l) => acceptListen(c, dups, lines, l, line),
    );
  });
}

/** Column names a header line of a `sequences` file would start with (`user_id item_id`, `user:token ...`). */
const SEQUENCE_HEADER_USER = /^(user|session|playlist)(_?id)?(:\w+)?$/i;
const SEQUENCE_HEADER_ITEM = /^(item|track|song)(_?id)?(:\w+)?$/i;

async function loadSequences(file: string, c: Collector<Listen>): Promise<void> {
  const next = new Map<string, number>();
  await streamLines(file, (text, line) => {
    const tokens = text.trim().split(/\s+/);
    if (tokens.length === 1 && tokens[0] === '') return true;
    if (tokens.length < 2) {
      c.rows++;
      return c.issue(line, {
        column: 'item',
        value: text,
        expected: 'a user id followed by at least one item id',
      });
    }
    // Research files have no header; one that starts with a header line would load it as a listener.
    if (
      c.items.length === 0 &&
      SEQUENCE_HEADER_USER.test(tokens[0]!) &&
      SEQUENCE_HEADER_ITEM.test(tokens[1]!)
    ) {
      c.rows++;
      return c.issue(line, {
        column: 'user',
        value: text,
        expected: 'a user id and item ids, not a header line (this format has none: remove the line)',
      });
    }
    c.rows += tokens.length - 1; // one row per (user, item) pair
    const user = c.strings.get(tokens[0]!);
    let t = next.get(user) ?? 0;
    for (let i = 1; i < tokens.length; i++)
      c.items.push({ userId: user, trackId: c.strings.get(tokens[i]!), timestamp: t++ });
    next.set(user, t);
    return true;
  });
}

/**
 * JSON files larger than this are refused up front: V8's longest string is 2^29 - 24 characters, and a file
 * has at least as many bytes as characters.
 */
const MAX_JSON_BYTES = 2 ** 29 - 24;

/** A JSON value as text for an issue (long values are cut by {@link formatIssue}). */
function jsonText(v: unknown): string {
  if (v === undefined) return 'nothing';
  // Numbers as written by String: JSON.parse reads 1e999 as Infinity, which JSON.stringify would print as null.
  return typeof v === 'string' || typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? String(v));
}

const isJsonObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/**
 * Reads and parses one JSON file. A syntax error throws {@link InvalidDataError} naming the line and column
 * (V8's own message does not always give the position, so jsonc-parser locates it).
 */
async function readJsonFile(file: string): Promise<unknown> {
  const { size } = await fs.promises.stat(file);
  if (size > MAX_JSON_BYTES) {
    throw new InvalidDataError(`Cannot read ${file}: ${size} bytes is more than one JSON file can hold`, [
      { file, value: `${size} bytes`, expected: `a JSON file of at most ${MAX_JSON_BYTES} bytes` },
    ]);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await fs.promises.readFile(file));
  } catch {
    throw await notUtf8(file);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch (e) {
    const errors: ParseError[] = [];
    parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    const first = errors[0];
    const where = first ? lineColumn(text, first.offset) : undefined;
    const what = first ? printParseErrorCode(first.error) : (e as Error).message;
    const at = where ? ` at line ${where.line}, column ${where.column}` : '';
    throw new InvalidDataError(
      `${file}: not valid JSON${at} (${what})`,
      [
        {
          file,
          line: where?.line,
          value: first ? text.slice(first.offset, first.offset + Math.max(1, first.length)) : undefined,
          expected: `valid JSON (${what}${where ? ` at column ${where.column}` : ''})`,
        },
      ].map(stripUndefined),
      { cause: e },
    );
  }
}

/** Orders names with their digit runs compared as numbers (`slice.2-9` before `slice.10-19`), else by code unit. */
function naturalCompare(a: string, b: string): number {
  const re = /(\d+)|(\D+)/g;
  const pa = a.match(re) ?? [];
  const pb = b.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const nx = /^\d/.test(x) ? Number(x) : Number.NaN;
    const ny = /^\d/.test(y) ? Number(y) : Number.NaN;
    if (!Number.isNaN(nx) && !Number.isNaN(ny) && nx !== ny) return nx - ny;
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The JSON files to read: `target` itself when it is a file, else the files of the directory `target` whose
 * names `pick` accepts, in natural order (`mpd.slice.1000-1999.json` after `mpd.slice.0-999.json`).
 */
async function jsonFiles(target: string, pick: (name: string) => boolean, what: string): Promise<string[]> {
  if (typeof target !== 'string' || target === '')
    throw new InvalidOptionError('file', 'a file path', target);
  let st: fs.Stats;
  try {
    st = await fs.promises.stat(target);
  } catch (e) {
    throw new InvalidDataError(
      `Cannot read ${target}: no such file or directory`,
      [{ file: target, expected: `${what}, or a directory of them` }],
      { cause: e },
    );
  }
  if (!st.isDirectory()) {
    await checkFile(target, what);
    return [target];
  }
  const names = (await fs.promises.readdir(target)).filter(pick).sort(naturalCompare);
  if (names.length === 0) {
    throw new InvalidDataError(`Cannot read ${target}: the directory has none of the expected .json files`, [
      { file: target, expected: `a directory holding ${what}` },
    ]);
  }
  for (const n of names) await checkFile(path.join(target, n), what);
  return names.map((n) => path.join(target, n));
}

/** Where each playlist id was first seen, for the duplicate check across slices. */
type PidIndex = Map<number, string>;

/**
 * Reads the Spotify Million Playlist Dataset: each playlist is a listener (`userId` = `pid`) whose sequence is
 * its tracks in `pos` order. See {@link loadListens} for the mapping.
 */
async function loadMpd(
  target: string,
  c: Collector<Listen>,
  time: TimeRules,
  catalogue: Map<string, Track>,
): Promise<void> {
  const pids: PidIndex = new Map();
  const files = await jsonFiles(
    target,
    (n) => n.toLowerCase().endsWith('.json'),
    'MPD slice files (mpd.slice.0-999.json, ...)',
  );
  for (const file of files) {
    const doc = await readJsonFile(file);
    const playlists = Array.isArray(doc) ? doc : isJsonObject(doc) ? doc.playlists : undefined;
    if (!Array.isArray(playlists)) {
      throw new InvalidDataError(`${file}: no \`playlists\` array`, [
        {
          file,
          column: 'playlists',
          value: jsonText(isJsonObject(doc) ? doc.playlists : doc),
          expected: 'an object with a `playlists` array (an MPD slice), or an array of playlists',
        },
      ]);
    }
    for (let p = 0; p < playlists.length; p++) {
      if (!readPlaylist(file, `playlists[${p}]`, playlists[p], c, time, catalogue, pids)) return;
    }
  }
}

/** Reads one MPD playlist into `c`; returns false when reading should stop. */
function readPlaylist(
  file: string,
  at: string,
  playlist: unknown,
  c: Collector<Listen>,
  time: TimeRules,
  catalogue: Map<string, Track>,
  pids: PidIndex,
): boolean {
  // Playlist-level problems make the whole playlist one unreadable row.
  let pid: number;
  let base: number;
  let tracks: unknown[];
  try {
    if (!isJsonObject(playlist)) fail(at, jsonText(playlist), 'a playlist object');
    const rawPid = playlist.pid;
    if (!Number.isSafeInteger(rawPid) || (rawPid as number) < 0)
      fail(`${at}.pid`, jsonText(rawPid), 'a non-negative integer playlist id');
    pid = rawPid as number;
    const seen = pids.get(pid);
    if (seen !== undefined) fail(`${at}.pid`, String(pid), `a playlist id not already used (${seen})`);
    const modified = playlist.modified_at;
    base = 0;
    if (modified !== undefined) {
      if (!Number.isSafeInteger(modified) || (modified as number) < 0)
        fail(`${at}.modified_at`, jsonText(modified), 'epoch seconds (a non-negative integer)');
      base = (modified as number) * 1000;
      if (base > time.latest)
        fail(`${at}.modified_at`, String(modified), 'a time not in the future (at most 1 day after now)');
    }
    if (!Array.isArray(playlist.tracks))
      fail(`${at}.tracks`, jsonText(playlist.tracks), 'an array of tracks');
    tracks = playlist.tracks;
  } catch (e) {
    if (!(e instanceof RowError)) throw e;
    c.rows++;
    return c.issue(undefined, e.issue, file);
  }
  pids.set(pid, `${path.basename(file)} ${at}`);
  const userId = c.strings.get(String(pid));
  const byPos = new Map<number, number>(); // pos -> index in `tracks`
  const kept: Listen[] = [];
  for (let j = 0; j < tracks.length; j++) {
    c.rows++;
    const tat = `${at}.tracks[${j}]`;
    try {
      const t = tracks[j];
      if (!isJsonObject(t)) fail(tat, jsonText(t), 'a track object');
      const pos = t.pos;
      if (!Number.isSafeInteger(pos) || (pos as number) < 0)
        fail(`${tat}.pos`, jsonText(pos), 'a non-negative integer position');
      const prev = byPos.get(pos as number);
      if (prev !== undefined)
        fail(`${tat}.pos`, String(pos), `a position not already used (tracks[${prev}])`);
      const uri = t.track_uri;
      if (typeof uri !== 'string' || uri === '')
        fail(`${tat}.track_uri`, jsonText(uri), 'a non-empty track URI');
      const duration = t.duration_ms;
      if (duration !== undefined && (!Number.isSafeInteger(duration) || (duration as number) < 0))
        fail(`${tat}.duration_ms`, jsonText(duration), 'a non-negative integer (or absent)');
      for (const key of ['track_name', 'artist_uri', 'artist_name'] as const) {
        if (t[key] !== undefined && typeof t[key] !== 'string')
          fail(`${tat}.${key}`, jsonText(t[key]), 'a string');
      }
      byPos.set(pos as number, j);
      const trackId = c.strings.get(uri);
      // The duration goes in the catalogue only: without a play time it says nothing about this entry.
      const artistName = (t.artist_name as string | undefined) ?? '';
      const artistId = c.strings.get((t.artist_uri as string | undefined) || artistName); // '' = none
      const timestamp = base + (pos as number);
      // One object literal either way: a field added afterwards costs a properties array a listen (MPD
      // measured 179 bytes an entry that way, against 139 without artists).
      kept.push(
        artistId !== ''
          ? { userId, trackId, timestamp, context: 'playlist', artistId }
          : { userId, trackId, timestamp, context: 'playlist' },
      );
      if (artistId !== '' && !catalogue.has(trackId)) {
        const track: Track = {
          trackId,
          title: c.strings.get((t.track_name as string | undefined) ?? ''),
          artistId,
          artist: c.strings.get(artistName),
        };
        if (duration !== undefined) track.durationMs = duration as number;
        catalogue.set(trackId, track);
      }
    } catch (e) {
      if (!(e instanceof RowError)) throw e;
      if (!c.issue(undefined, e.issue, file)) return false;
    }
  }
  kept.sort((a, b) => a.timestamp - b.timestamp);
  for (const l of kept) c.items.push(l);
  return true;
}

/** Whether a name is one of Spotify's streaming-history files (extended, or the account data's basic one). */
const SPOTIFY_HISTORY_FILE = /^(streaming_history_audio|streaminghistory|endsong).*\.json$/i;

/** A skipped stream's skip level: without the track's duration, only "very brief" (< 10 s) or "brief". */
const SPOTIFY_VERY_BRIEF_MS = 10_000;

/**
 * Reads a Spotify streaming-history export: the extended history (`ts`, `ms_played`, `spotify_track_uri`, ...)
 * or the account data's basic one (`endTime`, `artistName`, `trackName`, `msPlayed`). See {@link loadListens}.
 */
async function loadSpotifyHistory(
  target: string,
  c: Collector<Listen>,
  time: TimeRules,
  catalogue: Map<string, Track>,
  ignored: Record<string, number>,
  user: string | undefined,
): Promise<void> {
  const files = await jsonFiles(
    target,
    (n) => SPOTIFY_HISTORY_FILE.test(n),
    'Spotify streaming-history files (Streaming_History_Audio_*.json or StreamingHistory*.json)',
  );
  const dups = new DuplicateIndex(c.items);
  const places: string[] = []; // where each kept listen came from, for duplicate reports
  for (const file of files) {
    const doc = await readJsonFile(file);
    if (!Array.isArray(doc)) {
      throw new InvalidDataError(`${file}: not a streaming-history file`, [
        { file, value: jsonText(doc).slice(0, 60), expected: 'a JSON array of streams' },
      ]);
    }
    for (let i = 0; i < doc.length; i++) {
      const at = `[${i}]`;
      const e = doc[i];
      const kind = isJsonObject(e) ? nonTrackKind(e) : undefined;
      if (kind !== undefined) {
        ignored[kind] = (ignored[kind] ?? 0) + 1;
        continue;
      }
      c.rows++;
      let listen: Listen;
      try {
        listen = spotifyListen(e, at, time, user, c, catalogue);
      } catch (err) {
        if (!(err instanceof RowError)) throw err;
        if (!c.issue(undefined, err.issue, file)) return;
        continue;
      }
      // The basic export's endTime is to the minute, so a skip and a replay of one track within a minute
      // are two real plays with the same (user, track, time): it has no duplicates to tell apart.
      if (isJsonObject(e) && e.ts === undefined && e.endTime !== undefined) {
        internListen(c, listen);
        c.items.push(listen);
        places.push(`${path.basename(file)} ${at}`);
        continue;
      }
      const prev = addUnlessDuplicate(c, dups, listen);
      if (prev < 0) places.push(`${path.basename(file)} ${at}`);
      else if (!c.issue(undefined, { ...duplicateIssue(listen, places[prev]!), column: at }, file)) return;
    }
  }
}

/** Why an extended-history entry is not a play of a music track, or undefined when it is one. */
function nonTrackKind(e: Record<string, unknown>): string | undefined {
  if (typeof e.spotify_track_uri === 'string' && e.spotify_track_uri !== '') return undefined;
  if (e.spotify_episode_uri || e.episode_name || e.episodeName || e.podcastName) return 'podcast episode';
  if (e.audiobook_uri || e.audiobook_chapter_uri || e.audiobook_title) return 'audiobook chapter';
  if (e.spotify_track_uri === undefined && (e.trackName !== undefined || e.artistName !== undefined))
    return undefined; // the basic export
  if (e.master_metadata_track_name && e.master_metadata_album_artist_name) return undefined;
  if ('ts' in e || 'endTime' in e) return e.video_title || e.video_uri ? 'video' : 'no track';
  return undefined; // not a stream at all: an issue
}

/** One streaming-history entry as a listen, adding its track to the catalogue. */
function spotifyListen(
  e: unknown,
  at: string,
  time: TimeRules,
  user: string | undefined,
  c: Collector<Listen>,
  catalogue: Map<string, Track>,
): Listen {
  if (!isJsonObject(e)) fail(at, jsonText(e), 'a stream object');
  const basic = e.ts === undefined && e.endTime !== undefined;
  const stampKey = basic ? 'endTime' : 'ts';
  const stamp = e[stampKey];
  if (typeof stamp !== 'string') fail(`${at}.${stampKey}`, jsonText(stamp), 'a date-time text');
  const timestamp = timestampField(`${at}.${stampKey}`, stamp, time);
  const msKey = basic ? 'msPlayed' : 'ms_played';
  const ms = e[msKey];
  if (!Number.isSafeInteger(ms) || (ms as number) < 0)
    fail(`${at}.${msKey}`, jsonText(ms), 'a non-negative integer (milliseconds)');
  const trackKey = basic ? 'trackName' : 'master_metadata_track_name';
  const artistKey = basic ? 'artistName' : 'master_metadata_album_artist_name';
  const title = e[trackKey];
  const artist = e[artistKey];
  for (const [key, v] of [
    [trackKey, title],
    [artistKey, artist],
  ] as const) {
    if (v !== undefined && v !== null && typeof v !== 'string') fail(`${at}.${key}`, jsonText(v), 'a string');
  }
  const uri = basic ? undefined : (e.spotify_track_uri as string | undefined);
  let trackId: string;
  if (uri) trackId = uri;
  else if (title && artist) trackId = `${artist} - ${title}`;
  else
    fail(
      `${at}.${basic ? trackKey : 'spotify_track_uri'}`,
      jsonText(uri ?? title),
      'a track URI, or a track and artist name',
    );
  const username = typeof e.username === 'string' && e.username !== '' ? e.username : undefined;
  const listen: Listen = { userId: user ?? username ?? 'me', trackId, timestamp, msPlayed: ms as number };
  const reasonEnd = e.reason_end;
  if (typeof reasonEnd === 'string' && reasonEnd !== '') listen.reasonEnd = reasonEnd;
  const skipped = e.skipped === true || reasonEnd === 'fwdbtn';
  if (skipped) listen.skipLevel = (ms as number) < SPOTIFY_VERY_BRIEF_MS ? 1 : 2;
  else if (reasonEnd === 'trackdone') listen.skipLevel = 0;
  if (typeof artist === 'string' && artist !== '') {
    listen.artistId = artist;
    if (!catalogue.has(trackId)) {
      const intern = c.strings;
      catalogue.set(intern.get(trackId), {
        trackId: intern.get(trackId),
        title: intern.get(typeof title === 'string' ? title : ''),
        artistId: intern.get(artist),
        artist: intern.get(artist),
      });
    }
  }
  return listen;
}

function finish<T>(c: Collector<T>, what: string): void {
  if (c.policy === 'throw' && c.issues.length > 0) {
    const stopped = c.issues.length >= MAX_STRICT_ISSUES ? ` (stopped after ${MAX_STRICT_ISSUES})` : '';
    throw new InvalidDataError(
      `${c.file}: ${c.issues.length} invalid ${what}${c.issues.length > 1 ? 's' : ''}${stopped}; fix them or pass onInvalidRow: 'skip'`,
      c.issues,
    );
  }
  if (c.rows === 0) {
    throw new InvalidDataError(`${c.file}: no data rows`, [
      { file: c.file, expected: `at least one ${what}` },
    ]);
  }
}

/**
 * Loads listening history from a file, streaming it (memory holds the parsed listens, not the raw file).
 *
 * Formats:
 * - `'listens-csv'` (default): the canonical CSV written by {@link saveListens}. Required columns
 *   `user_id, track_id, timestamp`; optional `ms_played, duration_ms, skip_level, reason_end, saved, context,
 *   session_id, artist_id` (empty = absent). `timestamp` is ISO 8601 (no zone = UTC) or digits: epoch milliseconds, or
 *   epoch seconds from 10^8 up to 10^11 (see {@link parseTimestamp} and `timestampUnit`). Other header names
 *   map in with `columns`. Extra columns are ignored.
 * - `'lastfm-1k'`: Last.fm 1K TSV without header (`userid \t timestamp \t artid \t artname \t traid \t traname`).
 *   The track id is `traid`, or `"artname - traname"` when `traid` is empty. Each listen's `artistId` is `artid`,
 *   or `artname` when `artid` is empty. The result also has `tracks`: each track with its artist.
 * - `'mssd'`: Spotify Music Streaming Sessions Dataset log CSV. It has no user id, so `userId` and `sessionId` are
 *   the `session_id`; `timestamp` is `date` (UTC midnight) plus `session_position` seconds, which keeps play order;
 *   `skipLevel` is 1, 2 or 3 for the earliest true of `skip_1`, `skip_2`, `skip_3` (cumulative flags), else 0;
 *   `context` = `context_type`, `reasonEnd` = `hist_user_behavior_reason_end`.
 * - `'sequences'`: whitespace-separated research files, either one `user item` pair per line (time-ordered) or
 *   one `user item1 item2 ...` per line. Both are read by one rule: each line appends its items to the user's
 *   sequence in file order; timestamps are synthesised as 0, 1, 2, ... per user.
 * - `'mpd'`: the Spotify Million Playlist Dataset. `file` is one JSON slice (`mpd.slice.0-999.json`, an object
 *   with a `playlists` array, or a bare array of playlists) or a directory of them, read in slice order. Each
 *   playlist is a listener (`userId` = `pid`, as text) whose sequence is its tracks in `pos` order: `trackId` =
 *   `track_uri`, `context` = `'playlist'`, and `timestamp` = `modified_at` (epoch
 *   seconds; 0 when absent, as in the challenge set) plus `pos` milliseconds, which keeps the order. The
 *   listen's `artistId` is `artist_uri` (else `artist_name`), and the result also has `tracks` (title, artist
 *   and duration of each track).
 *   Problems are named by their JSON path (`playlists[3].tracks[7].track_uri`) in the `column` of the issue.
 *   A repeated `pid`, here or in an earlier slice, makes that playlist an issue; so does a repeated `pos`
 *   within a playlist for that entry. A slice is parsed whole (about 33 MB each): the full dataset's 66
 *   million entries need a larger heap (`node --max-old-space-size=16384`), or load a subset of slices.
 * - `'spotify-history'`: your own Spotify data export. `file` is one JSON file or the unzipped folder, whose
 *   `Streaming_History_Audio_*.json` (extended history), `StreamingHistory*.json` (the account data's basic
 *   history) and `endsong_*.json` files are read in natural order. Extended entries: `trackId` =
 *   `spotify_track_uri`, `timestamp` = `ts` (when the stream ended), `msPlayed` = `ms_played`, `reasonEnd` =
 *   `reason_end`; `skipLevel` 0 when `reason_end` is `trackdone`, and for a skip (`skipped`, or `reason_end`
 *   `fwdbtn`) 1 under 10 seconds played, else 2 (the export has no track durations, so never 3). Basic
 *   entries: `timestamp` = `endTime` (UTC), `msPlayed`, and `trackId` = `"artistName - trackName"`, as is an
 *   extended entry without a URI (a local file). `userId` is the `userId` option, else the entry's
 *   `username`, else `'me'`. Podcast episodes, audiobook chapters and entries with no track are not listens:
 *   they are counted in `ignored`, not in `rows`. A listen's `artistId` is the artist's name (the export has
 *   no artist id), and the result also has `tracks` (title and artist name).
 *
 * Listens that name their artist (`artistId`) give SASRec artist embeddings without further options: the
 * Dataset carries them (`Dataset.artists`).
 *
 * Strict by default: every problem (wrong type, negative number, skip level outside 0-3, unparseable or future
 * timestamp — more than a day after now — or an exact duplicate of an earlier (user, track, timestamp) row) is
 * collected and an {@link InvalidDataError} lists them with file, 1-based physical line (quoted fields spanning
 * lines counted), column, value and what was expected. With `onInvalidRow: 'skip'` invalid rows are dropped
 * and each is returned in `issues`. A missing file, a directory (except for the JSON formats), an empty file, a header
 * with no rows, a missing required column or a JSON syntax error (named by line and column) always throw. A
 * UTF-8 BOM and CRLF line endings are handled. Blank lines are ignored.
 *
 * @throws {InvalidOptionError} for an unknown `format`, `onInvalidRow`, `timestampUnit` or `columns` entry (checked
 *   before reading).
 * @throws {InvalidDataError} for unreadable or invalid data.
 * @example
 * ```ts
 * const { listens } = await loadListens('data/listens.csv');
 * const lastfm = await loadListens('userid-timestamp-artid-artname-traid-traname.tsv', { format: 'lastfm-1k', onInvalidRow: 'skip' });
 * console.log(lastfm.listens.length, 'loaded,', lastfm.issues.length, 'skipped');
 * const mine = await loadListens('export.csv', { columns: { user_id: 'uid', timestamp: 'played_at' } });
 * const mine = await loadListens('my_spotify_data/Spotify Extended Streaming History', { format: 'spotify-history' });
 * console.log(mine.listens.length, 'plays; not music:', mine.ignored);
 * const mpd = await loadListens('spotify_million_playlist_dataset/data', { format: 'mpd' }); // a directory of slices
 * console.log(mpd.listens.length, 'playlist entries,', mpd.tracks?.length, 'tracks');
 * ```
 */
export async function loadListens(
  file: string,
  options: LoadListensOptions = {},
): Promise<LoadListensResult> {
  checkKnownOptions(options, Object.keys(LOAD_LISTENS_KEYS), 'loadListens');
  const format = options.format ?? 'listens-csv';
  if (!LISTEN_FORMATS.includes(format)) {
    throw new InvalidOptionError(
      'format',
      `one of ${LISTEN_FORMATS.map((f) => `'${f}'`).join(', ')}`,
      format,
    );
  }
  const policy = validatePolicy(options.onInvalidRow);
  const mapping = validateColumns(options.columns, LISTEN_COLUMNS);
  const time: TimeRules = { latest: Date.now() + DAY_MS, unit: validateUnit(options.timestampUnit) };
  if (options.userId !== undefined && (typeof options.userId !== 'string' || options.userId === '')) {
    throw new InvalidOptionError('userId', 'a non-empty listener id', options.userId);
  }
  // Options that only some formats read: given to another format, they are an error, not ignored.
  const onlyWith = (option: string, value: unknown, given: boolean, applies: boolean, formats: string) => {
    if (given && !applies)
      throw new InvalidOptionError(option, `used only with ${formats}`, value, `format is '${format}'`);
  };
  onlyWith('columns', options.columns, mapping.size > 0, format === 'listens-csv', "format 'listens-csv'");
  onlyWith(
    'userId',
    options.userId,
    options.userId !== undefined,
    format === 'spotify-history',
    "format 'spotify-history'",
  );
  // A forced unit: sequences carry no times, and the MPD's modified_at is epoch seconds by definition
  // ('auto', the default, is accepted everywhere).
  onlyWith(
    'timestampUnit',
    options.timestampUnit,
    time.unit !== 'auto',
    format !== 'sequences' && format !== 'mpd',
    'formats whose times may be digits (not sequences or mpd)',
  );
  const c = new Collector<Listen>(file, policy);
  const catalogue = new Map<string, Track>(); // the formats that name each track's artist fill it
  const ignored: Record<string, number> = {};
  if (format === 'spotify-history') {
    await loadSpotifyHistory(file, c, time, catalogue, ignored, options.userId);
    if (c.rows === 0 && Object.keys(ignored).length > 0 && c.policy === 'throw') {
      // Only podcasts (or the like): say so rather than "no data rows".
      throw new InvalidDataError(`${file}: no music streams, only ${JSON.stringify(ignored)}`, [
        { file, expected: 'at least one stream of a music track' },
      ]);
    }
  } else if (format === 'mpd') {
    await loadMpd(file, c, time, catalogue);
  } else {
    await checkFile(file);
    if (format === 'listens-csv') {
      await loadCsvListens(
        file,
        c,
        LISTEN_COLUMNS,
        ['user_id', 'track_id', 'timestamp'],
        mapping,
        (get, col) => buildCanonicalListen(get, col, time),
      );
    } else if (format === 'mssd') {
      const positions: MssdPositions = { session: '', seen: new Set() };
      await loadCsvListens(file, c, MSSD_COLUMNS, MSSD_COLUMNS.slice(0, 8), new Map(), (get) =>
        buildMssdListen(get, time, positions),
      );
    } else if (format === 'lastfm-1k') await loadLastfm(file, c, time, catalogue);
    else await loadSequences(file, c);
  }
  finish(c, 'row');
  const result: LoadListensResult = { listens: c.items, issues: c.issues, rows: c.rows };
  if (format === 'lastfm-1k' || format === 'mpd' || format === 'spotify-history')
    result.tracks = [...catalogue.values()];
  if (format === 'spotify-history') result.ignored = ignored;
  return result;
}

/**
 * Loads a track catalogue from the canonical tracks CSV written by {@link saveTracks}, streaming it.
 *
 * Required columns `track_id, title, artist_id, artist`; optional `genre`, `duration_ms`, `features`
 * (numbers joined by `;`). Empty optional fields are absent. A repeated `track_id` is an issue. Same strict /
 * skip behaviour and errors as {@link loadListens}.
 *
 * @throws {InvalidOptionError} for a bad `onInvalidRow` or `columns`.
 * @throws {InvalidDataError} for unreadable or invalid data.
 * @example
 * ```ts
 * const { tracks } = await loadTracks('data/tracks.csv');
 * const byId = new Map(tracks.map((t) => [t.trackId, t]));
 * ```
 */
export async function loadTracks(file: string, options: LoadTracksOptions = {}): Promise<LoadTracksResult> {
  checkKnownOptions(options, Object.keys(LOAD_TRACKS_KEYS), 'loadTracks');
  const policy = validatePolicy(options.onInvalidRow);
  const mapping = validateColumns(options.columns, TRACK_COLUMNS);
  await checkFile(file);
  const c = new Collector<Track>(file, policy);
  const seen = new Map<string, number>();
  const col = (name: string) => mapping.get(name) ?? name;
  let index: Map<string, number> | undefined;
  let width = 0;
  await streamCsv(
    file,
    ',',
    (fields, line) => {
      if (!index) {
        index = resolveHeader(
          file,
          fields,
          TRACK_COLUMNS,
          ['track_id', 'title', 'artist_id', 'artist'],
          mapping,
          line,
        );
        width = fields.length;
        return true;
      }
      const get = (name: TrackColumn): string => {
        const i = index!.get(name);
        return i === undefined ? '' : (fields[i] ?? '');
      };
      c.rows++;
      try {
        fieldCountCheck(fields, width);
        const trackId = requiredText(col('track_id'), get('track_id'));
        const prev = seen.get(trackId);
        if (prev !== undefined) fail(col('track_id'), trackId, `a track id not already used (line ${prev})`);
        const track: Track = {
          trackId,
          title: get('title'),
          artistId: get('artist_id'),
          artist: get('artist'),
        };
        const genre = get('genre');
        if (genre !== '') track.genre = genre;
        const durationMs = optionalInt(col('duration_ms'), get('duration_ms'));
        if (durationMs !== undefined) track.durationMs = durationMs;
        const feats = get('features').trim();
        if (feats !== '') {
          track.features = feats.split(';').map((x) => {
            const v = x.trim() === '' ? Number.NaN : Number(x);
            if (!Number.isFinite(v))
              fail(col('features'), feats, 'finite numbers separated by `;` (or empty)');
            return v;
          });
        }
        seen.set(trackId, line);
        c.items.push(track);
        return true;
      } catch (e) {
        if (e instanceof RowError) return c.issue(line, e.issue);
        throw e;
      }
    },
    (line, message) => {
      if (!index) throw malformedHeader(file, line, message);
      c.rows++;
      return c.issue(line, { expected: `well-formed CSV (${message})` });
    },
  );
  if (!index) throw new InvalidDataError(`${file}: no header row`, [{ file, expected: 'a header row' }]);
  finish(c, 'row');
  return { tracks: c.items, issues: c.issues, rows: c.rows };
}
