// Next-track evaluation: full-ranking (default) or clearly labelled sampled HR, NDCG, MRR, coverage, novelty.
import { checkDataset, type Dataset } from '../data/dataset.js';
import type { EvalCase } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError } from '../errors.js';
import { type Recommender, scoreBatchSize, scoreRows, topK } from '../models/recommender.js';
import { createRng, type Rng } from '../util/random.js';

/**
 * Which items the target is ranked against.
 * - `'all'` (default): every catalogue item (full ranking), the protocol to report.
 * - `{ sample: n, seed }`: the target against `n` negatives drawn uniformly (seeded) from items that are
 *   not the target (and not in the history when `excludeHistory`). Only for comparison with old papers:
 *   sampled metrics inflate scores several-fold and can reverse model orderings (Krichene & Rendle 2020).
 * - `{ negatives }`: the target against given negatives per user id (cases whose user has none are skipped
 *   and counted in `skipped`; negatives the model does not know rank above the target; with
 *   `excludeHistory`, negatives in the case's history are left out, like the rest of the history).
 *
 * @example
 * ```ts
 * const full: Candidates = 'all';
 * const sampled: Candidates = { sample: 100, seed: 1 };
 * ```
 */
export type Candidates =
  | 'all'
  | { sample: number; seed?: number }
  | { negatives: Readonly<Record<string, readonly string[]>> | ReadonlyMap<string, readonly string[]> };

/**
 * Options of {@link evaluate}.
 *
 * @example
 * ```ts
 * const opts: EvaluateOptions = { k: [10, 20], candidates: 'all', train };
 * ```
 */
export interface EvaluateOptions {
  /** Cut-offs for HR, NDCG, coverage and novelty. Positive integers, default `[5, 10, 20]`. */
  k?: readonly number[];
  /** What the target is ranked against. Default `'all'` (full ranking). */
  candidates?: Candidates;
  /**
   * Leave the history's tracks out of the ranking: the protocol of recommending tracks the listener has not
   * heard. Default true. A target the listener has already heard cannot be recommended under it, so it counts
   * as a miss (see `historyTargets` in the result): leaving such a target in the ranking alone among the
   * history would tell the model the answer (any model that ranks its history first would hit every replay).
   * Use `false` to rank every track, replays included.
   */
  excludeHistory?: boolean;
  /**
   * Histories scored per `scoreAll` call. Integer >= 1. Default: 256, or fewer on a large catalogue, as many
   * rows of scores as fit in {@link SCORE_BATCH_BYTES} (50 at 660,000 tracks; see {@link scoreBatchSize}).
   */
  batchSize?: number;
  /** Training data whose listen counts define popularity for novelty. Default: counts from the cases' histories. */
  train?: Dataset;
  /** Listen counts per track id for novelty (instead of `train`). */
  itemCounts?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
}

/** Protocol label of an {@link EvaluationResult}: `'full'` or e.g. `'sampled (n=100, uniform)'`. */
export type EvaluationProtocol = 'full' | `sampled (${string})`;

/**
 * What {@link evaluate} returns. Metric records are keyed by cut-off `k`.
 *
 * @example
 * ```ts
 * const r: EvaluationResult = await evaluate(model, cases);
 * console.log(r.protocol, r.hr[10], r.ndcg[10], r.mrr);
 * ```
 */
export interface EvaluationResult {
  /** Hit rate (= recall for one target): share of cases whose target ranks within the top k. */
  hr: Record<number, number>;
  /** Mean of `1 / log2(rank + 1)` when rank <= k, else 0. */
  ndcg: Record<number, number>;
  /** Mean reciprocal rank (no cut-off). */
  mrr: number;
  /** Distinct items in all full-catalogue top-k lists / catalogue size. */
  coverage: Record<number, number>;
  /**
   * Mean self-information `-log2((count + 1) / (listens + catalogue))` of the items in the top-k lists;
   * NaN when no list has an item (every case's history covers the catalogue, which is excluded).
   */
  novelty: Record<number, number>;
  /** Cases evaluated (unknown targets included, as misses). */
  users: number;
  /** Cases left out (no negatives given for the user). */
  skipped: number;
  /** Cases whose target is not in the model's vocabulary; each counts as a miss. */
  unknownTargets: number;
  /** With `excludeHistory`, cases whose target is already in the history; each counts as a miss. */
  historyTargets: number;
  /**
   * With given negatives: negatives the model does not know (not in its vocabulary). Each ranks above the
   * target, like a tie, since the model cannot score it.
   */
  unknownNegatives: number;
  /** How the target was ranked. */
  protocol: EvaluationProtocol;
  /** The cut-offs, ascending. */
  k: number[];
}

/** The keys of {@link EvaluateOptions}, checked so that a misspelt option is an error. */
const EVALUATE_KEYS: Record<keyof EvaluateOptions, true> = {
  k: true,
  candidates: true,
  excludeHistory: true,
  batchSize: true,
  train: true,
  itemCounts: true,
};

interface Resolved {
  k: number[];
  candidates: Candidates;
  excludeHistory: boolean;
  /** Undefined: {@link scoreBatchSize} of the model's catalogue. */
  batchSize: number | undefined;
}

/** @internal Validates {@link EvaluateOptions} (shared with `compare`). */
export function resolveEvaluateOptions(options: EvaluateOptions): Resolved {
  checkKnownOptions(options, Object.keys(EVALUATE_KEYS), 'evaluate');
  const k = options.k ?? [5, 10, 20];
  if (
    !Array.isArray(k) ||
    k.length === 0 ||
    k.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 1)
  ) {
    throw new InvalidOptionError('k', 'a non-empty array of positive integers', k);
  }
  const candidates = options.candidates ?? 'all';
  if (candidates !== 'all') {
    if (typeof candidates !== 'object' || candidates === null) {
      throw new InvalidOptionError('candidates', "'all', { sample: n, seed } or { negatives }", candidates);
    }
    if ('sample' in candidates && 'negatives' in candidates) {
      throw new InvalidOptionError(
        'candidates',
        'one of { sample: n, seed } or { negatives }, not both',
        candidates,
      );
    }
    if ('sample' in candidates) {
      checkKnownOptions(candidates, ['sample', 'seed'], 'sampled candidates', 'candidates.');
      const n = candidates.sample;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
        throw new InvalidOptionError('candidates.sample', 'an integer >= 1', n);
      }
      if (
        candidates.seed !== undefined &&
        (typeof candidates.seed !== 'number' || !Number.isFinite(candidates.seed))
      ) {
        throw new InvalidOptionError('candidates.seed', 'a finite number', candidates.seed);
      }
    } else if ('negatives' in candidates) {
      checkKnownOptions(candidates, ['negatives'], 'candidates', 'candidates.');
      const neg = candidates.negatives;
      if (typeof neg !== 'object' || neg === null) {
        throw new InvalidOptionError(
          'candidates.negatives',
          'a Map or record from user id to track ids',
          neg,
        );
      }
      const entries = neg instanceof Map ? [...neg.entries()] : Object.entries(neg);
      for (const [user, ids] of entries) {
        if (!Array.isArray(ids) || ids.length === 0 || ids.some((x) => typeof x !== 'string')) {
          throw new InvalidOptionError(
            `candidates.negatives[${JSON.stringify(user)}]`,
            'a non-empty array of track ids (with none, every target would rank first)',
            ids,
          );
        }
      }
    } else {
      throw new InvalidOptionError('candidates', "'all', { sample: n, seed } or { negatives }", candidates);
    }
  }
  const excludeHistory = options.excludeHistory ?? true;
  if (typeof excludeHistory !== 'boolean')
    throw new InvalidOptionError('excludeHistory', 'a boolean', excludeHistory);
  const batchSize = options.batchSize;
  if (
    batchSize !== undefined &&
    (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1)
  ) {
    throw new InvalidOptionError('batchSize', 'an integer >= 1', batchSize);
  }
  if (options.train !== undefined) checkDataset(options.train, 'train', 'whose listen counts define novelty');
  const counts = options.itemCounts;
  if (counts !== undefined && options.train !== undefined)
    throw new InvalidOptionError(
      'itemCounts',
      'either `train` or `itemCounts` for novelty, not both (they could disagree)',
      counts,
    );
  if (counts !== undefined) {
    if (counts === null || typeof counts !== 'object' || Array.isArray(counts))
      throw new InvalidOptionError('itemCounts', 'a Map or record from track id to listen count', counts);
    const entries = counts instanceof Map ? [...counts.entries()] : Object.entries(counts);
    for (const [id, c] of entries) {
      if (typeof c !== 'number' || !Number.isFinite(c) || c < 0)
        throw new InvalidOptionError(`itemCounts[${JSON.stringify(id)}]`, 'a listen count >= 0', c);
    }
  }
  return { k: [...new Set(k)].sort((a, b) => a - b), candidates, excludeHistory, batchSize };
}

/** @internal Checks that `model` is a {@link Recommender} (has `scoreAll` and a vocabulary). */
export function checkModel(model: unknown, option: string): asserts model is Recommender {
  const m = model as Partial<Recommender> | null | undefined;
  if (!m || typeof m.scoreAll !== 'function' || typeof m.vocabulary?.index !== 'function')
    throw new InvalidOptionError(option, 'a Recommender (a fitted or loaded model)', model);
}

/** @internal Validates evaluation cases. */
export function checkCases(cases: unknown, option = 'cases'): asserts cases is readonly EvalCase[] {
  if (!Array.isArray(cases) || cases.length === 0) {
    throw new InvalidOptionError(option, 'a non-empty array of { userId, history, target }', cases);
  }
  cases.forEach((c: Partial<EvalCase>, i) => {
    if (typeof c !== 'object' || c === null) throw new InvalidOptionError(`${option}[${i}]`, 'an object', c);
    if (!Array.isArray(c.history) || c.history.some((x) => typeof x !== 'string')) {
      throw new InvalidOptionError(`${option}[${i}].history`, 'an array of track ids', c.history);
    }
    if (typeof c.target !== 'string')
      throw new InvalidOptionError(`${option}[${i}].target`, 'a track id', c.target);
    if (typeof c.userId !== 'string')
      throw new InvalidOptionError(`${option}[${i}].userId`, 'a user id (a string)', c.userId);
  });
}

/** The protocol label for resolved candidates. */
function protocolOf(candidates: Candidates, catalogue: number): EvaluationProtocol {
  if (candidates === 'all') return 'full';
  // As many negatives as there are other tracks: every case ranks against all of them, a full ranking.
  if ('sample' in candidates)
    return candidates.sample >= catalogue - 1 ? 'full' : `sampled (n=${candidates.sample}, uniform)`;
  return 'sampled (given negatives)';
}

/** Self-information per vocabulary index from counts by track id (add-one smoothed). */
function selfInformation(
  model: Recommender,
  cases: readonly EvalCase[],
  options: EvaluateOptions,
): Float64Array {
  const vocab = model.vocabulary;
  const n = vocab.size;
  const counts = new Float64Array(n + 1);
  if (options.itemCounts) {
    const entries =
      options.itemCounts instanceof Map
        ? [...options.itemCounts.entries()]
        : Object.entries(options.itemCounts);
    for (const [id, c] of entries) {
      const i = vocab.index(id);
      if (i !== undefined) counts[i] = c;
    }
  } else if (options.train) {
    const tv = options.train.vocabulary;
    for (let j = 1; j <= tv.size; j++) {
      const i = vocab.index(tv.ids[j]!);
      if (i !== undefined) counts[i] = options.train.itemCounts[j]!;
    }
  } else {
    for (const c of cases) {
      for (const id of c.history) {
        const i = vocab.index(id);
        if (i !== undefined) counts[i]!++;
      }
    }
  }
  let total = 0;
  for (let i = 1; i <= n; i++) total += counts[i]!;
  const info = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) info[i] = -Math.log2((counts[i]! + 1) / (total + n));
  return info;
}

/** Draws up to `count` distinct indices in 1..n with `mask[i] === 0`, `available` of which exist. */
function sampleNegatives(rng: Rng, n: number, mask: Uint8Array, available: number, count: number): number[] {
  if (available <= count) {
    const all: number[] = [];
    for (let i = 1; i <= n; i++) if (!mask[i]) all.push(i);
    return all;
  }
  if (count * 2 < available) {
    const picked = new Set<number>();
    while (picked.size < count) {
      const i = 1 + rng.int(n);
      if (!mask[i]) picked.add(i);
    }
    return [...picked];
  }
  const pool: number[] = [];
  for (let i = 1; i <= n; i++) if (!mask[i]) pool.push(i);
  for (let j = 0; j < count; j++) {
    const r = j + rng.int(pool.length - j);
    const t = pool[j]!;
    pool[j] = pool[r]!;
    pool[r] = t;
  }
  return pool.slice(0, count);
}

const clean = (s: number) => (Number.isNaN(s) ? Number.NEGATIVE_INFINITY : s);

/**
 * Evaluates next-track predictions. By default ranks each case's target against **every** catalogue item
 * (full ranking), leaving out the tracks already in the history (`excludeHistory`, default true; a
 * replayed target is then a miss, counted in `historyTargets`, because unmasking it alone would give it
 * away). `excludeHistory: false` ranks every track, replays included. Ties count against the model: `rank = 1 + #(score > target) + #(other items with score == target)`, so a constant
 * scorer ranks every target last. A target the model does not know is a miss (`unknownTargets`).
 *
 * Sampled protocols (`candidates: { sample }` or `{ negatives }`) are labelled in `protocol`; they inflate
 * scores several-fold and can reverse model orderings, so report them only next to full-ranking numbers.
 * Coverage and novelty always describe the full-catalogue top-k lists the model would actually show.
 *
 * @example
 * ```ts
 * const r = await evaluate(model, cases, { k: [10], train });
 * console.log(`${r.protocol}: HR@10 ${r.hr[10]} NDCG@10 ${r.ndcg[10]} MRR ${r.mrr}`);
 * ```
 */
export async function evaluate(
  model: Recommender,
  cases: readonly EvalCase[],
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const opts = resolveEvaluateOptions(options);
  checkCases(cases);
  checkModel(model, 'model');
  const vocab = model.vocabulary;
  const n = vocab.size;
  const ks = opts.k;
  const maxK = Math.min(ks[ks.length - 1]!, n);
  const info = selfInformation(model, cases, options);
  const { candidates } = opts;
  const rng =
    typeof candidates === 'object' && 'sample' in candidates ? createRng(candidates.seed ?? 0) : undefined;
  const given =
    typeof candidates === 'object' && 'negatives' in candidates
      ? candidates.negatives instanceof Map
        ? (candidates.negatives as ReadonlyMap<string, readonly string[]>)
        : new Map(Object.entries(candidates.negatives))
      : undefined;

  const kept = given ? cases.filter((c) => given.has(c.userId)) : cases;
  if (kept.length === 0)
    throw new InvalidOptionError(
      'candidates.negatives',
      `negatives for the user of at least one of the ${cases.length} cases`,
      candidates,
    );
  const hits = ks.map(() => 0);
  const gains = ks.map(() => 0);
  const recommended = ks.map(() => new Set<number>());
  const noveltySum = ks.map(() => 0);
  const noveltyCount = ks.map(() => 0);
  let rr = 0;
  let unknownTargets = 0;
  let historyTargets = 0;
  let unknownNegatives = 0;

  const batchSize = opts.batchSize ?? scoreBatchSize(n);
  for (let start = 0; start < kept.length; start += batchSize) {
    const batch = kept.slice(start, start + batchSize);
    const all = await scoreRows(
      model,
      batch.map((c) => c.history),
    );
    batch.forEach((c, b) => {
      const scores = all[b]!;
      const mask = new Uint8Array(n + 1);
      mask[0] = 1;
      let masked = 0;
      if (opts.excludeHistory) {
        for (const id of c.history) {
          const i = vocab.index(id);
          if (i !== undefined && !mask[i]) {
            mask[i] = 1;
            masked++;
          }
        }
      }
      const t = vocab.index(c.target);
      // A replayed target is excluded with the rest of the history: a miss (never unmasked, which would leak it).
      const excludedTarget = opts.excludeHistory && t !== undefined && mask[t] === 1;
      if (excludedTarget) historyTargets++;

      // Beyond-accuracy: the full-catalogue top-k (history excluded), whatever the ranking protocol.
      const top = topK(scores, maxK, mask);
      ks.forEach((k, j) => {
        for (let r = 0; r < Math.min(k, top.length); r++) {
          recommended[j]!.add(top[r]!);
          noveltySum[j]! += info[top[r]!]!;
          noveltyCount[j]!++;
        }
      });

      let rank = Number.POSITIVE_INFINITY;
      if (t === undefined) {
        unknownTargets++;
      } else if (!excludedTarget) {
        const st = clean(scores[t]!);
        let above = 0;
        const count = (i: number) => {
          if (i !== t && clean(scores[i]!) >= st) above++;
        };
        if (candidates === 'all') {
          for (let i = 1; i <= n; i++) if (!mask[i]) count(i);
        } else if (rng && typeof candidates === 'object' && 'sample' in candidates) {
          mask[t] = 1; // the target is never its own negative
          for (const i of sampleNegatives(rng, n, mask, n - masked - 1, candidates.sample)) count(i);
        } else {
          const seen = new Set<number>();
          const unknown = new Set<string>();
          for (const id of given!.get(c.userId)!) {
            const i = vocab.index(id);
            if (i === undefined) unknown.add(id);
            // A negative in the history is out of the ranking with it, as in the other protocols.
            else if (i !== t && !seen.has(i) && !mask[i]) {
              seen.add(i);
              count(i);
            }
          }
          if (seen.size === 0 && unknown.size === 0) {
            // Every negative was the target or in the history: the target would rank first unopposed.
            throw new InvalidOptionError(
              `candidates.negatives[${JSON.stringify(c.userId)}]`,
              `at least one negative other than the target${opts.excludeHistory ? ' and the history (excluded with excludeHistory)' : ''}: with none, the target would rank first against nothing`,
              given!.get(c.userId),
            );
          }
          // A negative the model cannot score counts against it, as a tie does.
          above += unknown.size;
          unknownNegatives += unknown.size;
        }
        rank = 1 + above;
      }
      rr += 1 / rank;
      ks.forEach((k, j) => {
        if (rank <= k) {
          hits[j]!++;
          gains[j]! += 1 / Math.log2(rank + 1);
        }
      });
    });
  }

  const users = kept.length;
  const mean = (x: number) => (users > 0 ? x / users : Number.NaN);
  const byK = (f: (j: number) => number) =>
    Object.fromEntries(ks.map((k, j) => [k, f(j)])) as Record<number, number>;
  return {
    hr: byK((j) => mean(hits[j]!)),
    ndcg: byK((j) => mean(gains[j]!)),
    mrr: mean(rr),
    coverage: byK((j) => (users > 0 ? recommended[j]!.size / n : Number.NaN)),
    novelty: byK((j) => (noveltyCount[j]! > 0 ? noveltySum[j]! / noveltyCount[j]! : Number.NaN)),
    users,
    skipped: cases.length - users,
    unknownTargets,
    historyTargets,
    unknownNegatives,
    protocol: protocolOf(candidates, n),
    k: ks,
  };
}
