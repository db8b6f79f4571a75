// A logged contextual-bandit simulator with known propensities and a known true policy value, for testing OPE.
import { checkKnownOptions, InvalidOptionError, optionKeys } from '../errors.js';
import { createRng } from '../util/random.js';
import type { LogRecord, TargetPolicy } from './ope.js';

/** Options of {@link simulateBanditLogs}. */
export interface BanditSimOptions {
  /** Logged rounds. Default 2000. */
  n?: number;
  /** Number of actions (indices 0..actions-1). Default 6. */
  actions?: number;
  /** Number of distinct contexts (drawn uniformly each round). Default 10. */
  contexts?: number;
  /** Softmax temperature of the logging policy over its noisy reward estimate. Default 0.2. */
  temperature?: number;
  /** Std of the noise added to the true expected reward in the logging policy's estimate. Default 0.1. */
  noise?: number;
  /**
   * `'binary'`: Bernoulli rewards with the hidden mean (default). `'continuous'`: the hidden mean plus Gaussian
   * noise of std `rewardNoise` — the low-noise regime where a good reward model (DM, DR) pays off most.
   */
  rewardType?: 'binary' | 'continuous';
  /** Std of the reward noise for `rewardType: 'continuous'`. Default 0.1. */
  rewardNoise?: number;
  /** Seed of the world (true rewards) and the logs. Default 0. */
  seed?: number;
}

/** The context of a simulated round: a context id and its one-hot-free feature vector. */
export interface BanditContext {
  id: number;
  features: number[];
}

/** What {@link simulateBanditLogs} returns. */
export interface BanditSim {
  /** Logged records with the logging policy's propensity of the logged action. */
  logs: LogRecord<BanditContext, number>[];
  /** The logging policy (probability per action for a context). */
  loggingPolicy: (context: BanditContext) => number[];
  /** True expected reward of an action in a context (in [0, 1]). */
  expectedReward: (context: BanditContext, action: number) => number;
  /** Exact value of a target policy under the simulator's context distribution. */
  trueValue: (policy: TargetPolicy<BanditContext, number>) => number;
  /** All contexts (uniformly likely). */
  contexts: BanditContext[];
  actions: number;
}

/**
 * Simulates a logged contextual bandit: `contexts` contexts with hidden Bernoulli reward means per action, and a
 * logging policy that is a softmax over a noisy estimate of those means. Returns the logs with exact propensities
 * and a `trueValue(policy)` oracle, so estimators can be checked against the truth.
 *
 * @example
 * ```ts
 * const sim = simulateBanditLogs({ n: 5000, actions: 6, seed: 1 });
 * const uniform = () => Array(6).fill(1 / 6);
 * const est = ope.doublyRobust(sim.logs, uniform);
 * console.log(est.estimate, sim.trueValue(uniform));
 * ```
 */
export function simulateBanditLogs(options: BanditSimOptions = {}): BanditSim {
  checkKnownOptions(
    options,
    optionKeys<typeof options>({
      n: true,
      actions: true,
      contexts: true,
      temperature: true,
      noise: true,
      rewardType: true,
      rewardNoise: true,
      seed: true,
    }),
    'simulateBanditLogs',
  );
  const n = options.n ?? 2000;
  const A = options.actions ?? 6;
  const C = options.contexts ?? 10;
  const temperature = options.temperature ?? 0.2;
  const noise = options.noise ?? 0.1;
  const seed = options.seed ?? 0;
  const rewardType = options.rewardType ?? 'binary';
  const rewardNoise = options.rewardNoise ?? 0.1;
  if (rewardType !== 'binary' && rewardType !== 'continuous') {
    throw new InvalidOptionError('rewardType', "'binary' or 'continuous'", rewardType);
  }
  if (!(rewardNoise >= 0) || !Number.isFinite(rewardNoise)) {
    throw new InvalidOptionError('rewardNoise', 'a finite number >= 0', rewardNoise);
  }
  if (!Number.isInteger(n) || n < 1) throw new InvalidOptionError('n', 'an integer >= 1', n);
  if (!Number.isInteger(A) || A < 2) throw new InvalidOptionError('actions', 'an integer >= 2', A);
  if (!Number.isInteger(C) || C < 1) throw new InvalidOptionError('contexts', 'an integer >= 1', C);
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new InvalidOptionError('temperature', 'a finite number > 0', temperature);
  }
  if (!(noise >= 0) || !Number.isFinite(noise))
    throw new InvalidOptionError('noise', 'a finite number >= 0', noise);
  if (!Number.isInteger(seed)) throw new InvalidOptionError('seed', 'an integer', seed);
  const rng = createRng(seed);
  const dim = 4;
  const actionVecs = Array.from({ length: A }, () => Array.from({ length: dim }, () => rng.normal()));
  const contexts: BanditContext[] = Array.from({ length: C }, (_, id) => ({
    id,
    features: Array.from({ length: dim }, () => rng.normal()),
  }));
  const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
  // Hidden expected reward: sigmoid of a context-action affinity.
  const means = contexts.map((c) =>
    actionVecs.map((v) => sigmoid(0.6 * v.reduce((s, vi, j) => s + vi * c.features[j]!, 0))),
  );
  const logging = contexts.map((_, ci) => {
    const est = means[ci]!.map((m) => m + noise * rng.normal());
    const mx = Math.max(...est);
    const ex = est.map((e) => Math.exp((e - mx) / temperature));
    const z = ex.reduce((a, b) => a + b, 0);
    return ex.map((e) => e / z);
  });
  const logs: LogRecord<BanditContext, number>[] = [];
  for (let i = 0; i < n; i++) {
    const ci = rng.int(C);
    const probs = logging[ci]!;
    const action = rng.weighted(probs);
    const mean = means[ci]![action]!;
    const reward = rewardType === 'binary' ? (rng.next() < mean ? 1 : 0) : mean + rewardNoise * rng.normal();
    logs.push({ context: contexts[ci]!, action, reward, propensity: probs[action]! });
  }
  const expectedReward = (context: BanditContext, action: number) => means[context.id]![action]!;
  return {
    logs,
    loggingPolicy: (context) => logging[context.id]!.slice(),
    expectedReward,
    trueValue: (policy) => {
      let v = 0;
      for (const c of contexts) {
        const p = policy(c);
        const probs: ArrayLike<number> =
          p instanceof Map ? Array.from({ length: A }, (_, a) => p.get(a) ?? 0) : (p as ArrayLike<number>);
        for (let a = 0; a < A; a++) v += (probs[a] ?? 0) * expectedReward(c, a);
      }
      return v / C;
    },
    contexts,
    actions: A,
  };
}
