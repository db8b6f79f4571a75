// Evaluates several models on the same cases and prints them side by side as one table.
import type { EvalCase } from '../data/types.js';
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import type { Recommender } from '../models/recommender.js';
import {
  checkCases,
  checkModel,
  type EvaluateOptions,
  type EvaluationResult,
  evaluate,
  resolveEvaluateOptions,
} from './metrics.js';
import { formatTable } from './table.js';

/**
 * One model's line in a comparison.
 *
 * @example
 * ```ts
 * const row: ComparisonRow = { name: 'popularity', result: await evaluate(pop, cases) };
 * ```
 */
export interface ComparisonRow {
  name: string;
  result: EvaluationResult;
}

/**
 * Evaluates every model on the same cases with the same options (validated once, before any work), in the
 * order given: an array, a record or a Map of models. Array entries are named by model type (`'sasrec'`, `'popularity'`, a repeated type gets
 * `#2`, `#3`).
 *
 * @example
 * ```ts
 * const rows = await compare({ popularity: pop, markov, sasrec }, cases, { train });
 * console.log(formatComparison(rows));
 * ```
 */
export async function compare(
  models: Readonly<Record<string, Recommender>> | ReadonlyMap<string, Recommender> | readonly Recommender[],
  cases: readonly EvalCase[],
  options: EvaluateOptions = {},
): Promise<ComparisonRow[]> {
  resolveEvaluateOptions(options);
  checkCases(cases);
  let named: [string, Recommender][];
  if (Array.isArray(models)) {
    const seen = new Map<string, number>();
    named = (models as readonly Recommender[]).map((m, i) => {
      checkModel(m, `models[${i}]`);
      const c = (seen.get(m.type) ?? 0) + 1;
      seen.set(m.type, c);
      return [c > 1 ? `${m.type}#${c}` : m.type, m];
    });
  } else if (models instanceof Map) {
    named = [...(models as Map<string, Recommender>).entries()];
  } else if (typeof models === 'object' && models !== null) {
    if (typeof (models as Partial<Recommender>).scoreAll === 'function') {
      // One model passed on its own would otherwise be read as a record of its own fields.
      throw new InvalidOptionError(
        'models',
        'an array or record of Recommenders (one model: [model])',
        `a lone ${(models as unknown as Recommender).type} model`,
      );
    }
    named = Object.entries(models as Record<string, Recommender>);
  } else {
    throw new InvalidOptionError('models', 'an array or record of Recommenders', models);
  }
  if (named.length === 0) throw new InvalidOptionError('models', 'at least one Recommender', models);
  for (const [name, m] of named) checkModel(m, `models.${name}`);
  const rows: ComparisonRow[] = [];
  for (const [name, m] of named) rows.push({ name, result: await evaluate(m, cases, options) });
  return rows;
}

/**
 * Formats comparison rows as a text table: HR@k, NDCG@k, MRR, coverage@k, novelty@k, cases and the
 * protocol label. `k` defaults to 10 when evaluated, else the largest cut-off.
 *
 * @example
 * ```ts
 * console.log(formatComparison(await compare([pop, markov], cases)));
 * // model            HR@10  NDCG@10     MRR  Cov@10  Nov@10  cases  protocol
 * // ---------------  ------  -------  ------  ------  ------  -----  --------
 * // popularity       0.0400   0.0190  0.0210  0.0030  6.1000    500  full
 * ```
 */
export function formatComparison(rows: readonly ComparisonRow[], options: { k?: number } = {}): string {
  checkKnownOptions(options, optionKeys<typeof options>({ k: true }), 'formatComparison');
  if (!Array.isArray(rows)) throw new InvalidOptionError('rows', 'the array compare() returns', rows);
  rows.forEach((r, i) => {
    const result = (r as Partial<ComparisonRow> | null)?.result;
    if (
      typeof r?.name !== 'string' ||
      result === null ||
      typeof result !== 'object' ||
      !Array.isArray(result.k)
    )
      throw new InvalidOptionError(`rows[${i}]`, 'a row of compare(): { name, result: evaluate() }', r);
  });
  const available = rows[0]?.result.k ?? [10];
  const k = options.k ?? (available.includes(10) ? 10 : available[available.length - 1]!);
  for (const r of rows) {
    if (!r.result.k.includes(k)) {
      throw new InvalidOptionError('k', `one of the evaluated cut-offs (${r.result.k.join(', ')})`, k);
    }
  }
  return formatTable(
    [
      { key: 'model' },
      { key: 'hr', header: `HR@${k}` },
      { key: 'ndcg', header: `NDCG@${k}` },
      { key: 'mrr', header: 'MRR' },
      { key: 'coverage', header: `Cov@${k}` },
      { key: 'novelty', header: `Nov@${k}`, digits: 2 },
      { key: 'users', header: 'cases' },
      { key: 'replays', header: 'replays out' },
      { key: 'protocol' },
    ],
    rows.map(({ name, result: r }) => ({
      model: name,
      hr: r.hr[k],
      ndcg: r.ndcg[k],
      mrr: r.mrr,
      coverage: r.coverage[k],
      novelty: r.novelty[k],
      users: r.users,
      // With excludeHistory, replayed targets are misses for every model: how many there were.
      replays: r.historyTargets,
      protocol: r.protocol,
    })),
  );
}
