import path from 'node:path';
import { initBackend } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { formatTable } from '../src/eval/table.js';
import { ItemKNN } from '../src/models/baselines.js';
import type { Recommendation } from '../src/models/recommender.js';
import { simulateBanditLogs } from '../src/rewards/bandit-sim.js';
import { rewards } from '../src/rewards/hooks.js';
import { ope } from '../src/rewards/ope.js';
import { type RerankOptions, rerank, scorers } from '../src/rewards/rerank.js';
import { RewardModel } from '../src/rewards/reward-model.js';
import { beliefErrorByDay } from '../src/sim/progressive-belief.js';
import { createSimWorld, ListenerSimulator, type SimResult } from '../src/sim/simulator.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { createRng } from '../src/util/random.js';
import { createMarkdownLog } from './markdown-log.js';

const md = createMarkdownLog();

const FAST = process.env.ENCORE_FAST === '1';
const SEEDS = FAST ? [1, 2] : [1, 2, 3, 4, 5];
const LISTENERS = FAST ? 60 : 200;
const DAYS = 60;
const EPOCHS = FAST ? 2 : 4;

/** Mean and 95% confidence interval (t distribution) over seeds. */
function ci95(xs: number[]): { mean: number; lo: number; hi: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: mean, hi: mean };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const t = [0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262][n - 1] ?? 1.96;
  const h = (t * sd) / Math.sqrt(n);
  return { mean, lo: mean - h, hi: mean + h };
}

const fmt = (c: { mean: number; lo: number; hi: number }, digits = 3) =>
  `${c.mean.toFixed(digits)} [${c.lo.toFixed(digits)}, ${c.hi.toFixed(digits)}]`;

async function main(): Promise<void> {
  const backend = await initBackend();
  const t0 = Date.now();
  type Run = { seed: number; engagement: SimResult; satisfaction: SimResult };
  const runs: Run[] = [];
  for (const seed of SEEDS) {
    // A fresh world per seed: catalogue, hidden tastes, 14 days of organic listening to train on.
    const world = createSimWorld({ listeners: LISTENERS, seed });
    const train = Dataset.fromListens(world.listens);
    const base = await ItemKNN.fit(train);
    // Engagement-only: predicted completion (what is easy to measure right away).
    const completion = await RewardModel.fit(train, { target: 'completion', epochs: EPOCHS, seed });
    // Satisfaction-aware: a reward that also values saves and penalises skips, plus diversity re-ranking.
    const satisfactionHook = rewards.combine([
      [rewards.completion(), 0.3],
      [rewards.saveBonus(), 1],
      [rewards.skipPenalty(), 0.3],
    ]);
    const satisfaction = await RewardModel.fit(train, { target: satisfactionHook, epochs: EPOCHS, seed });
    const diversity = scorers.diversity({ tracks: world.tracks });
    // Both policies re-rank the same candidates; only the objectives differ.
    const reranked = (objectives: RerankOptions['objectives']) => ({
      model: base,
      rerank: (recs: Recommendation[], ctx: { history: string[] }) =>
        rerank(recs, { history: ctx.history, k: 10, objectives }),
    });
    const engagementPolicy = reranked([
      [scorers.relevance(), 0.5],
      [scorers.reward(completion), 1],
    ]);
    const satisfactionPolicy = reranked([
      [scorers.relevance(), 0.5],
      [scorers.reward(satisfaction), 1],
      [diversity, 0.5],
    ]);
    const sim = new ListenerSimulator(world);
    // Same behaviour seed for both policies: common random numbers.
    const e = await sim.simulate({ policy: engagementPolicy, days: DAYS, seed: 1000 + seed });
    const s = await sim.simulate({ policy: satisfactionPolicy, days: DAYS, seed: 1000 + seed });
    runs.push({ seed, engagement: e, satisfaction: s });
    completion.dispose();
    satisfaction.dispose();
    base.dispose();
    process.stderr.write(`seed ${seed} done (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }

  const metric = (k: 'engagement' | 'satisfaction', f: (r: SimResult) => number) =>
    ci95(runs.map((r) => f(r[k])));
  const figures = {
    day1CompletionRate: (r: SimResult) => r.day1CompletionRate,
    meanActiveDays: (r: SimResult) => r.meanActiveDays,
    retention: (r: SimResult) => r.retention,
    skipRate: (r: SimResult) => r.skipRate,
    sessionLength: (r: SimResult) => r.sessionLength,
    diversity: (r: SimResult) => r.diversity,
  };
  const summary: Record<string, Record<string, { mean: number; lo: number; hi: number }>> = {};
  for (const policy of ['engagement', 'satisfaction'] as const) {
    summary[policy] = Object.fromEntries(
      Object.entries(figures).map(([name, f]) => [name, metric(policy, f)]),
    );
  }
  const delta = (f: (r: SimResult) => number) => ci95(runs.map((r) => f(r.satisfaction) - f(r.engagement)));
  const deltas = Object.fromEntries(Object.entries(figures).map(([name, f]) => [name, delta(f)]));

  md.log(
    `\n# Long-term satisfaction: ${SEEDS.length} seeds x ${LISTENERS} listeners x ${DAYS} days (backend ${backend.name})`,
  );
  md.log('Mean [95% CI over seeds]. Engagement-only = ItemKNN candidates re-ranked by predicted completion;');
  md.log('satisfaction-aware = re-ranked by a reward model of completion + saves - skips, plus diversity.\n');
  md.log(
    formatTable(
      [
        { key: 'policy' },
        { key: 'd1', header: 'day-1 completion' },
        { key: 'active', header: `active days (of ${DAYS})` },
        { key: 'retention', header: 'retention (daily active, final week)' },
        { key: 'skip', header: 'skip rate' },
        { key: 'diversity', header: 'diversity' },
      ],
      (['engagement', 'satisfaction'] as const).map((p) => ({
        policy: p === 'engagement' ? 'engagement-only' : 'satisfaction-aware',
        d1: fmt(summary[p]!.day1CompletionRate!),
        active: fmt(summary[p]!.meanActiveDays!, 2),
        retention: fmt(summary[p]!.retention!),
        skip: fmt(summary[p]!.skipRate!),
        diversity: fmt(summary[p]!.diversity!),
      })),
    ),
  );
  const winsLong = deltas.meanActiveDays!.mean > 0 && deltas.retention!.mean > 0;
  md.log(
    `\nSatisfaction-aware vs engagement-only: ${deltas.meanActiveDays!.mean >= 0 ? '+' : ''}${fmt(deltas.meanActiveDays!, 2)} active days, ` +
      `${deltas.retention!.mean >= 0 ? '+' : ''}${fmt(deltas.retention!)} retention; ` +
      `short-term cost: ${fmt(deltas.day1CompletionRate!)} day-1 completion rate.`,
  );
  md.log(
    winsLong
      ? 'Long-term figures: satisfaction-aware wins.'
      : 'WARNING: satisfaction-aware did not win on long-term figures.',
  );

  // Progressive belief: predict 60-day active days from the first d days (train on half the listeners' traces).
  const traces = runs.flatMap((r) =>
    [...r.engagement.perListener, ...r.satisfaction.perListener].map((p) => p.trace),
  );
  const half = Math.floor(traces.length / 2);
  const belief = beliefErrorByDay(
    traces.filter((_, i) => i % 2 === 0),
    traces.filter((_, i) => i % 2 === 1),
    { days: DAYS },
  );
  const shown = [0, 1, 3, 7, 14, 21, 30, 45, 60];
  md.log(
    `\n# Early prediction of active days (progressiveBelief), ${half} train / ${traces.length - half} test traces\n`,
  );
  md.log(
    formatTable(
      [
        { key: 'day', header: 'days observed' },
        { key: 'mae', header: 'MAE (days)', digits: 2 },
        { key: 'rmse', header: 'RMSE (days)', digits: 2 },
      ],
      belief.filter((r) => shown.includes(r.day)) as unknown as Record<string, unknown>[],
    ),
  );

  // OPE accuracy check on a simulated logged bandit (uniform target policy, 20 seeds).
  const opeRows: Record<string, unknown>[] = [];
  const errs: Record<string, number[]> = { ips: [], snips: [], dm: [], dr: [], 'dr (model err sd 0.1)': [] };
  const covered: Record<string, number> = { ips: 0, snips: 0, dm: 0, dr: 0, 'dr (model err sd 0.1)': 0 };
  const opeSeeds = FAST ? 5 : 20;
  for (let s = 0; s < opeSeeds; s++) {
    const sim = simulateBanditLogs({ n: 2000, actions: 6, seed: 500 + s });
    const uniform = () => new Array(sim.actions).fill(1 / sim.actions);
    const truth = sim.trueValue(uniform);
    for (const est of [ope.ips, ope.snips, ope.directMethod, ope.doublyRobust]) {
      const r = est(sim.logs, uniform, { seed: s, bootstrap: 100 });
      errs[r.estimator]!.push(Math.abs(r.estimate - truth) / truth);
      if (r.ci[0] <= truth && truth <= r.ci[1]) covered[r.estimator]!++;
    }
    // DR with an external, imperfect reward model (truth + fixed error of sd 0.1), as if fitted on other data.
    const noise = createRng(s);
    const error = sim.contexts.map(() => Array.from({ length: sim.actions }, () => 0.1 * noise.normal()));
    const r = ope.doublyRobust(sim.logs, uniform, {
      seed: s,
      bootstrap: 100,
      rewardModel: (c, a) => sim.expectedReward(c, a) + error[c.id]![a]!,
    });
    errs['dr (model err sd 0.1)']!.push(Math.abs(r.estimate - truth) / truth);
    if (r.ci[0] <= truth && truth <= r.ci[1]) covered['dr (model err sd 0.1)']!++;
  }
  for (const k of Object.keys(errs)) {
    const e = errs[k]!;
    opeRows.push({
      estimator: k,
      meanRelErr: e.reduce((a, b) => a + b, 0) / e.length,
      maxRelErr: Math.max(...e),
      ciCoverage: covered[k]! / opeSeeds,
    });
  }
  md.log(`\n# Off-policy evaluation check: uniform target policy, ${opeSeeds} simulated logs of 2000 rounds`);
  md.log(
    'dm and dr use the default in-sample tabular reward model; the last row gives DR an external one.\n',
  );
  md.log(
    formatTable(
      [
        { key: 'estimator' },
        { key: 'meanRelErr', header: 'mean |rel. error|' },
        { key: 'maxRelErr', header: 'max |rel. error|' },
        { key: 'ciCoverage', header: '95% CI coverage', digits: 2 },
      ],
      opeRows,
    ),
  );

  const out = {
    bench: 'long-term',
    fast: FAST,
    backend: backend.name,
    seeds: SEEDS,
    listeners: LISTENERS,
    days: DAYS,
    summary,
    deltaSatisfactionMinusEngagement: deltas,
    satisfactionWinsLongTerm: winsLong,
    perSeed: runs.map((r) => ({
      seed: r.seed,
      engagement: { ...pick(r.engagement) },
      satisfaction: { ...pick(r.satisfaction) },
    })),
    beliefErrorByDay: belief,
    ope: opeRows,
    seconds: (Date.now() - t0) / 1000,
  };
  await writeFileAtomic(
    path.join('bench', 'results', FAST ? 'long-term.fast.json' : 'long-term.json'),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  console.log(`\nWrote bench/results/long-term${FAST ? '.fast' : ''}.json (${out.seconds.toFixed(1)} s)`);
  if (!FAST) {
    console.log(
      `wrote ${await md.write('long-term', 'Measured by `npx tsx bench/long-term.ts` (part of `npm run bench`): two policies over 60 days in the `ListenerSimulator`, several seeds, 95% confidence intervals over seeds.')}`,
    );
  }
}

function pick(r: SimResult) {
  return {
    day1CompletionRate: r.day1CompletionRate,
    meanActiveDays: r.meanActiveDays,
    retention: r.retention,
    skipRate: r.skipRate,
    sessionLength: r.sessionLength,
    diversity: r.diversity,
    dailyActive: r.daily.map((d) => d.active),
  };
}

await main();
