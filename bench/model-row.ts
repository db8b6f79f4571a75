// One model's line in a next-track benchmark (bench/next-track.ts, bench/sparse.ts): leave-one-out, full
// ranking, at cut-off 10, under both protocols.
import type { Dataset } from '../src/data/dataset.js';
import type { EvalCase } from '../src/data/types.js';
import { evaluate } from '../src/eval/metrics.js';
import type { Recommender } from '../src/models/recommender.js';
import { SASRec } from '../src/models/sasrec.js';

/** The cut-off of every `...10` field of {@link ModelRow}. */
export const ROW_K = 10;

/** HR, NDCG, MRR and coverage with the history excluded (the default protocol) and every track ranked. */
export interface ModelRow {
  model: string;
  hr10: number;
  ndcg10: number;
  mrr: number;
  coverage10: number;
  /** Every track ranked, replays included (excludeHistory: false). */
  hr10All: number;
  ndcg10All: number;
  trainSeconds: number;
  /** SASRec only: epochs run, the epoch whose weights it kept, and why training ended. */
  epochs?: number;
  bestEpoch?: number;
  stoppedBy?: string;
}

/**
 * Runs `f` and times it.
 *
 * @example
 * ```ts
 * const { value: model, seconds } = await timed(() => ItemTransition.fit(train));
 * ```
 */
export async function timed<T>(f: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

/**
 * Evaluates a trained model on `test` under both protocols and returns its row.
 *
 * @example
 * ```ts
 * const row = await modelRow('item-transition', markov, test, train, 0.1);
 * ```
 */
export async function modelRow(
  model: string,
  m: Recommender,
  test: readonly EvalCase[],
  train: Dataset,
  trainSeconds: number,
): Promise<ModelRow> {
  const r = await evaluate(m, test, { k: [ROW_K], train });
  const all = await evaluate(m, test, { k: [ROW_K], train, excludeHistory: false });
  const tr = m instanceof SASRec ? m.trainResult : undefined;
  return {
    model,
    hr10: r.hr[ROW_K]!,
    ndcg10: r.ndcg[ROW_K]!,
    mrr: r.mrr,
    coverage10: r.coverage[ROW_K]!,
    hr10All: all.hr[ROW_K]!,
    ndcg10All: all.ndcg[ROW_K]!,
    trainSeconds,
    ...(tr ? { epochs: tr.epochs, bestEpoch: tr.bestEpoch, stoppedBy: tr.stoppedBy } : {}),
  };
}
