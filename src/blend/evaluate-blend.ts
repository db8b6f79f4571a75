// Group evaluation of a Blend: per-member NDCG and recall against held-out listens, and fairness aggregates.
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import { checkTrackIds } from '../models/recommender.js';
import type { BlendResult } from './blend.js';

/** One member's scores in {@link evaluateBlend}. */
export interface MemberEvaluation {
  id: string;
  /** NDCG@k with binary relevance; the ideal DCG assumes min(k, relevant) hits at the top. */
  ndcg: number;
  /** Hits in the first k tracks / distinct held-out tracks. */
  recall: number;
  /** Held-out tracks found in the first k. */
  hits: number;
  /** Distinct held-out tracks. */
  relevant: number;
}

/** Result of {@link evaluateBlend}. */
export interface BlendEvaluation {
  k: number;
  members: MemberEvaluation[];
  /** Mean NDCG@k over members. */
  meanNdcg: number;
  /** Lowest member NDCG@k. */
  minNdcg: number;
  /** Highest member NDCG@k. */
  maxNdcg: number;
  /** minNdcg / maxNdcg (1 when both are 0): 1 = perfectly even. */
  minMaxRatio: number;
  /** Mean recall@k over members. */
  meanRecall: number;
  /** Lowest member recall@k. */
  minRecall: number;
  /** Share of members with recall 0 (nothing they will play is in the list). */
  zeroRecall: number;
  /** Jain's fairness index over member NDCG: (Σx)² / (n·Σx²), 1 = equal, 1/n = one member gets all (1 when all 0). */
  jain: number;
}

/**
 * Jain's fairness index of non-negative values: `(Σx)² / (n · Σx²)`, from 1/n (one gets everything) to 1
 * (all equal). All zeros count as equal (1).
 *
 * @example
 * ```ts
 * jainIndex([0.3, 0.3, 0.3]); // 1
 * jainIndex([1, 0]);          // 0.5
 * ```
 */
export function jainIndex(values: readonly number[]): number {
  let sum = 0;
  let sq = 0;
  for (const x of values) {
    sum += x;
    sq += x * x;
  }
  return sq === 0 ? 1 : (sum * sum) / (values.length * sq);
}

/**
 * Scores a group playlist against what each member went on to play: for each member, NDCG@k (binary
 * relevance, ideal DCG = min(k, |held-out|) hits at the top) and recall@k (hits / distinct held-out
 * tracks) of the first `k` tracks; then mean, min, min/max ratio, zero-recall share and Jain's index.
 * Accepts a {@link BlendResult} or a plain list of track ids; `heldOut` needs a non-empty entry for
 * every member (for a plain list, the members are `heldOut`'s keys).
 *
 * @example
 * ```ts
 * const r = await blend(members, { model });
 * const ev = evaluateBlend(r, { ana: ['t5', 't9'], ben: ['t2'] }, { k: 20 });
 * console.log(ev.meanNdcg, ev.minMaxRatio, ev.zeroRecall, ev.jain);
 * ```
 */
export function evaluateBlend(
  result: BlendResult | readonly string[],
  heldOut: Readonly<Record<string, readonly string[]>>,
  options: { k?: number } = {},
): BlendEvaluation {
  checkKnownOptions(options, optionKeys<typeof options>({ k: true }), 'evaluateBlend');
  const k = options.k ?? 20;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1)
    throw new InvalidOptionError('k', 'an integer >= 1', k);
  // A plain object: a Map or an array would be read by its (absent or index) keys.
  if (heldOut === null || typeof heldOut !== 'object' || Array.isArray(heldOut) || heldOut instanceof Map) {
    throw new InvalidOptionError(
      'heldOut',
      'a plain object mapping member id to held-out track ids ({ ana: [...], ben: [...] })',
      heldOut,
    );
  }
  const blendResult = result as Partial<BlendResult> | null;
  if (
    !Array.isArray(result) &&
    (blendResult === null ||
      typeof blendResult !== 'object' ||
      !Array.isArray(blendResult.tracks) ||
      !Array.isArray(blendResult.members))
  )
    throw new InvalidOptionError(
      'result',
      'what blend() returned, or a playlist as an array of track ids',
      result,
    );
  const list = Array.isArray(result)
    ? (result as readonly string[])
    : (result as BlendResult).tracks.map((t) => t.trackId);
  if (Array.isArray(result)) {
    // A playlist holds each track once: a repeated id would count as a hit twice (recall above 1).
    checkTrackIds(list, 'result');
    const seen = new Set<string>();
    list.forEach((id, p) => {
      if (seen.has(id))
        throw new InvalidOptionError(`result[${p}]`, 'a track id not already in the list', id);
      seen.add(id);
    });
  }
  const ids = Array.isArray(result) ? Object.keys(heldOut) : (result as BlendResult).members.map((m) => m.id);
  if (ids.length === 0) throw new InvalidOptionError('heldOut', 'at least one member', heldOut);
  const inBlend = new Set(ids);
  for (const id of Object.keys(heldOut))
    if (!inBlend.has(id))
      throw new InvalidOptionError(`heldOut.${id}`, `a member of the Blend (${ids.join(', ')})`, id);
  const top = list.slice(0, k);
  const members = ids.map((id): MemberEvaluation => {
    const held = heldOut[id];
    if (!Array.isArray(held) || held.length === 0) {
      throw new InvalidOptionError(`heldOut.${id}`, 'a non-empty array of track ids', held);
    }
    checkTrackIds(held, `heldOut.${id}`);
    const relevant = new Set(held);
    let dcg = 0;
    let hits = 0;
    top.forEach((t, r) => {
      if (relevant.has(t)) {
        dcg += 1 / Math.log2(r + 2);
        hits++;
      }
    });
    let idcg = 0;
    for (let r = 0; r < Math.min(k, relevant.size); r++) idcg += 1 / Math.log2(r + 2);
    return { id, ndcg: dcg / idcg, recall: hits / relevant.size, hits, relevant: relevant.size };
  });
  const ndcgs = members.map((m) => m.ndcg);
  const recalls = members.map((m) => m.recall);
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const minNdcg = Math.min(...ndcgs);
  const maxNdcg = Math.max(...ndcgs);
  return {
    k,
    members,
    meanNdcg: mean(ndcgs),
    minNdcg,
    maxNdcg,
    minMaxRatio: maxNdcg === 0 ? 1 : minNdcg / maxNdcg,
    meanRecall: mean(recalls),
    minRecall: Math.min(...recalls),
    zeroRecall: recalls.filter((r) => r === 0).length / members.length,
    jain: jainIndex(ndcgs),
  };
}
