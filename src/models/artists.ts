// Track -> artist side information for SASRec's artist embeddings, resolved against a model's vocabulary.
import type { Vocabulary } from '../data/dataset.js';
import { InvalidOptionError } from '../errors.js';

/**
 * Where a model reads each track's artist: a map from track id to artist id, or track records (`loadTracks`,
 * `generateWorld().tracks`, the `tracks` of a Last.fm 1K load).
 *
 * @example
 * ```ts
 * const artists: ArtistSource = new Map([['t1', 'a1'], ['t2', 'a1']]);
 * ```
 */
export type ArtistSource = ReadonlyMap<string, string> | readonly { trackId: string; artistId: string }[];

/**
 * The artists of a vocabulary's tracks: `of[i]` is the artist index (1-based) of vocabulary index `i`, 0 for
 * padding and for tracks without an artist.
 *
 * @example
 * ```ts
 * const { of, count, tracksWithArtist } = artistIndex(train.vocabulary, tracks);
 * ```
 */
export interface ArtistIndex {
  /** `[V + 1]` artist index per vocabulary index; 0: none. */
  of: Int32Array;
  /** Distinct artists among the vocabulary's tracks. */
  count: number;
  /** Vocabulary tracks that have an artist (the rest get no artist embedding). */
  tracksWithArtist: number;
}

/**
 * Resolves an {@link ArtistSource} against a vocabulary. Artists are numbered in vocabulary order, so the
 * same data gives the same numbering. Tracks of the source that are not in the vocabulary are ignored.
 *
 * @throws {InvalidOptionError} (option `artists`) when the source is not a Map or an array of
 *   `{ trackId, artistId }` with non-empty strings, when a track is given two different artists, or when no
 *   vocabulary track has an artist.
 * @example
 * ```ts
 * artistIndex(Vocabulary.from(['t1', 't2', 't3']), new Map([['t1', 'a'], ['t3', 'a']])).of; // [0, 1, 0, 1]
 * ```
 */
export function artistIndex(vocabulary: Vocabulary, source: ArtistSource): ArtistIndex {
  const byTrack = new Map<string, string>();
  const add = (trackId: unknown, artistId: unknown, where: string) => {
    if (typeof trackId !== 'string' || typeof artistId !== 'string')
      throw new InvalidOptionError(`artists${where}`, 'a track id (string) with an artist id (string)', {
        trackId,
        artistId,
      });
    // An empty artist id (a catalogue row with the artist left blank) is no artist: the track gets none.
    if (artistId === '') return;
    const seen = byTrack.get(trackId);
    if (seen !== undefined && seen !== artistId)
      throw new InvalidOptionError(
        `artists${where}`,
        `one artist per track (track ${trackId} was already given artist ${seen})`,
        artistId,
      );
    byTrack.set(trackId, artistId);
  };
  if (source instanceof Map)
    for (const [t, a] of source as ReadonlyMap<unknown, unknown>) add(t, a, `.get(${JSON.stringify(t)})`);
  else if (Array.isArray(source))
    source.forEach((r: unknown, i) => {
      const rec = (r ?? {}) as { trackId?: unknown; artistId?: unknown };
      add(rec.trackId, rec.artistId, `[${i}]`);
    });
  else
    throw new InvalidOptionError(
      'artists',
      'a Map from track id to artist id, or an array of { trackId, artistId }',
      source,
    );
  const of = new Int32Array(vocabulary.size + 1);
  const numbers = new Map<string, number>();
  let tracksWithArtist = 0;
  for (let i = 1; i <= vocabulary.size; i++) {
    const artist = byTrack.get(vocabulary.id(i));
    if (artist === undefined) continue;
    let a = numbers.get(artist);
    if (a === undefined) {
      a = numbers.size + 1;
      numbers.set(artist, a);
    }
    of[i] = a;
    tracksWithArtist++;
  }
  if (tracksWithArtist === 0)
    throw new InvalidOptionError(
      'artists',
      `an artist for at least one training track (none of the ${vocabulary.size} tracks is listed)`,
      `${byTrack.size} listed tracks`,
    );
  return { of, count: numbers.size, tracksWithArtist };
}
