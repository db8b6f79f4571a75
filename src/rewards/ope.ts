// Off-policy evaluation: IPS, self-normalised IPS, direct method and doubly robust, with seeded bootstrap CIs.
import {
  checkKnownOptions,
  type DataIssue,
  InvalidDataError,
  InvalidOptionError,
  optionKeys,
} from '../errors.js';
import { createRng } from '../util/random.js';

/** An action: an index into the policy's probability array, or a string key into its Map. */
export type Action = number | string;

/**
 * One logged decision: what the logging policy saw, what it did, the reward that followed, and the logging
 * policy's probability of that action (`propensity`, in (0, 1]).
 *
 * @example
 * ```ts
 * const r: LogRecord<{ user: string }, string> = { context: { user: 'u1' }, action: 't7', reward: 1, propensity: 0.2 };
 * ```
 */
export interface LogRecord<C = unknown, A extends Action = Action> {
  context: C;
  action: A;
  reward: number;
  propensity: number;
}

/**
 * The same logs in columnar form; all four arrays must have the same length.
 *
 * @example
 * ```ts
 * const logs: ColumnarLogs = { contexts: [0, 1], actions: [2, 0], rewards: [1, 0], propensities: [0.5, 0.25] };
 * ```
 */
export interface ColumnarLogs<C = unknown, A extends Action = Action> {
  contexts: readonly C[];
  actions: readonly A[];
  rewards: ArrayLike<number>;
  propensities: ArrayLike<number>;
}

/**
 * The policy being evaluated: for a context, the probability of each action — an array indexed by action for
 * number actions, or a Map from action to probability for string actions. Probabilities must sum to 1.
 *
 * @example
 * ```ts
 * const uniform: TargetPolicy<unknown, number> = () => [0.25, 0.25, 0.25, 0.25];
 * const greedy: TargetPolicy<unknown, string> = () => new Map([['t1', 1]]);
 * ```
 */
export type TargetPolicy<C = unknown, A extends Action = Action> = (
  context: C,
) => ArrayLike<number> | ReadonlyMap<A, number>;

/** Predicted expected reward of an action in a context. */
export type OpeRewardModel<C = unknown, A extends Action = Action> = (context: C, action: A) => number;

/** Options shared by every estimator. */
export interface OpeOptions<C = unknown, A extends Action = Action> {
  /** Bootstrap resamples for the confidence interval. Default 200 (0 gives a normal-approximation CI). */
  bootstrap?: number;
  /** 1 - confidence level of the interval. Default 0.05. */
  alpha?: number;
  /** Seed of the bootstrap. Default 0. */
  seed?: number;
  /** Tolerance on `sum(policy(context)) == 1`. Default 1e-3. */
  tolerance?: number;
  /** directMethod / doublyRobust: the reward model. Fitted from the logs when absent (see {@link fitTabularRewardModel}). */
  rewardModel?: OpeRewardModel<C, A>;
  /** Key that groups contexts for the fitted reward model. Default: see {@link defaultContextKey}. */
  contextKey?: (context: C) => string;
  /**
   * doublyRobust: how much of the reward model's control variate to use. The estimate is
   * `mean(w·r) − β·mean(w·q(x,a) − Σ_a' π(a'|x)·q(x,a'))`; β = 1 is classic DR. `'optimal'` (default) picks
   * the β that minimises the estimate's variance on the logs (Cov/Var, re-fitted inside every bootstrap
   * resample), so DR is never asymptotically worse than IPS (β = 0), even with a weak reward model.
   */
  drBeta?: 'optimal' | number;
}

/**
 * An estimate of the target policy's expected reward per decision.
 *
 * @example
 * ```ts
 * const { estimate, ci: [lo, hi] } = ope.snips(logs, policy);
 * ```
 */
export interface OpeEstimate {
  estimate: number;
  /** Bootstrap percentile interval at level 1 - alpha. */
  ci: [number, number];
  /**
   * Bootstrap standard deviation of the estimate; with `bootstrap: 0`, the normal-approximation standard error
   * (for SNIPS by the delta method: `sd(w·(r − estimate)) / (√n · mean(w))`).
   */
  stdError: number;
  /** Number of logged records used. */
  n: number;
  estimator: 'ips' | 'snips' | 'dm' | 'dr';
  /**
   * Bootstrap resamples left out of `ci` and `stdError`: SNIPS resamples in which every drawn record has
   * importance weight 0, so that Σ w·r / Σ w is 0 / 0 and the resample has no estimate. Always 0 for the
   * other estimators and with `bootstrap: 0`. If it is a sizeable share of the resamples, the target policy
   * overlaps the logs in only a few records and the interval is unreliable.
   */
  skippedResamples: number;
}

/**
 * Default context key: strings and numbers as themselves, objects by their `key` or `id` field, else JSON.
 *
 * @example
 * ```ts
 * defaultContextKey({ id: 'u1', hour: 9 }); // 'u1'
 * defaultContextKey(3);                     // '3'
 * ```
 */
export function defaultContextKey(context: unknown): string {
  if (typeof context === 'string' || typeof context === 'number') return String(context);
  if (context && typeof context === 'object') {
    const o = context as { key?: unknown; id?: unknown };
    if (typeof o.key === 'string' || typeof o.key === 'number') return String(o.key);
    if (typeof o.id === 'string' || typeof o.id === 'number') return String(o.id);
  }
  return JSON.stringify(context) ?? String(context);
}

function toRecords<C, A extends Action>(
  logs: readonly LogRecord<C, A>[] | ColumnarLogs<C, A>,
): LogRecord<C, A>[] {
  if (Array.isArray(logs)) return logs as LogRecord<C, A>[];
  if (!logs || typeof logs !== 'object') {
    throw new InvalidOptionError(
      'logs',
      'an array of {context, action, reward, propensity} or {contexts, actions, rewards, propensities}',
      logs,
    );
  }
  const c = logs as ColumnarLogs<C, A>;
  const fields = ['contexts', 'actions', 'rewards', 'propensities'] as const;
  for (const f of fields) {
    if (!c[f] || typeof c[f].length !== 'number') throw new InvalidOptionError(`logs.${f}`, 'an array', c[f]);
  }
  const n = c.contexts.length;
  for (const f of fields) {
    if (c[f].length !== n) {
      throw new InvalidDataError(`Columnar logs have mismatched lengths`, [
        {
          column: `logs.${f}`,
          value: String(c[f].length),
          expected: `length ${n} (the length of logs.contexts)`,
        },
      ]);
    }
  }
  return Array.from({ length: n }, (_, i) => ({
    context: c.contexts[i]!,
    action: c.actions[i]!,
    reward: c.rewards[i]!,
    propensity: c.propensities[i]!,
  }));
}

/** A received value as an issue shows it (issues quote values): a string says so, so "0.5" is not taken for 0.5. */
const shown = (v: unknown): string => (typeof v === 'string' ? `${v} (a string)` : String(v));

function validateRecords<C, A extends Action>(records: readonly LogRecord<C, A>[]): void {
  if (records.length === 0)
    throw new InvalidDataError('The log is empty: off-policy evaluation needs at least one record');
  const issues: DataIssue[] = [];
  records.forEach((r, i) => {
    if (!r || typeof r !== 'object') {
      issues.push({
        column: `logs[${i}]`,
        value: String(r),
        expected: 'an object {context, action, reward, propensity}',
      });
      return;
    }
    const p = r.propensity;
    if (typeof p !== 'number' || !(p > 0) || p > 1) {
      issues.push({ column: `logs[${i}].propensity`, value: shown(p), expected: 'a number in (0, 1]' });
    }
    if (typeof r.reward !== 'number' || !Number.isFinite(r.reward)) {
      issues.push({ column: `logs[${i}].reward`, value: shown(r.reward), expected: 'a finite number' });
    }
    const a = r.action;
    if (!(typeof a === 'string' || (typeof a === 'number' && Number.isInteger(a) && a >= 0))) {
      issues.push({ column: `logs[${i}].action`, value: shown(a), expected: 'an integer >= 0 or a string' });
    }
  });
  if (issues.length > 0) {
    throw new InvalidDataError(`Invalid log: ${issues.length} bad field(s) `, issues);
  }
}

/** A policy's output, validated, as entries (action, probability). */
interface PolicyRow<A extends Action> {
  prob(action: A): number;
  entries: [A, number][];
}

function evalPolicy<C, A extends Action>(
  policy: TargetPolicy<C, A>,
  record: LogRecord<C, A>,
  index: number,
  tolerance: number,
  state: { length?: number },
): PolicyRow<A> {
  const out = policy(record.context);
  let entries: [A, number][];
  if (out instanceof Map) {
    entries = [...(out as ReadonlyMap<A, number>).entries()];
  } else if (out && typeof (out as ArrayLike<number>).length === 'number') {
    const arr = out as ArrayLike<number>;
    if (typeof record.action !== 'number') {
      throw new InvalidDataError(
        `The policy returned an array for record ${index}, whose action is a string`,
        [
          {
            column: `logs[${index}].action`,
            value: String(record.action),
            expected: 'an integer index (or make the policy return a Map)',
          },
        ],
      );
    }
    if (state.length === undefined) state.length = arr.length;
    if (arr.length === state.length && record.action >= arr.length) {
      throw new InvalidDataError(
        `The logged action of record ${index} is outside the policy's probability array (length ${arr.length})`,
        [
          {
            column: `logs[${index}].action`,
            value: String(record.action),
            expected: `an action index below ${arr.length}, the length of the array the policy returns`,
          },
        ],
      );
    }
    if (arr.length !== state.length) {
      throw new InvalidDataError(
        `The policy returned a probability array of the wrong length for record ${index}`,
        [
          {
            column: `logs[${index}].policy(context)`,
            value: `length ${arr.length}`,
            expected: `length ${state.length}, as for earlier records`,
          },
        ],
      );
    }
    entries = Array.from(arr, (p, a) => [a as A, p]);
  } else {
    throw new InvalidDataError(`The policy returned neither an array nor a Map for record ${index}`, [
      {
        column: `logs[${index}].policy(context)`,
        value: String(out),
        expected: 'an array of probabilities or a Map',
      },
    ]);
  }
  let sum = 0;
  for (const [a, p] of entries) {
    if (typeof p !== 'number' || !(p >= 0) || p > 1 + tolerance) {
      throw new InvalidDataError(`The policy returned an invalid probability for record ${index}`, [
        {
          column: `logs[${index}].policy(context)[${String(a)}]`,
          value: String(p),
          expected: 'a probability in [0, 1]',
        },
      ]);
    }
    sum += p;
  }
  if (Math.abs(sum - 1) > tolerance) {
    throw new InvalidDataError(`The policy's probabilities do not sum to 1 for record ${index}`, [
      {
        column: `logs[${index}].policy(context)`,
        value: `sum ${sum}`,
        expected: `probabilities summing to 1 (±${tolerance})`,
      },
    ]);
  }
  const map = new Map(entries);
  return { prob: (a) => map.get(a) ?? 0, entries };
}

function validateOptions(options: OpeOptions<never, never>): {
  B: number;
  alpha: number;
  seed: number;
  tol: number;
} {
  checkKnownOptions(
    options,
    optionKeys<OpeOptions>({
      bootstrap: true,
      alpha: true,
      seed: true,
      tolerance: true,
      rewardModel: true,
      contextKey: true,
      drBeta: true,
    }),
    'off-policy estimator',
  );
  const B = options.bootstrap ?? 200;
  const alpha = options.alpha ?? 0.05;
  const seed = options.seed ?? 0;
  const tol = options.tolerance ?? 1e-3;
  if (!Number.isInteger(B) || B < 0) throw new InvalidOptionError('bootstrap', 'an integer >= 0', B);
  if (typeof alpha !== 'number' || !(alpha > 0 && alpha < 1))
    throw new InvalidOptionError('alpha', 'a number in (0, 1)', alpha);
  if (typeof seed !== 'number' || !Number.isFinite(seed))
    throw new InvalidOptionError('seed', 'a finite number', seed);
  if (typeof tol !== 'number' || !(tol > 0)) throw new InvalidOptionError('tolerance', 'a number > 0', tol);
  if (options.rewardModel !== undefined && typeof options.rewardModel !== 'function') {
    throw new InvalidOptionError(
      'rewardModel',
      'a function (context, action) => number',
      options.rewardModel,
    );
  }
  if (options.contextKey !== undefined && typeof options.contextKey !== 'function') {
    throw new InvalidOptionError('contextKey', 'a function (context) => string', options.contextKey);
  }
  return { B, alpha, seed, tol };
}

/**
 * Fits the default reward model used by the direct method and doubly robust when none is given: the mean
 * reward per (context key, action), shrunk towards the per-action mean with `prior` pseudo-observations, which
 * is itself shrunk towards the global mean. Unseen pairs get the backed-off value. The per-action mean is
 * weighted by 1 / propensity (self-normalised), because a logging policy picks an action mostly where it does
 * well; on `simulateBanditLogs` (2,000 rounds, 20 seeds) this cut the direct method's mean error for a
 * uniform policy from 10.6% to 6.0%.
 *
 * @example
 * ```ts
 * const q = fitTabularRewardModel(logs);
 * q(context, 3); // predicted expected reward
 * ```
 */
export function fitTabularRewardModel<C, A extends Action>(
  logs: readonly LogRecord<C, A>[] | ColumnarLogs<C, A>,
  options: { contextKey?: (context: C) => string; prior?: number } = {},
): OpeRewardModel<C, A> {
  const records = toRecords(logs);
  validateRecords(records); // a propensity of 0 or a NaN reward would make every prediction NaN
  checkKnownOptions(
    options,
    optionKeys<typeof options>({ contextKey: true, prior: true }),
    'fitTabularRewardModel',
  );
  const key = options.contextKey ?? (defaultContextKey as (c: C) => string);
  const prior = options.prior ?? 2;
  if (typeof prior !== 'number' || !(prior >= 0 && Number.isFinite(prior)))
    throw new InvalidOptionError('prior', 'a finite number >= 0', prior);
  let total = 0;
  const perAction = new Map<A, [number, number]>();
  const perPair = new Map<string, [number, number]>();
  for (const r of records) {
    total += r.reward;
    // Per-action means are weighted by 1 / propensity: the logging policy picks an action mostly in the
    // contexts where it does well, so a plain mean would be optimistic for the contexts where it is rare.
    const pa = perAction.get(r.action) ?? [0, 0];
    pa[0] += r.reward / r.propensity;
    pa[1] += 1 / r.propensity;
    perAction.set(r.action, pa);
    const k = `${key(r.context)}\u0000${typeof r.action}:${String(r.action)}`;
    const pp = perPair.get(k) ?? [0, 0];
    pp[0] += r.reward;
    pp[1] += 1;
    perPair.set(k, pp);
  }
  const globalMean = records.length ? total / records.length : 0;
  return (context, action) => {
    const pa = perAction.get(action) ?? [0, 0];
    const actionMean = (pa[0] + prior * globalMean) / (pa[1] + prior);
    const pp = perPair.get(`${key(context)}\u0000${typeof action}:${String(action)}`) ?? [0, 0];
    return (pp[0] + prior * actionMean) / (pp[1] + prior);
  };
}

type Kind = OpeEstimate['estimator'];

function estimate<C, A extends Action>(
  kind: Kind,
  logs: readonly LogRecord<C, A>[] | ColumnarLogs<C, A>,
  policy: TargetPolicy<C, A>,
  options: OpeOptions<C, A>,
): OpeEstimate {
  const { B, alpha, seed, tol } = validateOptions(options as OpeOptions<never, never>);
  if (typeof policy !== 'function')
    throw new InvalidOptionError('policy', 'a function context => probabilities', policy);
  const records = toRecords(logs);
  validateRecords(records);
  const n = records.length;
  const needModel = kind === 'dm' || kind === 'dr';
  const q = needModel
    ? (options.rewardModel ??
      fitTabularRewardModel(records, options.contextKey ? { contextKey: options.contextKey } : {}))
    : undefined;
  // Per-record quantities: importance weight w, reward r, model value of the policy dm, model value of the logged action qa.
  const w = new Float64Array(n);
  const r = new Float64Array(n);
  const dm = new Float64Array(n);
  const qa = new Float64Array(n);
  const state: { length?: number } = {};
  for (let i = 0; i < n; i++) {
    const rec = records[i]!;
    const row = evalPolicy(policy, rec, i, tol, state);
    w[i] = row.prob(rec.action) / rec.propensity;
    if (!Number.isFinite(w[i]!))
      throw new InvalidDataError(
        `Invalid log: the importance weight of logs[${i}] (target probability / propensity) is not finite`,
        [
          {
            column: `logs[${i}].propensity`,
            value: shown(rec.propensity),
            expected: `a propensity large enough that ${row.prob(rec.action)} / propensity is finite`,
          },
        ],
      );
    r[i] = rec.reward;
    if (q) {
      let v = 0;
      for (const [a, p] of row.entries) if (p > 0) v += p * checkModel(q(rec.context, a), i, a);
      dm[i] = v;
      qa[i] = checkModel(q(rec.context, rec.action), i, rec.action);
    }
  }
  // Importance weighting needs overlap: with every weight 0 IPS would report 0 with a zero-width interval, and
  // SNIPS would divide 0 by 0. The reward-model estimators still have an answer.
  if ((kind === 'ips' || kind === 'snips') && !w.some((x) => x > 0)) {
    throw new InvalidDataError(
      `No overlap: the target policy gives probability 0 to the logged action of all ${n} records, so ${kind === 'ips' ? 'IPS' : 'SNIPS'} has nothing to weight. Use ope.directMethod or ope.doublyRobust, which lean on a reward model, or log with a policy that explores the target's actions`,
    );
  }
  const drBeta = options.drBeta ?? 'optimal';
  if (drBeta !== 'optimal' && !Number.isFinite(drBeta)) {
    throw new InvalidOptionError('drBeta', "'optimal' or a finite number", drBeta);
  }
  // Control-variate weight for DR: c_i = w_i·q(x_i, a_i) − dm_i has mean ~0 under the logging policy.
  const betaOf = (idx: (j: number) => number): number => {
    if (drBeta !== 'optimal') return drBeta;
    let my = 0;
    let mc = 0;
    for (let j = 0; j < n; j++) {
      const i = idx(j);
      my += w[i]! * r[i]!;
      mc += w[i]! * qa[i]! - dm[i]!;
    }
    my /= n;
    mc /= n;
    let cov = 0;
    let vc = 0;
    for (let j = 0; j < n; j++) {
      const i = idx(j);
      const c = w[i]! * qa[i]! - dm[i]! - mc;
      cov += (w[i]! * r[i]! - my) * c;
      vc += c * c;
    }
    return vc > 0 ? cov / vc : 1;
  };
  const compute = (idx: (j: number) => number): number => {
    let s = 0;
    let sw = 0;
    const beta = kind === 'dr' ? betaOf(idx) : 1;
    for (let j = 0; j < n; j++) {
      const i = idx(j);
      switch (kind) {
        case 'ips':
          s += w[i]! * r[i]!;
          break;
        case 'snips':
          s += w[i]! * r[i]!;
          sw += w[i]!;
          break;
        case 'dm':
          s += dm[i]!;
          break;
        case 'dr':
          s += w[i]! * r[i]! - beta * (w[i]! * qa[i]! - dm[i]!);
          break;
      }
    }
    // SNIPS on a resample that drew only weight-0 records is 0 / 0 = NaN: it has no estimate (the full sample
    // always has one, checked above).
    if (kind === 'snips') return s / sw;
    return s / n;
  };
  const value = compute((j) => j);
  let ci: [number, number];
  let stdError: number;
  let skippedResamples = 0;
  if (B > 0) {
    const rng = createRng(seed);
    const boots: number[] = [];
    const draw = new Int32Array(n);
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < n; j++) draw[j] = rng.int(n);
      const v = compute((j) => draw[j]!);
      if (Number.isNaN(v)) skippedResamples++;
      else boots.push(v);
    }
    const kept = boots.length;
    if (kept === 0) {
      throw new InvalidDataError(
        `Too little overlap for a SNIPS bootstrap: each of the ${B} resample(s) drew only records with importance weight 0 (records with a positive weight: ${w.filter((x) => x > 0).length} of ${n}), so none has an estimate. Raise \`bootstrap\`, use \`bootstrap: 0\` for a normal-approximation interval, or log with a policy that explores the target's actions`,
      );
    }
    const mean = boots.reduce((a, v) => a + v, 0) / kept;
    stdError = Math.sqrt(boots.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, kept - 1));
    const sorted = boots.sort((a, b) => a - b);
    ci = [quantile(sorted, alpha / 2), quantile(sorted, 1 - alpha / 2)];
  } else {
    // Normal approximation from the per-record terms (SNIPS: linearised).
    const beta = kind === 'dr' ? betaOf((j) => j) : 1;
    const terms = Array.from({ length: n }, (_, i) =>
      kind === 'ips'
        ? w[i]! * r[i]!
        : kind === 'snips'
          ? w[i]! * (r[i]! - value)
          : kind === 'dm'
            ? dm[i]!
            : w[i]! * r[i]! - beta * (w[i]! * qa[i]! - dm[i]!),
    );
    const m = terms.reduce((a, v) => a + v, 0) / n;
    const sd = Math.sqrt(terms.reduce((a, v) => a + (v - m) ** 2, 0) / Math.max(1, n - 1));
    // SNIPS is the ratio mean(w·r) / mean(w); the delta method divides the linearised terms' error by mean(w).
    const meanWeight = kind === 'snips' ? w.reduce((a, v) => a + v, 0) / n : 1;
    stdError = sd / (Math.sqrt(n) * meanWeight);
    const z = normalQuantile(1 - alpha / 2);
    ci = [value - z * stdError, value + z * stdError];
  }
  return { estimate: value, ci, stdError, n, estimator: kind, skippedResamples };
}

function checkModel(v: number, index: number, action: Action): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new InvalidDataError(`The reward model returned a non-finite value for record ${index}`, [
      {
        column: `logs[${index}].rewardModel(context, ${String(action)})`,
        value: String(v),
        expected: 'a finite number',
      },
    ]);
  }
  return v;
}

function quantile(sorted: number[], p: number): number {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
      ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
    );
  }
  if (p > 1 - pl) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * Off-policy estimators of a target policy's expected reward per decision from logged bandit feedback.
 *
 * - `ips`: mean of w·r, w = π(a|x) / propensity. Unbiased, high variance.
 * - `snips`: Σ w·r / Σ w. Slightly biased, stays within the reward range.
 * - `directMethod`: mean over records of Σ_a π(a|x) q̂(x, a). Low variance, biased by q̂.
 * - `doublyRobust`: IPS with q̂ as a control variate, mean(w·r − β·(w·q̂(x, a) − Σ_a' π(a'|x) q̂(x, a'))).
 *   β = 1 is classic DR (direct method plus w·(r − q̂)); the default β is the variance-minimising one, so a
 *   weak q̂ cannot make its variance worse than IPS's in large logs (`options.drBeta`). On a finite log β
 *   is itself estimated, and DR's error can then be a little above IPS's (README: 20 simulated logs).
 *
 * q̂ is `options.rewardModel`, else {@link fitTabularRewardModel} on the same logs. The bootstrap resamples the
 * per-record terms with the reward model held fixed; SNIPS resamples that draw only weight-0 records have no
 * estimate and are left out (counted in `skippedResamples`).
 *
 * @example
 * ```ts
 * const sim = simulateBanditLogs({ n: 5000, seed: 3 });
 * const uniform = () => Array(sim.actions).fill(1 / sim.actions);
 * for (const est of [ope.ips, ope.snips, ope.directMethod, ope.doublyRobust]) {
 *   const { estimate, ci } = est(sim.logs, uniform, { seed: 1 });
 *   console.log(estimate, ci);
 * }
 * ```
 */
export const ope = {
  /** Inverse propensity scoring. */
  ips<C, A extends Action>(
    logs: readonly LogRecord<C, A>[] | ColumnarLogs<C, A>,
    policy: TargetPolicy<C, A>,
    options: OpeOptions<C, A> = {},
  ): OpeEstimate {
    return estimate('ips', logs, policy, options);
  },
  /** Self-normalised inverse propensity scoring. */
  snips<C, A extends Action>(
    logs: readonly LogRecord<C, A>[] | ColumnarLogs<C, A>,
    policy: TargetPolicy<C, A>,
    options: OpeOptions<C, A> = {},
  ): OpeEstimate {
    return estimate('snips', logs, policy, options);
  },
  /** Direct method: the reward model's value of the target policy. */
  directMethod<C, A extends Action>(
    logs: readonly LogRecord<C, A>[] | ColumnarLogs<C, A>,
    policy: TargetPolicy<C, A>,
    options: OpeOptions<C, A> = {},
  ): OpeEstimate {
    return estimate('dm', logs, policy, options);
  },
  /** Doubly robust: IPS with the reward model as a control variate (variance-minimising weight by default; `drBeta: 1` = classic DR). */
  doublyRobust<C, A extends Action>(
    logs: readonly LogRecord<C, A>[] | ColumnarLogs<C, A>,
    policy: TargetPolicy<C, A>,
    options: OpeOptions<C, A> = {},
  ): OpeEstimate {
    return estimate('dr', logs, policy, options);
  },
};
