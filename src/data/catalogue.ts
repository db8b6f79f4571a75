// The `tracks` option shared by Blend, Discover Weekly, Taste Match and the reward re-rankers: the catalogue
// as an array (or, where the caller allows, any iterable or a Map by id), checked entry by entry at the
// boundary so a bad entry is named, not met later as "cannot read properties of null".
import { InvalidOptionError } from '../errors.js';
import type { Track } from './types.js';

const EXPECTED = 'a Track (an object with a string trackId, and string artistId and genre when given)';

function checkTrack(option: string, t: unknown): asserts t is Track {
  if (t === null || typeof t !== 'object') throw new InvalidOptionError(option, EXPECTED, t);
  const { trackId, artistId, genre } = t as Partial<Track>;
  if (
    typeof trackId !== 'string' ||
    (artistId !== undefined && typeof artistId !== 'string') ||
    (genre !== undefined && typeof genre !== 'string')
  )
    throw new InvalidOptionError(option, EXPECTED, t);
}

/**
 * The catalogue a `tracks` option names, by track id, with every entry checked: an array of {@link Track}
 * (with `iterables: true`, also any iterable of them or a `Map` from track id to track). Of a repeated id,
 * the last entry wins.
 *
 * @param option the option's name for errors (`'tracks'`).
 * @throws {InvalidOptionError} naming `tracks`, or `tracks[i]` / `tracks.get("id")` for a bad entry.
 * @example
 * ```ts
 * const byId = catalogueMap('tracks', world.tracks);
 * byId.get('t0001')?.artistId;
 * ```
 */
export function catalogueMap(
  option: string,
  tracks: unknown,
  { iterables = false }: { iterables?: boolean } = {},
): Map<string, Track> {
  const byId = new Map<string, Track>();
  if (tracks instanceof Map && iterables) {
    for (const [id, t] of tracks as Map<unknown, unknown>) {
      checkTrack(`${option}.get(${JSON.stringify(id)})`, t);
      byId.set(t.trackId, t);
    }
    return byId;
  }
  const iterable =
    tracks !== null &&
    typeof tracks === 'object' &&
    typeof (tracks as Iterable<unknown>)[Symbol.iterator] === 'function';
  if (!(Array.isArray(tracks) || (iterables && iterable)))
    throw new InvalidOptionError(
      option,
      iterables ? 'an array or Map of Track (trackId, artistId, genre)' : 'an array of Track',
      tracks,
    );
  let i = 0;
  for (const t of tracks as Iterable<unknown>) {
    checkTrack(`${option}[${i++}]`, t);
    byId.set(t.trackId, t);
  }
  return byId;
}
