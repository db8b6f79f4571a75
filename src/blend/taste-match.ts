// Taste match: a 0-100 score of how alike group members' tastes are, from what they actually play.

import { catalogueMap } from '../data/catalogue.js';
import type { Track } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import { checkTrackIds } from '../models/recommender.js';

/**
 * Scale `A` of the map from cosine similarity `s` to the 0-100 scale: `100 · ln(1 + A·s) / ln(1 + A)`.
 * Calibrated on the shipped data (500 listeners, 2,000 tracks, 200 artists; whole histories): random pairs have artist-level
 * cosines with quartiles 0.010 / 0.057 / 0.192, which map to 28 / 54 / 73 (track level: 0.004 / 0.030 /
 * 0.113, mapping to 17 / 44 / 65). See {@link tasteMatch}.
 *
 * @example
 * ```ts
 * const match = (100 * Math.log1p(TASTE_MATCH_SCALE * 0.057)) / Math.log1p(TASTE_MATCH_SCALE); // ≈ 54
 * ```
 */
export const TASTE_MATCH_SCALE = 450;

/**
 * Maps a cosine similarity in [0, 1] to the 0-100 taste-match scale (not rounded).
 *
 * @example
 * ```ts
 * cosineToMatch(1);     // 100
 * cosineToMatch(0.057); // ≈ 54
 * cosineToMatch(0);     // 0
 * ```
 */
export function cosineToMatch(s: number): number {
  return (100 * Math.log1p(TASTE_MATCH_SCALE * s)) / Math.log1p(TASTE_MATCH_SCALE);
}

/** Options of {@link tasteMatch}. */
export interface TasteMatchOptions {
  /** Catalogue metadata: when given, tastes are compared by artist instead of by track. */
  tracks?: readonly Track[];
}

/**
 * Taste match without validation (used by {@link blend}); `artistOf` maps track ids to artist ids.
 *
 * @example
 * ```ts
 * tasteMatchOf([['t1', 't2'], ['t1', 't2']]); // 100
 * ```
 */
export function tasteMatchOf(
  histories: readonly (readonly string[])[],
  catalogue?: ReadonlyMap<string, Pick<Track, 'artistId'>>,
): number {
  const vectors = histories.map((h) => {
    const v = new Map<string, number>();
    for (const id of h) {
      // Artists and tracks in separate key spaces, so an artist id never meets a track id; a track without
      // an artist (none given, or an empty id) counts as itself.
      const artist = catalogue?.get(id)?.artistId;
      const key = artist ? `a\u0000${artist}` : `t\u0000${id}`;
      v.set(key, (v.get(key) ?? 0) + 1);
    }
    return v;
  });
  const norms = vectors.map((v) => Math.sqrt([...v.values()].reduce((s, x) => s + x * x, 0)));
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < vectors.length; a++) {
    for (let b = a + 1; b < vectors.length; b++) {
      let dot = 0;
      for (const [k, x] of vectors[a]!) dot += x * (vectors[b]!.get(k) ?? 0);
      const denom = norms[a]! * norms[b]!;
      total += cosineToMatch(denom > 0 ? Math.min(1, dot / denom) : 0);
      pairs++;
    }
  }
  return pairs === 0 ? 100 : Math.round(total / pairs);
}

/**
 * How alike two or more listeners' tastes are, 0-100 (the percentage a two-person Blend shows).
 *
 * Formula: each member's taste is their play-count vector over artists (when `tracks` is given) or over
 * tracks. For each pair, take the cosine `s` of the two vectors and report `100 · ln(1 + 450·s) / ln(451)`;
 * for groups, the mean over all pairs, rounded. Identical histories give 100; no artist (or track) in
 * common gives 0. Unrelated listeners share little (cosines of 0.01-0.2), and the logarithm spreads that
 * range over the middle of the scale: on the shipped data random pairs have quartiles 28 / 54 / 73 by
 * artist on whole histories (`bench/blend.ts` prints them on its 80% training histories). It deliberately does not use the model: the top-K lists of a next-track model overlap heavily
 * for everyone (popular tracks), which squeezed every pair into 90-95 when we tried it.
 *
 * @example
 * ```ts
 * tasteMatch([ana.history, ben.history], { tracks: catalogue }); // e.g. 57
 * ```
 */
export function tasteMatch(
  histories: readonly (readonly string[])[],
  options: TasteMatchOptions = {},
): number {
  if (!Array.isArray(histories) || histories.length < 2) {
    throw new InvalidOptionError('histories', 'an array of at least 2 histories', histories);
  }
  histories.forEach((h, i) => {
    if (!Array.isArray(h) || h.length === 0) {
      throw new InvalidOptionError(`histories[${i}]`, 'a non-empty array of track ids', h);
    }
    checkTrackIds(h, `histories[${i}]`);
  });
  checkKnownOptions(options, optionKeys<typeof options>({ tracks: true }), 'tasteMatch');
  return tasteMatchOf(histories, options.tracks && catalogueMap('tracks', options.tracks));
}
