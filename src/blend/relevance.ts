// Per-member relevance for group playlists: each member's ranked list (model picks mixed with favourites) as Borda scores.
import { Vocabulary } from '../data/dataset.js';
import { type Recommender, scoreRows, topK } from '../models/recommender.js';

/** Options of {@link buildRelevance}. */
export interface RelevanceOptions {
  /** Length of each member's ranked list (their "top-K"). */
  perMember: number;
  /** Share of each member's list taken from their own most-played tracks, in [0, 1]; 0 = none at all. */
  familiar: number;
  /** When set, only these track ids may enter the pool. */
  candidates?: ReadonlySet<string>;
}

/**
 * The candidate pool and every member's relevance for each candidate. Pool positions `c` run over
 * `0..pool.length-1`; `relevance[u][c]` is member `u`'s normalised Borda score in [0, 1] (1 = top of their
 * list, 1/K = last, 0 = not in their list).
 */
export interface RelevanceTable {
  /** Track id of each pool position. */
  trackIds: string[];
  /** `[member][poolPosition]`, normalised Borda relevance in [0, 1]. */
  relevance: Float32Array[];
  /** Each member's list as pool positions, best first. */
  lists: Int32Array[];
  /** Each member's play count of each pool position (0 = never played). */
  plays: Float32Array[];
  /** Each member's distinct known history tracks, most played first (ties: most recent first). */
  favourites: string[][];
  /** The index space the pool lives in (the model's vocabulary, or one built from the histories). */
  vocabulary: Vocabulary;
}

/**
 * A member's distinct tracks, most played first; ties go to the most recently played.
 *
 * @example
 * ```ts
 * favouritesOf(['a', 'b', 'a', 'c']); // ['a', 'c', 'b']
 * ```
 */
export function favouritesOf(history: readonly string[], keep?: (id: string) => boolean): string[] {
  const count = new Map<string, number>();
  const last = new Map<string, number>();
  history.forEach((id, t) => {
    if (keep && !keep(id)) return;
    count.set(id, (count.get(id) ?? 0) + 1);
    last.set(id, t);
  });
  return [...count.keys()].sort((a, b) => count.get(b)! - count.get(a)! || last.get(b)! - last.get(a)!);
}

/**
 * Builds the candidate pool and per-member relevance. With a model, one batched `scoreAll` over all
 * histories gives each member's model ranking (history tracks left out), which is interleaved with the
 * member's favourites so that a `familiar` share of the list is tracks they already play (favourites
 * first, then spread evenly). Without a model, a member's list is their favourites alone.
 *
 * @example
 * ```ts
 * const table = await buildRelevance(model, [['t1', 't2'], ['t9']], { perMember: 200, familiar: 0.3 });
 * table.relevance[0]![0]; // member 0's relevance for the first pool track
 * ```
 */
export async function buildRelevance(
  model: Recommender | undefined,
  histories: readonly (readonly string[])[],
  options: RelevanceOptions,
): Promise<RelevanceTable> {
  const { candidates } = options;
  const vocabulary = model?.vocabulary ?? Vocabulary.from(histories.flat());
  const allowed = (id: string) => vocabulary.has(id) && (!candidates || candidates.has(id));
  const favourites = histories.map((h) => favouritesOf(h, allowed));
  const n = vocabulary.size;
  const K = Math.max(1, Math.min(options.perMember, n));

  // Each member's ranked list as global vocabulary indices.
  let globalLists: number[][];
  if (model) {
    const scores = await scoreRows(model, histories);
    const baseSkip = new Uint8Array(n + 1);
    if (candidates) {
      baseSkip.fill(1);
      for (const id of candidates) {
        const i = vocabulary.index(id);
        if (i !== undefined) baseSkip[i] = 0;
      }
    }
    globalLists = histories.map((history, u) => {
      const skip = baseSkip.slice();
      for (const id of history) {
        const i = vocabulary.index(id);
        if (i !== undefined) skip[i] = 1;
      }
      const modelList = topK(scores[u]!, K, skip).filter((i) => !skip[i]);
      const favList = favourites[u]!.map((id) => vocabulary.index(id)!);
      return interleave(modelList, favList, options.familiar, K);
    });
  } else {
    globalLists = favourites.map((f) => f.slice(0, K).map((id) => vocabulary.index(id)!));
  }

  // Pool = union of the lists, in first-seen order over members' ranks (deterministic).
  const position = new Map<number, number>();
  const poolIdx: number[] = [];
  const maxLen = Math.max(...globalLists.map((l) => l.length));
  for (let r = 0; r < maxLen; r++) {
    for (const list of globalLists) {
      const g = list[r];
      if (g !== undefined && !position.has(g)) {
        position.set(g, poolIdx.length);
        poolIdx.push(g);
      }
    }
  }
  const C = poolIdx.length;
  const relevance: Float32Array[] = [];
  const lists: Int32Array[] = [];
  for (const list of globalLists) {
    const rel = new Float32Array(C);
    const denom = Math.max(list.length, K);
    const pos = new Int32Array(list.length);
    list.forEach((g, r) => {
      const c = position.get(g)!;
      rel[c] = (denom - r) / denom;
      pos[r] = c;
    });
    relevance.push(rel);
    lists.push(pos);
  }
  const plays = histories.map((h) => {
    const p = new Float32Array(C);
    for (const id of h) {
      const g = vocabulary.index(id);
      const c = g === undefined ? undefined : position.get(g);
      if (c !== undefined) p[c]! += 1;
    }
    return p;
  });
  return {
    trackIds: poolIdx.map((g) => vocabulary.ids[g]!),
    relevance,
    lists,
    plays,
    favourites,
    vocabulary,
  };
}

/**
 * Merges a model ranking with favourites so that favourites make up `share` of each prefix (a favourite
 * first when `share > 0`), without duplicates, up to `k` entries. When one runs out the other fills the
 * rest, except that `share` 0 never takes a favourite: the list is then only the model's picks, which
 * are every never-played track there is when they run out before `k`.
 */
function interleave(model: number[], favourites: number[], share: number, k: number): number[] {
  const favs = share > 0 ? favourites : [];
  const out: number[] = [];
  const seen = new Set<number>();
  let mi = 0;
  let fi = 0;
  let favTaken = 0;
  while (out.length < k && (mi < model.length || fi < favs.length)) {
    const wantFav = favTaken < Math.ceil((out.length + 1) * share - 1e-9);
    let g: number | undefined;
    if ((wantFav && fi < favs.length) || mi >= model.length) {
      g = favs[fi++];
      favTaken++;
    } else {
      g = model[mi++];
    }
    if (g !== undefined && !seen.has(g)) {
      seen.add(g);
      out.push(g);
    }
  }
  return out;
}
