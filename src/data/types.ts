// Plain data types shared across encore: tracks, listens and evaluation cases.

/**
 * A track in the catalogue.
 *
 * @example
 * ```ts
 * const t: Track = { trackId: 't1', title: 'Song', artistId: 'a1', artist: 'Band', genre: 'rock', durationMs: 200_000 };
 * ```
 */
export interface Track {
  trackId: string;
  title: string;
  artistId: string;
  artist: string;
  genre?: string;
  durationMs?: number;
  /** Optional numeric content features (e.g. audio descriptors). */
  features?: number[];
}

/**
 * Skip level, as in Spotify's Music Streaming Sessions Dataset:
 * 0 = played to the end, 1 = played very briefly, 2 = briefly, 3 = most of the track.
 */
export type SkipLevel = 0 | 1 | 2 | 3;

/**
 * One play of a track by a listener.
 *
 * @example
 * ```ts
 * const l: Listen = { userId: 'u1', trackId: 't1', timestamp: Date.parse('2024-01-01T10:00:00Z'), skipLevel: 0 };
 * ```
 */
export interface Listen {
  userId: string;
  trackId: string;
  /** Epoch milliseconds. */
  timestamp: number;
  msPlayed?: number;
  durationMs?: number;
  skipLevel?: SkipLevel;
  reasonEnd?: string;
  saved?: boolean;
  context?: string;
  sessionId?: string;
  /**
   * The track's artist, when the source names it (Last.fm 1K, the MPD, Spotify exports, or an `artist_id`
   * column). `SASRec.fit` embeds the artists a training set carries unless told otherwise (see
   * `Dataset.artists`).
   */
  artistId?: string;
}

/**
 * A next-track evaluation case: given `history`, the listener played `target` next.
 *
 * @example
 * ```ts
 * const c: EvalCase = { userId: 'u1', history: ['t1', 't2'], target: 't3' };
 * ```
 */
export interface EvalCase {
  userId: string;
  history: string[];
  target: string;
}
