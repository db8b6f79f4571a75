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
