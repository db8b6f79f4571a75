// Reading and writing listening data files: canonical listens/tracks CSV, Last.fm 1K, MSSD and sequence files.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { type DataIssue, InvalidDataError } from '../errors.js';
import { ListenSchema, TrackSchema } from './schemas.js';
import type { Listen, Track } from './types.js';

/** Canonical column order of a listens CSV file. */
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
] as const;

/** Canonical column order of a tracks CSV file. */
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

/** Writes `text` to `file` atomically: a temporary file in the same directory, then a rename. */
async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await fs.promises.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.promises.writeFile(tmp, text, 'utf8');
    await fs.promises.rename(tmp, file);
  } catch (e) {
    await fs.promises.rm(tmp, { force: true });
    throw e;
  }
}

function toCsv(fields: readonly string[], rows: string[][]): string {
  // quotes only where needed (commas, quotes, newlines, edge spaces); "\n" line endings; trailing newline.
  return `${Papa.unparse({ fields: [...fields], data: rows }, { quotes: false, newline: '\n', header: true })}\n`;
}

/**
 * Serialises listens to canonical CSV text (the exact bytes {@link saveListens} writes).
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
    String(l.timestamp),
    opt(l.msPlayed),
    opt(l.durationMs),
    opt(l.skipLevel),
    opt(l.reasonEnd),
    opt(l.saved),
    opt(l.context),
    opt(l.sessionId),
  ]);
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

/**
 * Writes listens as canonical CSV, atomically (temporary file in the same directory, then rename).
 *
 * Columns: `user_id,track_id,timestamp,ms_played,duration_ms,skip_level,reason_end,saved,context,session_id`;
 * `timestamp` is epoch milliseconds, absent optional fields are empty, `saved` is `true`/`false`, fields are
 * quoted only when needed, lines end with `\n`. The output is byte-identical for identical input.
 * Every listen is validated first ({@link ListenSchema}); nothing is written when one is invalid.
 *
 * @throws {InvalidDataError} when a listen is invalid.
 * @example
 * ```ts
 * await saveListens('data/listens.csv', [{ userId: 'u1', trackId: 't1', timestamp: Date.now(), skipLevel: 0 }]);
 * ```
 */
export async function saveListens(file: string, listens: readonly Listen[]): Promise<void> {
  validateAll(file, listens, ListenSchema, 'listen');
  await writeAtomic(file, listensToCsv(listens));
}

/**
 * Writes tracks as canonical CSV, atomically (temporary file in the same directory, then rename).
 *
 * Columns: `track_id,title,artist_id,artist,genre,duration_ms,features`; `features` is the numbers joined
 * by `;` (empty when absent). Byte-identical output for identical input.
 *
 * @throws {InvalidDataError} when a track is invalid.
 * @example
 * ```ts
 * await saveTracks('data/tracks.csv', [{ trackId: 't1', title: 'Song', artistId: 'a1', artist: 'Band' }]);
 * ```
 */
export async function saveTracks(file: string, tracks: readonly Track[]): Promise<void> {
  validateAll(file, tracks, TrackSchema, 'track');
  await writeAtomic(file, tracksToCsv(tracks));
}
