// Discover Weekly: a weekly playlist of tracks the listener has never played, few per artist, stable within a week.
import { catalogueMap } from '../data/catalogue.js';
import type { Track } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import { checkModel } from '../eval/metrics.js';
import { type Recommender, scoreRows, topK } from '../models/recommender.js';
import { createRng, hashSeed } from '../util/random.js';
import { rotateSelection, toIsoWeek } from './calendar.js';

/**
 * Options of {@link discoverWeekly}.
 *
 * @example
 * ```ts
 * const opts: DiscoverWeeklyOptions = { size: 30, week: '2024-W05', maxPerArtist: 2, tracks: catalogue };
 * ```
 */
export interface DiscoverWeeklyOptions {
  /**
   * Number of tracks, 1-500. Default 30. Fewer come back when fewer tracks are eligible (tracks the listener
   * has never played, at most `maxPerArtist` per artist): `tracks.length` says how many.
   */
  size?: number;
  /** The week (`2024-W05` or a `Date`, UTC). Same history + same week = same playlist. Default this week. */
  week?: string | Date;
  /** At most this many tracks per artist (needs `tracks`: set without them, it is an error). Default 2 with `tracks`. */
  maxPerArtist?: number;
  /** Catalogue metadata (artists for `maxPerArtist`, titles in the result). */
  tracks?: readonly Track[];
  /** Share of the playlist that changes with the week, 0-1. Default 0.5. */
  rotation?: number;
  /** Extra seed mixed into the weekly rotation (e.g. the user id). Default 0. */
  seed?: number | string;
}

/** One Discover Weekly track. */
export interface DiscoverWeeklyTrack {
  trackId: string;
  /** The model's score (higher = better). */
  score: number;
  title?: string;
  artist?: string;
}

/** A Discover Weekly playlist. */
export interface DiscoverWeeklyResult {
  /** ISO week key, e.g. `2024-W05`. */
  week: string;
  tracks: DiscoverWeeklyTrack[];
}

/**
 * A Discover Weekly playlist: the model's best tracks that the listener has never played, at most
 * `maxPerArtist` per artist, best first. Half of it (the core) is the top of the ranking; the rest is a
 * sample, seeded by `week` and `seed`, from the next band, so the playlist is fixed within a week and
 * changes between weeks even when the history does not. One `scoreAll` call.
 *
 * @example
 * ```ts
 * const dw = await discoverWeekly(model, history, { week: '2024-W05', tracks: catalogue });
 * for (const t of dw.tracks) console.log(t.title, t.artist);
 * ```
 */
export async function discoverWeekly(
  model: Recommender,
  history: readonly string[],
  options: DiscoverWeeklyOptions = {},
): Promise<DiscoverWeeklyResult> {
  checkModel(model, 'model');
  if (!Array.isArray(history) || history.some((t) => typeof t !== 'string')) {
    throw new InvalidOptionError('history', 'an array of track ids', history);
  }
  checkKnownOptions(
    options,
    optionKeys<typeof options>({
      size: true,
      week: true,
      maxPerArtist: true,
      tracks: true,
      rotation: true,
      seed: true,
    }),
    'discoverWeekly',
  );
  const size = options.size ?? 30;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 500) {
    throw new InvalidOptionError('size', 'an integer from 1 to 500', size);
  }
  const maxPerArtist = options.maxPerArtist ?? 2;
  if (!Number.isInteger(maxPerArtist) || maxPerArtist < 1) {
    throw new InvalidOptionError('maxPerArtist', 'an integer >= 1', maxPerArtist);
  }
  // As in blend: a cap asked for explicitly with no artists to apply it to would be silently ignored.
  if (options.maxPerArtist !== undefined && options.tracks === undefined)
    throw new InvalidOptionError('tracks', 'the catalogue (Track[]) when `maxPerArtist` is set', undefined);
  const rotation = options.rotation ?? 0.5;
  if (typeof rotation !== 'number' || !(rotation >= 0 && rotation <= 1)) {
    throw new InvalidOptionError('rotation', 'a number from 0 to 1', rotation);
  }
  const seed = options.seed ?? 0;
  if ((typeof seed !== 'number' || !Number.isFinite(seed)) && typeof seed !== 'string') {
    throw new InvalidOptionError('seed', 'a finite number or a string', seed);
  }
  const meta =
    options.tracks === undefined ? new Map<string, Track>() : catalogueMap('tracks', options.tracks);
  const week = toIsoWeek(options.week);

  const vocab = model.vocabulary;
  const skip = new Uint8Array(vocab.size + 1);
  for (const id of history) {
    const i = vocab.index(id);
    if (i !== undefined) skip[i] = 1;
  }
  const [scores] = await scoreRows(model, [history]);
  const core = Math.round(size * (1 - rotation));
  const want = core + 4 * (size - core);
  // Enough ranked candidates that the artist cap rarely runs the list dry.
  const ranked = topK(scores!, Math.min(vocab.size, want * 3 + 50), skip).filter((i) => !skip[i]);
  const perArtist = new Map<string, number>();
  const order: number[] = [];
  for (const i of ranked) {
    const artist = meta.get(vocab.ids[i]!)?.artistId || undefined; // empty: no artist
    if (artist !== undefined) {
      const count = perArtist.get(artist) ?? 0;
      if (count >= maxPerArtist) continue;
      perArtist.set(artist, count + 1);
    }
    order.push(i);
    if (order.length >= want) break;
  }
  const rng = createRng(hashSeed('discover-weekly', week, seed));
  const picks = rotateSelection(order.length, size, rotation, rng).map((p) => order[p]!);
  return {
    week,
    tracks: picks.map((i) => {
      const id = vocab.ids[i]!;
      const t = meta.get(id);
      return { trackId: id, score: scores![i]!, ...(t ? { title: t.title, artist: t.artist } : {}) };
    }),
  };
}
