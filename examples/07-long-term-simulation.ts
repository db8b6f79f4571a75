// Example 07: simulate 60 days of listeners and compare an engagement-only policy with a satisfaction-aware one.
//
// Run: npx tsx examples/07-long-term-simulation.ts   (ENCORE_FAST=1 for a quicker run)
import {
  beliefErrorByDay,
  createBelief,
  createSimWorld,
  Dataset,
  formatTable,
  ItemKNN,
  initBackend,
  ListenerSimulator,
  type Recommendation,
  RewardModel,
  rerank,
  rewards,
  scorers,
} from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';
await initBackend();

// %% 1. A world: catalogue with hidden appeal/value, listeners with hidden tastes, 14 days of organic listening.
const world = createSimWorld({ listeners: FAST ? 50 : 200, seed: 3 });
const train = Dataset.fromListens(world.listens);
const base = await ItemKNN.fit(train);

// %% 2. Two reward models: immediate completion, and a satisfaction reward (completion + saves - skips).
const epochs = FAST ? 1 : 4;
const completion = await RewardModel.fit(train, { target: 'completion', epochs, seed: 1 });
const satisfaction = await RewardModel.fit(train, {
  target: rewards.combine([
    [rewards.completion(), 0.3],
    [rewards.saveBonus(), 1],
    [rewards.skipPenalty(), 0.3],
  ]),
  epochs,
  seed: 1,
});

// %% 3. Policies = the same candidates, re-ranked differently.
const policy = (objectives: Parameters<typeof rerank>[1]['objectives']) => ({
  model: base,
  rerank: (recs: Recommendation[], ctx: { history: string[] }) =>
    rerank(recs, { history: ctx.history, k: 10, objectives }),
});
const engagement = policy([
  [scorers.relevance(), 0.5],
  [scorers.reward(completion), 1],
]);
const satisfying = policy([
  [scorers.relevance(), 0.5],
  [scorers.reward(satisfaction), 1],
  [scorers.diversity({ tracks: world.tracks }), 0.5],
]);

// %% 4. Simulate 60 days with the same listener randomness for both.
const sim = new ListenerSimulator(world);
const days = FAST ? 30 : 60;
const results = {
  'engagement-only': await sim.simulate({ policy: engagement, days, seed: 11 }),
  'satisfaction-aware': await sim.simulate({ policy: satisfying, days, seed: 11 }),
};
console.log(
  formatTable(
    [
      { key: 'policy' },
      { key: 'day1CompletionRate', header: 'day-1 completion', digits: 3 },
      { key: 'meanActiveDays', header: `active days (of ${days})`, digits: 2 },
      { key: 'retention', header: 'retention', digits: 3 },
      { key: 'skipRate', header: 'skip rate', digits: 3 },
      { key: 'diversity', digits: 3 },
    ],
    Object.entries(results).map(([policy, r]) => ({ policy, ...r })),
  ),
);

// %% 5. Daily active listeners, every 10th day.
console.log(
  formatTable(
    [{ key: 'day' }, { key: 'engagement' }, { key: 'satisfaction' }],
    results['engagement-only'].daily
      .filter((d) => d.day % 10 === 0 || d.day === days - 1)
      .map((d) => ({
        day: d.day + 1,
        engagement: d.active,
        satisfaction: results['satisfaction-aware'].daily[d.day]!.active,
      })),
  ),
);

// %% 6. Predict each listener's total active days from their first week (progressive belief).
const traces = Object.values(results).flatMap((r) => r.perListener.map((p) => p.trace));
const belief = createBelief(
  traces.filter((_, i) => i % 2 === 0),
  { days },
);
const someone = traces[1]!;
const guess = belief.predict(someone.subarray(0, 7));
console.log(
  `\nListener seen for 7 days: predicted ${guess.mean.toFixed(1)} ± ${guess.std.toFixed(1)} active days, truly ${someone.reduce((a, b) => a + b, 0)}`,
);
const errors = beliefErrorByDay(
  traces.filter((_, i) => i % 2 === 0),
  traces.filter((_, i) => i % 2 === 1),
  { days },
);
console.log(
  formatTable(
    [
      { key: 'day', header: 'days seen' },
      { key: 'mae', header: 'MAE', digits: 2 },
    ],
    errors.filter((r) => r.day % 7 === 0) as never,
  ),
);
completion.dispose();
satisfaction.dispose();
