// Example 08: estimate a new policy's reward from logs of an old one (IPS, SNIPS, direct method, doubly robust).
//
// Run: npx tsx examples/08-off-policy-evaluation.ts   (ENCORE_FAST=1 for a quicker run)
import { formatTable, ope, simulateBanditLogs } from '../src/index.js';

const FAST = process.env.ENCORE_FAST === '1';

// %% 1. Logs from a logging policy with known propensities (a simulated contextual bandit: 6 actions, 10 contexts).
const sim = simulateBanditLogs({ n: FAST ? 2000 : 10_000, actions: 6, seed: 1 });
const first = sim.logs[0]!;
console.log(
  `${sim.logs.length} logged decisions; first: context ${first.context.id}, action ${first.action}, reward ${first.reward}, propensity ${first.propensity.toFixed(3)}`,
);

// %% 2. Target policies to evaluate offline.
const uniform = () => new Array(sim.actions).fill(1 / sim.actions);
const greedyOracle = (c: (typeof sim.contexts)[number]) => {
  const values = Array.from({ length: sim.actions }, (_, a) => sim.expectedReward(c, a));
  const best = values.indexOf(Math.max(...values));
  return values.map((_, a) => (a === best ? 0.9 : 0.1 / (sim.actions - 1)));
};

// %% 3. Every estimator, with a seeded bootstrap 95% interval, against the true value.
const rows = [];
for (const [name, policy] of [
  ['uniform', uniform],
  ['mostly greedy', greedyOracle],
] as const) {
  const truth = sim.trueValue(policy);
  for (const est of [ope.ips, ope.snips, ope.directMethod, ope.doublyRobust]) {
    const r = est(sim.logs, policy, { seed: 1, bootstrap: FAST ? 50 : 200 });
    rows.push({
      policy: name,
      estimator: r.estimator,
      estimate: r.estimate,
      ci: `[${r.ci[0].toFixed(3)}, ${r.ci[1].toFixed(3)}]`,
      truth,
      error: r.estimate - truth,
    });
  }
}
console.log(
  formatTable(
    [
      { key: 'policy' },
      { key: 'estimator' },
      { key: 'estimate', digits: 3 },
      { key: 'ci', header: '95% CI' },
      { key: 'truth', digits: 3 },
      { key: 'error', digits: 3 },
    ],
    rows,
  ),
);

// %% 4. Your own logs: records or columns; string actions with Map policies. Bad input fails with the record index.
const logs = {
  contexts: ['morning', 'evening'],
  actions: ['t1', 't2'],
  rewards: [1, 0],
  propensities: [0.5, 0.25],
};
const prefersT1 = () =>
  new Map([
    ['t1', 0.8],
    ['t2', 0.2],
  ]);
console.log(
  '\nSNIPS on a tiny columnar log:',
  ope.snips(logs, prefersT1, { bootstrap: 20 }).estimate.toFixed(3),
);
try {
  ope.ips([{ context: 0, action: 1, reward: 1, propensity: 0 }], () => [0.5, 0.5]);
} catch (e) {
  console.log(`As expected: ${(e as Error).message.replace(/\n/g, ' ')}`);
}
