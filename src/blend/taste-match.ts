// Taste match: a 0-100 score of how alike group members' tastes are, from their model-based relevance lists.
import { InvalidOptionError } from '../errors.js';
import type { Recommender } from '../models/recommender.js';
import { buildRelevance } from './relevance.js';

/**
 * Exponent that maps cosine similarity to the 0-100 scale: `100 · cos^TASTE_MATCH_EXPONENT`. Calibrated
 * on the shipped data so that random pairs of listeners land mid-range (see {@link tasteMatch}).
 */
export const TASTE_MATCH_EXPONENT = 0.5;

/**
 * Taste match from relevance vectors over a shared pool: mean over member pairs of
 * `100 · cos(rel_a, rel_b)^TASTE_MATCH_EXPONENT`, rounded to an integer. Identical vectors give 100,
 * disjoint lists give 0.
 *
 * @example
 * ```ts
 * tasteMatchFromRelevance([new Float32Array([1, 0.5]), new Float32Array([1, 0.5])]); // 100
 * ```
 */
export function tasteMatchFromRelevance(relevance: readonly Float32Array[]): number {
  const norms = relevance.map((r) => Math.sqrt(r.reduce((s, x) => s + x * x, 0)));
  let total = 0;
  let pairs = 0;
  for (let a = 0; a < relevance.length; a++) {
    for (let b = a + 1; b < relevance.length; b++) {
      const ra = relevance[a]!;
      const rb = relevance[b]!;
      let dot = 0;
      for (let c = 0; c < ra.length; c++) dot += ra[c]! * rb[c]!;
      const denom = norms[a]! * norms[b]!;
      const cos = denom > 0 ? Math.min(1, Math.max(0, dot / denom)) : 0;
      total += 100 * cos ** TASTE_MATCH_EXPONENT;
      pairs++;
    }
  }
  return pairs === 0 ? 100 : Math.round(total / pairs);
}

/** Options of {@link tasteMatch}. */
export interface TasteMatchOptions {
  /** The model that ranks tracks for each member. Without one, only play counts are compared. */
  model?: Recommender;
  /** Length of each member's ranked list. Default 200. */
  perMember?: number;
  /** Share of each list taken from the member's own favourites. Default 0.3. */
  familiar?: number;
}

/**
 * How alike two or more listeners' tastes are, 0-100 (the percentage a two-person Blend shows).
 *
 * Formula: each member gets a ranked list of `perMember` tracks (the model's picks for their history,
 * with their own most-played tracks mixed in, as in {@link blend}) scored by normalised Borda
 * (`1` for the top, `1/K` for the last, 0 when absent). For each pair of members, take the cosine `s`
 * of these vectors and report `100 · s^0.5`; for groups, the mean over all pairs. Identical histories
 * give 100; lists with nothing in common give 0; the square root spreads the typically small cosines of
 * unrelated listeners into the middle of the scale (random pairs of the shipped data land around 30-70).
 *
 * @example
 * ```ts
 * await tasteMatch([ana.history, ben.history], { model }); // e.g. 57
 * ```
 */
export async function tasteMatch(
  histories: readonly (readonly string[])[],
  options: TasteMatchOptions = {},
): Promise<number> {
  if (!Array.isArray(histories) || histories.length < 2) {
    throw new InvalidOptionError('histories', 'an array of at least 2 histories', histories);
  }
  histories.forEach((h, i) => {
    if (!Array.isArray(h) || h.length === 0) {
      throw new InvalidOptionError(`histories[${i}]`, 'a non-empty array of track ids', h);
    }
  });
  const perMember = options.perMember ?? 200;
  if (!Number.isInteger(perMember) || perMember < 1) {
    throw new InvalidOptionError('perMember', 'an integer >= 1', perMember);
  }
  const familiar = options.familiar ?? 0.3;
  if (typeof familiar !== 'number' || !(familiar >= 0 && familiar <= 1)) {
    throw new InvalidOptionError('familiar', 'a number from 0 to 1', familiar);
  }
  const table = await buildRelevance(options.model, histories, { perMember, familiar });
  return tasteMatchFromRelevance(table.relevance);
}
