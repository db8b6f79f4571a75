// Example 06: turn listening events into rewards with hooks, and learn a reward model from them.
//
// Run: npx tsx examples/06-reward-hooks.ts   (ENCORE_FAST=1 for a quicker run)
import {
  computeRewards,
  createSimWorld,
  Dataset,
  formatTable,
  initBackend,
  RewardModel,
  rerank,
  rewards,
  scorers,
} from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';
await initBackend();

// %% 1. Some listening data with skips, saves and play durations.
// A simulated world gives listens whose hidden causes we know (catchy "clickbait" vs satisfying "kale" tracks).
const world = createSimWorld({ listeners: FAST ? 40 : 150, tracks: 300, seed: 1 });
const train = Dataset.fromListens(world.listens);
console.log(
  `${train.numListens} listens by ${train.users.length} listeners, skip rate ${train.stats().skipRate.toFixed(2)}`,
);

// %% 2. Built-in hooks on one listener's first plays.
const user = train.users[0]!;
const hooks = {
  completion: rewards.completion(),
  skipPenalty: rewards.skipPenalty({ levels: { 1: -1, 2: -0.6, 3: -0.2 } }),
  saveBonus: rewards.saveBonus(),
  diversity: rewards.diversityBonus({ tracks: world.tracks, window: 5 }),
  returnBonus: rewards.returnBonus({ days: 2 }),
};
const perHook = Object.fromEntries(
  Object.entries(hooks).map(([name, h]) => [name, computeRewards(train, h).get(user)!]),
);
const rows = train.userListens
  .get(user)!
  .slice(0, 8)
  .map((l, i) => ({
    track: l.trackId,
    skip: l.skipLevel,
    saved: l.saved ? 'yes' : '',
    ...Object.fromEntries(Object.keys(hooks).map((name) => [name, perHook[name]![i]])),
  }));
console.log(
  formatTable(
    [
      { key: 'track' },
      { key: 'skip' },
      { key: 'saved' },
      ...Object.keys(hooks).map((key) => ({ key, digits: 2 })),
    ],
    rows,
  ),
);

// %% 3. Combine them into one satisfaction reward. A hook returning NaN would fail loudly, naming the hook and listen.
const satisfaction = rewards.combine([
  [rewards.completion(), 0.3],
  [rewards.saveBonus(), 1],
  [rewards.skipPenalty(), 0.3],
]);
try {
  computeRewards(
    train,
    rewards.combine([
      [satisfaction, 1],
      [Object.assign(() => Number.NaN, { hookName: 'broken' }), 1],
    ]),
  );
} catch (e) {
  console.log(`\nAs expected: ${(e as Error).message.split('\n')[0]}`);
}

// %% 4. Learn it: a small TF.js reward model predicts the reward of a track after a history.
const model = await RewardModel.fit(train, { target: satisfaction, epochs: FAST ? 1 : 4, seed: 1 });
const history = train.history(user).slice(-10);
const candidates = world.tracks.slice(0, 30).map((t) => ({ trackId: t.trackId, score: t.appeal }));
const predicted = await model.predict(
  history,
  candidates.map((c) => c.trackId),
);
const kind = (id: string) =>
  world.tracks.find((t) => t.trackId === id)!.clickbait > 0.5 ? 'clickbait' : 'kale';
const mean = (k: string) => {
  const v = predicted.filter((_, i) => kind(candidates[i]!.trackId) === k);
  return v.reduce((a, b) => a + b, 0) / v.length;
};
console.log(
  `\nPredicted satisfaction reward: clickbait tracks ${mean('clickbait').toFixed(3)}, kale tracks ${mean('kale').toFixed(3)}`,
);

// %% 5. Re-rank: catchiness (the "relevance" here) vs predicted satisfaction vs diversity.
// Picks are greedy: `combined` is each track's score when picked (diversity is re-scored against the tracks
// already picked, so a later pick can score higher than an earlier one: the scores of different picks are
// not comparable, and the list is in pick order, not sorted by them).
const reranked = await rerank(candidates, {
  history,
  k: 5,
  objectives: [
    [scorers.relevance(), 0.5],
    [scorers.reward(model), 1],
    [scorers.diversity({ tracks: world.tracks }), 0.5],
  ],
});
console.log(
  formatTable(
    [{ key: 'trackId' }, { key: 'kind' }, { key: 'score', header: 'combined', digits: 3 }],
    reranked.map((r) => ({ ...r, kind: kind(r.trackId) })),
  ),
);
model.dispose();
