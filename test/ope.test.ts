// Tests of the off-policy estimators against a simulated logged bandit with known propensities and true values.
import { describe, expect, it } from 'vitest';
import { InvalidDataError, InvalidOptionError } from '../src/errors.js';
import { type BanditContext, simulateBanditLogs } from '../src/rewards/bandit-sim.js';
import { fitTabularRewardModel, type LogRecord, ope } from '../src/rewards/ope.js';
import { createRng } from '../src/util/random.js';

const mean = (sim: ReturnType<typeof simulateBanditLogs>, c: (typeof sim.contexts)[number]) => {
  let v = 0;
  for (let a = 0; a < sim.actions; a++) v += sim.expectedReward(c, a) / sim.actions;
  return v;
};

const estimators = [ope.ips, ope.snips, ope.directMethod, ope.doublyRobust];

describe('off-policy estimators on simulated logs', () => {
  it('every estimator lands within 10% of the true value of a uniform policy', () => {
    const sim = simulateBanditLogs({ n: 5000, actions: 6, contexts: 10, seed: 11 });
    const uniform = () => new Array(sim.actions).fill(1 / sim.actions);
    const truth = sim.trueValue(uniform);
    for (const est of estimators) {
      const r = est(sim.logs, uniform, { seed: 1, bootstrap: 50 });
      expect(Math.abs(r.estimate - truth) / truth).toBeLessThan(0.1);
      expect(r.ci[0]).toBeLessThanOrEqual(r.estimate);
      expect(r.ci[1]).toBeGreaterThanOrEqual(r.estimate);
      expect(r.n).toBe(5000);
      expect(r.stdError).toBeGreaterThan(0);
    }
  });

  it('SNIPS stays inside the reward range even for a policy far from the logging policy', () => {
    let checked = 0;
    for (let seed = 0; seed < 5; seed++) {
      const sim = simulateBanditLogs({ n: 2000, actions: 8, seed, temperature: 0.1 });
      // Greedy on the action the logging policy likes least: huge importance weights.
      const target = (c: { id: number }) => {
        const p = sim.loggingPolicy(sim.contexts[c.id]!);
        const worst = p.indexOf(Math.min(...p));
        return p.map((_, a) => (a === worst ? 1 : 0));
      };
      // When no logged action is the target's, there is nothing to weight: an error, not a certain 0.
      const overlap = sim.logs.some((l) => target(l.context as { id: number })[l.action] === 1);
      if (!overlap) {
        expect(() => ope.snips(sim.logs, target, { bootstrap: 20 })).toThrow(/No overlap/);
        continue;
      }
      checked++;
      const r = ope.snips(sim.logs, target, { bootstrap: 20 });
      expect(r.estimate).toBeGreaterThanOrEqual(0);
      expect(r.estimate).toBeLessThanOrEqual(1);
      expect(r.ci[0]).toBeGreaterThanOrEqual(0);
      expect(r.ci[1]).toBeLessThanOrEqual(1);
    }
    expect(checked).toBeGreaterThanOrEqual(3);
  });

  it("across 20 seeds DR's mean absolute error is at most IPS's, given an imperfect reward model", () => {
    // The reward model is the truth plus a fixed error of sd 0.1 per (context, action), as a model fitted on
    // other data would be. (The default in-sample tabular model is not enough for DR to beat IPS here.)
    let ipsErr = 0;
    let drErr = 0;
    for (let seed = 0; seed < 20; seed++) {
      const sim = simulateBanditLogs({ n: 2000, temperature: 0.1, seed });
      const uniform = () => new Array(sim.actions).fill(1 / sim.actions);
      const truth = sim.trueValue(uniform);
      const rng = createRng(seed);
      const error = sim.contexts.map(() => Array.from({ length: sim.actions }, () => 0.1 * rng.normal()));
      const rewardModel = (c: BanditContext, a: number) => sim.expectedReward(c, a) + error[c.id]![a]!;
      ipsErr += Math.abs(ope.ips(sim.logs, uniform, { bootstrap: 0 }).estimate - truth);
      drErr += Math.abs(ope.doublyRobust(sim.logs, uniform, { bootstrap: 0, rewardModel }).estimate - truth);
    }
    expect(drErr / 20).toBeLessThanOrEqual(ipsErr / 20);
  });

  it("across 20 seeds DR's error is at most IPS's with the default fitted reward model (optimal beta)", () => {
    let ipsErr = 0;
    let drErr = 0;
    let classicErr = 0;
    for (let seed = 0; seed < 20; seed++) {
      const sim = simulateBanditLogs({ n: 2000, seed });
      const uniform = () => new Array(sim.actions).fill(1 / sim.actions);
      const truth = sim.trueValue(uniform);
      ipsErr += Math.abs(ope.ips(sim.logs, uniform, { bootstrap: 0 }).estimate - truth);
      drErr += Math.abs(ope.doublyRobust(sim.logs, uniform, { bootstrap: 0 }).estimate - truth);
      classicErr += Math.abs(
        ope.doublyRobust(sim.logs, uniform, { bootstrap: 0, drBeta: 1 }).estimate - truth,
      );
    }
    expect(drErr).toBeLessThanOrEqual(ipsErr);
    expect(classicErr).not.toBe(drErr); // drBeta: 1 is the classic estimator, a different number
  });

  it('is deterministic per seed and uses a given reward model', () => {
    const sim = simulateBanditLogs({ n: 500, seed: 4 });
    const uniform = () => new Array(sim.actions).fill(1 / sim.actions);
    const a = ope.doublyRobust(sim.logs, uniform, { seed: 9 });
    const b = ope.doublyRobust(sim.logs, uniform, { seed: 9 });
    expect(a).toEqual(b);
    const dm = ope.directMethod(sim.logs, uniform, { rewardModel: sim.expectedReward, bootstrap: 10 });
    // The direct method averages over the logged contexts.
    const empirical = sim.logs.reduce((s, r) => s + mean(sim, r.context), 0) / sim.logs.length;
    expect(dm.estimate).toBeCloseTo(empirical, 10);
  });

  it('accepts columnar logs and string actions with Map policies', () => {
    const logs = {
      contexts: ['x', 'y', 'x', 'y'],
      actions: ['a', 'b', 'b', 'a'],
      rewards: [1, 0, 1, 1],
      propensities: [0.5, 0.5, 0.5, 0.5],
    };
    const target = () =>
      new Map([
        ['a', 1],
        ['b', 0],
      ]);
    const r = ope.ips(logs, target, { bootstrap: 10 });
    expect(r.estimate).toBeCloseTo((2 * 1 + 2 * 1) / 4);
    expect(ope.snips(logs, target).estimate).toBeCloseTo(1);
  });
});

describe('SNIPS uncertainty', () => {
  // 4000 records over 10 contexts: action 0 logged w.p. 0.9, action 1 w.p. 0.1. The target puts 0.5 on
  // action 0 and 0.5 on action 2, which is never logged, so the mean importance weight is about 0.5.
  const rng = createRng(1);
  const logs: LogRecord<number, number>[] = Array.from({ length: 4000 }, (_, i) => {
    const action = rng.next() < 0.9 ? 0 : 1;
    const reward = rng.next() < (action === 0 ? 0.3 : 0.8) ? 1 : 0;
    return { context: i % 10, action, reward, propensity: action === 0 ? 0.9 : 0.1 };
  });
  const halfUnlogged = () => [0.5, 0, 0.5];

  it('with bootstrap: 0, the delta-method standard error agrees with the bootstrap when mean(w) is far from 1', () => {
    const meanWeight = logs.reduce((a, l) => a + halfUnlogged()[l.action]! / l.propensity, 0) / logs.length;
    expect(meanWeight).toBeGreaterThan(0.45);
    expect(meanWeight).toBeLessThan(0.55);
    const normal = ope.snips(logs, halfUnlogged, { bootstrap: 0 });
    const boot = ope.snips(logs, halfUnlogged, { bootstrap: 2000, seed: 3 });
    expect(normal.estimate).toBe(boot.estimate);
    // Without the 1 / mean(w) factor the normal-approximation error would be about half the bootstrap's.
    expect(Math.abs(normal.stdError / boot.stdError - 1)).toBeLessThan(0.25);
    expect(normal.skippedResamples).toBe(0);
  });

  it('with bootstrap: 0, the standard error is sd(w·(r − V)) / (√n · mean(w)) (hand-computed)', () => {
    // Target always plays action 0 w.p. 0.1: weights 0.1 / propensity = 0.2, 0.2, 0.5, 1.
    const small: LogRecord<number, number>[] = [
      { context: 0, action: 0, reward: 1, propensity: 0.5 },
      { context: 1, action: 0, reward: 0, propensity: 0.5 },
      { context: 2, action: 0, reward: 1, propensity: 0.2 },
      { context: 3, action: 0, reward: 0, propensity: 0.1 },
    ];
    const r = ope.snips(small, () => [0.1, 0.9], { bootstrap: 0 });
    // V = (0.2 + 0.5) / 1.9 = 7/19; w·(r − V) = 2.4/19, −1.4/19, 6/19, −7/19 (mean 0); mean(w) = 0.475.
    expect(r.estimate).toBeCloseTo(7 / 19, 12);
    const sd = Math.sqrt((2.4 ** 2 + 1.4 ** 2 + 6 ** 2 + 7 ** 2) / 19 ** 2 / 3);
    const se = sd / (Math.sqrt(4) * 0.475);
    expect(r.stdError).toBeCloseTo(se, 12);
    expect(r.ci[0]).toBeCloseTo(7 / 19 - 1.959963985 * se, 8);
    expect(r.ci[1]).toBeCloseTo(7 / 19 + 1.959963985 * se, 8);
  });

  it('leaves bootstrap resamples with no positive weight out of the interval, and counts them', () => {
    // Reward is always 1, so every resample that has an estimate says 1. Only 2 of 10 records overlap the
    // target: about 0.8^10 ≈ 11% of resamples draw neither, and used to count as an estimate of 0.
    const few = Array.from({ length: 10 }, (_, i) => ({
      context: i,
      action: i < 2 ? 0 : 1,
      reward: 1,
      propensity: 0.5,
    }));
    const r = ope.snips(few, () => [1, 0], { bootstrap: 1000, seed: 1 });
    expect(r.estimate).toBe(1);
    expect(r.ci).toEqual([1, 1]);
    expect(r.stdError).toBe(0);
    expect(r.skippedResamples).toBeGreaterThan(50);
    expect(r.skippedResamples).toBeLessThan(200);
    // IPS has an estimate on every resample.
    expect(ope.ips(few, () => [1, 0], { bootstrap: 1000, seed: 1 }).skippedResamples).toBe(0);
  });

  it('throws a clear error when every bootstrap resample has no positive weight', () => {
    // 1 of 20 records overlaps the target; with seed 4 the single resample misses it.
    const one = Array.from({ length: 20 }, (_, i) => ({
      context: i,
      action: i === 0 ? 0 : 1,
      reward: 1,
      propensity: 0.5,
    }));
    const never = () => ope.snips(one, () => [1, 0], { bootstrap: 1, seed: 4 });
    expect(never).toThrow(InvalidDataError);
    expect(never).toThrow(
      /each of the 1 resample\(s\) drew only records with importance weight 0.*`bootstrap: 0`/,
    );
    // The normal approximation still answers.
    expect(ope.snips(one, () => [1, 0], { bootstrap: 0 }).estimate).toBe(1);
  });
});

describe('invalid input', () => {
  const uniform = () => [0.5, 0.5];
  const good: LogRecord<number, number>[] = [
    { context: 0, action: 0, reward: 1, propensity: 0.5 },
    { context: 1, action: 1, reward: 0, propensity: 0.5 },
  ];
  const withRecord = (i: number, patch: Partial<LogRecord<number, number>>) =>
    good.map((r, j) => (j === i ? { ...r, ...patch } : r));

  it('rejects bad propensities naming the field and record index', () => {
    for (const p of [0, 1.5, Number.NaN, -0.1]) {
      expect(() => ope.ips(withRecord(1, { propensity: p }), uniform)).toThrow(InvalidDataError);
      expect(() => ope.ips(withRecord(1, { propensity: p }), uniform)).toThrow(/logs\[1\]\.propensity/);
    }
  });

  it('rejects an empty log, mismatched columns and non-finite rewards', () => {
    expect(() => ope.snips([], uniform)).toThrow(/empty/);
    expect(() =>
      ope.ips({ contexts: [0, 1], actions: [0, 1], rewards: [1], propensities: [0.5, 0.5] }, uniform),
    ).toThrow(/logs\.rewards/);
    expect(() => ope.ips(withRecord(0, { reward: Number.POSITIVE_INFINITY }), uniform)).toThrow(
      /logs\[0\]\.reward/,
    );
  });

  it('rejects policies that do not sum to 1 or have the wrong length', () => {
    expect(() => ope.ips(good, () => [0.5, 0.2])).toThrow(/sum to 1 for record 0/);
    let calls = 0;
    const shrinking = () => (calls++ === 0 ? [0.5, 0.5] : [1]);
    expect(() => ope.ips(good, shrinking)).toThrow(/wrong length for record 1/);
    expect(() => ope.ips(good, () => [-0.5, 1.5])).toThrow(InvalidDataError);
    expect(() => ope.ips(withRecord(1, { action: 3 }), uniform)).toThrow(/logs\[1\]\.action/);
  });

  it('says so when the target policy never takes a logged action (no overlap), instead of a certain 0', () => {
    // Logged actions 0 and 1; the target always plays action 2.
    const never = () => [0, 0, 1];
    expect(() => ope.ips(good, never)).toThrow(/No overlap/);
    expect(() => ope.snips(good, never)).toThrow(/No overlap/);
    // The reward-model estimators still answer.
    expect(Number.isFinite(ope.directMethod(good, never).estimate)).toBe(true);
    expect(Number.isFinite(ope.doublyRobust(good, never).estimate)).toBe(true);
  });

  it('rejects an importance weight that overflows, and says a string propensity is a string', () => {
    for (const est of [ope.ips, ope.snips, ope.doublyRobust])
      expect(() => est(withRecord(0, { propensity: 1e-309 }), uniform)).toThrow(
        /importance weight of logs\[0\].*not finite/,
      );
    expect(() => ope.ips(withRecord(1, { propensity: '0.5' as never }), uniform)).toThrow(
      /"0.5 \(a string\)"/,
    );
  });

  it('fitTabularRewardModel rejects the logs and priors the estimators reject', () => {
    expect(() => fitTabularRewardModel(withRecord(0, { propensity: 0 }))).toThrow(/logs\[0\]\.propensity/);
    expect(() => fitTabularRewardModel(withRecord(1, { reward: Number.NaN }))).toThrow(/logs\[1\]\.reward/);
    expect(() => fitTabularRewardModel(good, { prior: Number.POSITIVE_INFINITY })).toThrow(/`prior`/);
    expect(Number.isFinite(fitTabularRewardModel(good)(0, 0))).toBe(true);
  });

  it('simulateBanditLogs rejects a seed that is not an integer', () => {
    for (const seed of [Number.NaN, Number.POSITIVE_INFINITY, 'x', 1.5])
      expect(() => simulateBanditLogs({ seed: seed as never })).toThrow(/`seed`/);
  });

  it('rejects bad options', () => {
    expect(() => ope.ips(good, uniform, { bootstrap: -1 })).toThrow(InvalidOptionError);
    expect(() => ope.ips(good, uniform, { alpha: 1 })).toThrow(/`alpha`/);
    expect(() => ope.directMethod(good, uniform, { rewardModel: () => Number.NaN })).toThrow(/rewardModel/);
  });
});
