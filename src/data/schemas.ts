// Zod schemas for tracks and listens, used only where data enters or leaves encore (files, user input).
import { z } from 'zod';
import type { Listen, Track } from './types.js';

/**
 * Schema of a {@link Track}: non-empty track id, optional non-empty genre, non-negative integer duration and a
 * non-empty list of finite features. Optional fields are absent rather than empty, so CSV round trips are exact
 * (an empty CSV field reads back as absent).
 *
 * @example
 * ```ts
 * const r = TrackSchema.safeParse({ trackId: 't1', title: 'Song', artistId: 'a1', artist: 'Band' });
 * if (!r.success) console.error(r.error.issues);
 * ```
 */
export const TrackSchema = z
  .object({
    trackId: z.string().min(1),
    title: z.string(),
    artistId: z.string(),
    artist: z.string(),
    genre: z.string().min(1).optional(),
    durationMs: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    features: z.array(z.number().finite()).min(1).optional(),
  })
  .strict() satisfies z.ZodType<Track>;

/**
 * Schema of a {@link Listen}: non-empty user and track ids, a non-negative epoch-ms integer timestamp,
 * non-negative integer play/duration times, skip level 0-3, and optional strings that are absent rather than
 * empty (an empty CSV field reads back as absent).
 *
 * @example
 * ```ts
 * const listen = ListenSchema.parse({ userId: 'u1', trackId: 't1', timestamp: 1_700_000_000_000, skipLevel: 0 });
 * ```
 */
export const ListenSchema = z
  .object({
    userId: z.string().min(1),
    trackId: z.string().min(1),
    timestamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    msPlayed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    durationMs: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    skipLevel: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).optional(),
    reasonEnd: z.string().min(1).optional(),
    saved: z.boolean().optional(),
    context: z.string().min(1).optional(),
    sessionId: z.string().min(1).optional(),
    artistId: z.string().min(1).optional(),
  })
  .strict() satisfies z.ZodType<Listen>;

// --- Fast paths: the schemas' rules as plain predicates, for arrays of millions of rows.

/** The fields a {@link Listen} may have. */
export const LISTEN_KEYS: ReadonlySet<string> = new Set([
  'userId',
  'trackId',
  'timestamp',
  'msPlayed',
  'durationMs',
  'skipLevel',
  'reasonEnd',
  'saved',
  'context',
  'sessionId',
  'artistId',
]);
const TRACK_KEYS = new Set(['trackId', 'title', 'artistId', 'artist', 'genre', 'durationMs', 'features']);

const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
const optCount = (v: unknown) => v === undefined || isCount(v);
const optText = (v: unknown) => v === undefined || (typeof v === 'string' && v.length > 0);
const text = (v: unknown) => typeof v === 'string' && v.length > 0;
function onlyKeys(o: object, keys: ReadonlySet<string>): boolean {
  for (const k of Object.keys(o)) if (!keys.has(k)) return false;
  return true;
}

/**
 * Fast path of {@link ListenSchema} for large arrays (saving, building a Dataset): the same rules without an
 * allocation per listen; the caller explains a failure (zod, or the Dataset's own report).
 *
 * @example
 * ```ts
 * isValidListen({ userId: 'u1', trackId: 't1', timestamp: 0 }); // true
 * ```
 */
export function isValidListen(l: Listen): boolean {
  return (
    typeof l === 'object' &&
    l !== null &&
    text(l.userId) &&
    text(l.trackId) &&
    isCount(l.timestamp) &&
    optCount(l.msPlayed) &&
    optCount(l.durationMs) &&
    (l.skipLevel === undefined ||
      l.skipLevel === 0 ||
      l.skipLevel === 1 ||
      l.skipLevel === 2 ||
      l.skipLevel === 3) &&
    optText(l.reasonEnd) &&
    (l.saved === undefined || typeof l.saved === 'boolean') &&
    optText(l.context) &&
    optText(l.sessionId) &&
    optText(l.artistId) &&
    onlyKeys(l, LISTEN_KEYS)
  );
}

/**
 * Fast path of {@link TrackSchema}.
 *
 * @example
 * ```ts
 * isValidTrack({ trackId: 't1', title: '', artistId: 'a', artist: 'A' }); // true
 * ```
 */
export function isValidTrack(t: Track): boolean {
  return (
    typeof t === 'object' &&
    t !== null &&
    text(t.trackId) &&
    typeof t.title === 'string' &&
    typeof t.artistId === 'string' &&
    typeof t.artist === 'string' &&
    optText(t.genre) &&
    optCount(t.durationMs) &&
    (t.features === undefined ||
      (Array.isArray(t.features) && t.features.length > 0 && t.features.every((x) => Number.isFinite(x)))) &&
    onlyKeys(t, TRACK_KEYS)
  );
}
