// Benchmark: Blend strategies on random, similar and divergent groups of 2, 5 and 10 listeners from the shipped data.
//
// Protocol: each user's listens are split in time: history = the first 80%, held-out = the last 20%.
// A model is trained on the histories (SASRec, or ItemKNN with ENCORE_BLEND_MODEL=itemknn or in fast
// mode). Taste = a user's share of plays per artist; two users' taste correlation = Pearson correlation
// of those vectors. Groups: random; similar = every pair correlates >= 0.3; divergent = every pair < 0.1.
// For every group and strategy, a 20-track Blend is scored with NDCG@20 / recall@20 against each
// member's held-out listens (evaluateBlend), then averaged per strategy, group type and size.
// Run: npx tsx bench/blend.ts   (ENCORE_FAST=1 for a quick run; ENCORE_BLEND_MODEL_DIR=dir to load a saved
// model trained on the same split instead of training). Writes bench/results/blend.json.
import { mkdir } from 'node:fs/promises';
import { initBackend } from '../src/backend.js';
import { type BlendMember, blend } from '../src/blend/blend.js';
import { evaluateBlend } from '../src/blend/evaluate-blend.js';
import type { BlendStrategyName } from '../src/blend/strategies.js';
import { tasteMatch } from '../src/blend/taste-match.js';
import { Dataset } from '../src/data/dataset.js';
import { loadListens, loadTracks } from '../src/data/loaders.js';
import { holdOutRecent } from '../src/data/splits.js';
import { formatTable } from '../src/eval/table.js';
import { ItemKNN } from '../src/models/baselines.js';
import type { Recommender } from '../src/models/recommender.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { createRng, type Rng } from '../src/util/random.js';
import { createMarkdownLog } from './markdown-log.js';

const md = createMarkdownLog();

const FAST = process.env.ENCORE_FAST === '1';
// 48 groups a cell (12 until 2026-11-27): with 12 the divergent round-robin-vs-average check flipped between
// runs; the paired difference below now comes with its standard error.
const GROUPS_PER_CELL = FAST ? 3 : 48;
const SIZES = [2, 5, 10] as const;
const TYPES = ['random', 'similar', 'divergent'] as const;
const STRATEGIES: BlendStrategyName[] = [
  'average',
  'least-misery',
  'most-pleasure',
  'borda',
  'round-robin',
  'gfar',
];
const DEFAULT: BlendStrategyName = 'gfar';
const K = 20;
const DATE = '2024-03-01';

type GroupType = (typeof TYPES)[number];

await initBackend({});
const { listens } = await loadListens('data/listens.csv');
const { tracks } = await loadTracks('data/tracks.csv');

// --- Split: history = first 80% of each user's listens, held-out = last 20%.
const { train: trainSet, history, heldOut } = holdOutRecent(Dataset.fromListens(listens), { fraction: 0.2 });

const users = [...history.keys()];

// --- Model.
const wanted = FAST ? 'itemknn' : (process.env.ENCORE_BLEND_MODEL ?? 'sasrec');
let model: Recommender;
let modelName = 'item-knn';
const t0 = performance.now();
if (process.env.ENCORE_BLEND_MODEL_DIR) {
  const { loadModel } = await import('../src/models/persist.js');
  await import('../src/models/sasrec.js'); // registers the 'sasrec' loader
  model = await loadModel(process.env.ENCORE_BLEND_MODEL_DIR);
  modelName = `${model.type} (loaded)`;
} else if (wanted === 'sasrec') {
  try {
    const { SASRec } = await import('../src/models/sasrec.js');
    model = await SASRec.fit(trainSet, {
      epochs: 30,
      seed: 42,
      progress: false,
      maxSeconds: 150,
      artists: tracks,
    });
    modelName = 'sasrec';
  } catch (e) {
    console.warn(`SASRec unavailable (${(e as Error).message}); using ItemKNN`);
    model = await ItemKNN.fit(trainSet);
  }
} else {
  model = await ItemKNN.fit(trainSet);
}
const trainSeconds = (performance.now() - t0) / 1000;
md.log(`model: ${modelName}, trained in ${trainSeconds.toFixed(1)} s on ${trainSet.numListens} listens\n`);

// --- Taste: per-user artist play shares; Pearson correlation between users.
const artistIndex = new Map<string, number>();
const artistOf = new Map<string, number>();
for (const t of tracks) {
  if (!artistIndex.has(t.artistId)) artistIndex.set(t.artistId, artistIndex.size);
  artistOf.set(t.trackId, artistIndex.get(t.artistId)!);
}
const taste = new Map<string, Float64Array>();
for (const u of users) {
  const v = new Float64Array(artistIndex.size);
  for (const id of history.get(u)!) {
    const a = artistOf.get(id);
    if (a !== undefined) v[a]! += 1;
  }
  let mean = 0;
  for (const x of v) mean += x / v.length;
  let norm = 0;
  for (let i = 0; i < v.length; i++) {
    v[i] = v[i]! - mean;
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < v.length; i++) v[i] = v[i]! / norm;
  taste.set(u, v);
}
const corrCache = new Map<string, number>();
const corr = (a: string, b: string) => {
  const key = a < b ? `${a}|${b}` : `${b}|${a}`;
  let r = corrCache.get(key);
  if (r === undefined) {
    const x = taste.get(a)!;
    const y = taste.get(b)!;
    r = 0;
    for (let i = 0; i < x.length; i++) r += x[i]! * y[i]!;
    corrCache.set(key, r);
  }
  return r;
};

function formGroup(type: GroupType, size: number, rng: Rng): string[] | undefined {
  const fits = (u: string, group: string[]) =>
    !group.includes(u) &&
    group.every((g) =>
      type === 'similar' ? corr(u, g) >= 0.3 : type === 'divergent' ? corr(u, g) < 0.1 : true,
    );
  for (let attempt = 0; attempt < 200; attempt++) {
    const group = [rng.choice(users)];
    while (group.length < size) {
      const options = users.filter((u) => fits(u, group));
      if (options.length === 0) break;
      group.push(rng.choice(options));
    }
    if (group.length === size) return group;
  }
  return undefined;
}

// --- Run.
interface Row {
  type: GroupType;
  size: number;
  strategy: string;
  groups: number;
  ndcg: number;
  minNdcg: number;
  minMax: number;
  zeroRecall: number;
  jain: number;
  tasteMatch: number;
  ms: number;
}
const rows: Row[] = [];
/** Per `${type}|${strategy}`: each group's min/max ratio, zero-recall and NDCG@20, in the same group order. */
const perGroup = new Map<string, { minMax: number[]; zeroRecall: number[]; ndcg: number[] }>();
const rng = createRng(2024);
for (const type of TYPES) {
  for (const size of SIZES) {
    const groups: string[][] = [];
    for (let g = 0; g < GROUPS_PER_CELL; g++) {
      const group = formGroup(type, size, rng);
      if (group) groups.push(group);
    }
    if (groups.length === 0) {
      console.warn(`no ${type} group of ${size} found`);
      continue;
    }
    for (const strategy of STRATEGIES) {
      const acc = { ndcg: 0, minNdcg: 0, minMax: 0, zeroRecall: 0, jain: 0, tasteMatch: 0, ms: 0 };
      for (const group of groups) {
        const members: BlendMember[] = group.map((id) => ({ id, history: history.get(id)! }));
        const start = performance.now();
        const result = await blend(members, { model, tracks, size: K, strategy, date: DATE });
        acc.ms += performance.now() - start;
        const ev = evaluateBlend(result, Object.fromEntries(group.map((id) => [id, heldOut.get(id)!])), {
          k: K,
        });
        acc.ndcg += ev.meanNdcg;
        acc.minNdcg += ev.minNdcg;
        acc.minMax += ev.minMaxRatio;
        acc.zeroRecall += ev.zeroRecall;
        const key = `${type}|${strategy}`;
        const cell = perGroup.get(key) ?? { minMax: [], zeroRecall: [], ndcg: [] };
        perGroup.set(key, cell);
        cell.ndcg.push(ev.meanNdcg);
        cell.minMax.push(ev.minMaxRatio);
        cell.zeroRecall.push(ev.zeroRecall);
        acc.jain += ev.jain;
        acc.tasteMatch += result.tasteMatch;
      }
      const n = groups.length;
      rows.push({
        type,
        size,
        strategy,
        groups: n,
        ndcg: acc.ndcg / n,
        minNdcg: acc.minNdcg / n,
        minMax: acc.minMax / n,
        zeroRecall: acc.zeroRecall / n,
        jain: acc.jain / n,
        tasteMatch: acc.tasteMatch / n,
        ms: acc.ms / n,
      });
    }
  }
}

md.log(
  formatTable(
    [
      { key: 'type', header: 'group' },
      { key: 'size' },
      { key: 'strategy' },
      { key: 'groups' },
      { key: 'ndcg', header: 'NDCG@20' },
      { key: 'minNdcg', header: 'min NDCG' },
      { key: 'minMax', header: 'min/max' },
      { key: 'zeroRecall', header: 'zero-recall', digits: 3 },
      { key: 'jain', header: 'Jain', digits: 3 },
      { key: 'tasteMatch', header: 'match', digits: 0 },
      { key: 'ms', header: 'ms/blend', digits: 1 },
    ],
    rows as unknown as Record<string, unknown>[],
  ),
);

// --- Per strategy, pooled over sizes, per group type.
const pooled = (type: GroupType | 'all', strategy: string) => {
  const rs = rows.filter((r) => (type === 'all' || r.type === type) && r.strategy === strategy);
  const mean = (f: (r: Row) => number) => rs.reduce((s, r) => s + f(r), 0) / Math.max(1, rs.length);
  return {
    ndcg: mean((r) => r.ndcg),
    minMax: mean((r) => r.minMax),
    zeroRecall: mean((r) => r.zeroRecall),
    jain: mean((r) => r.jain),
  };
};
/** "NDCG@20 / min-max / zero-recall" of a pooled line, with the Jain index when asked. */
const pooledText = (p: ReturnType<typeof pooled>, jain = false) =>
  `${p.ndcg.toFixed(4)} / ${p.minMax.toFixed(3)} / ${p.zeroRecall.toFixed(3)}${jain ? ` / ${p.jain.toFixed(3)}` : ''}`;
const overall = Object.fromEntries(STRATEGIES.map((s) => [s, pooled('all', s)]));
md.log(
  `\nAll groups (pooled over types and sizes): NDCG@20 / min-max / zero-recall / Jain — ${STRATEGIES.map(
    (s) => `${s} ${pooledText(overall[s]!, true)}`,
  ).join(', ')}`,
);
const div = pooled('divergent', DEFAULT);
const avg = pooled('divergent', 'average');
/** The runner-up design to show beside the default: the other fairness-aware strategy. */
const OTHER: BlendStrategyName = DEFAULT === 'gfar' ? 'round-robin' : 'gfar';
const other = pooled('divergent', OTHER);
md.log(
  `\nDivergent groups (pooled over sizes): NDCG@20 / min-max / zero-recall — ${DEFAULT} ${pooledText(div)}, ${OTHER} ${pooledText(other)}, average ${pooledText(avg)}`,
);
const check = {
  minMaxBetter: div.minMax > avg.minMax,
  zeroRecallBetter: div.zeroRecall < avg.zeroRecall,
  ndcgWithin10Percent: div.ndcg >= 0.9 * avg.ndcg,
};
/** Mean and standard error of the per-group difference a - b over the same groups (a paired comparison). */
const paired = (a: number[], b: number[]) => {
  const d = a.map((x, i) => x - b[i]!);
  const mean = d.reduce((s, x) => s + x, 0) / d.length;
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, d.length - 1));
  return { mean, se: sd / Math.sqrt(d.length), groups: d.length };
};
/** One metric of every group of the given types for a strategy, in group order. */
const groupsOf = (types: readonly GroupType[], strategy: string, f: 'minMax' | 'zeroRecall' | 'ndcg') =>
  types.flatMap((type) => perGroup.get(`${type}|${strategy}`)?.[f] ?? []);
const divPairs = {
  minMax: paired(groupsOf(['divergent'], DEFAULT, 'minMax'), groupsOf(['divergent'], 'average', 'minMax')),
  zeroRecall: paired(
    groupsOf(['divergent'], DEFAULT, 'zeroRecall'),
    groupsOf(['divergent'], 'average', 'zeroRecall'),
  ),
};
const pm = (p: { mean: number; se: number }) =>
  `${p.mean >= 0 ? '+' : ''}${p.mean.toFixed(3)} ± ${p.se.toFixed(3)}`;
md.log(
  `\nDivergent groups, ${DEFAULT} vs average: min/max ${div.minMax.toFixed(3)} vs ${avg.minMax.toFixed(3)} (${check.minMaxBetter ? 'better' : 'NOT better'}; paired difference ${pm(divPairs.minMax)} SE over ${divPairs.minMax.groups} groups), ` +
    `zero-recall ${div.zeroRecall.toFixed(3)} vs ${avg.zeroRecall.toFixed(3)} (${check.zeroRecallBetter ? 'better' : 'NOT better'}; ${pm(divPairs.zeroRecall)}), ` +
    `NDCG@20 ${div.ndcg.toFixed(4)} vs ${avg.ndcg.toFixed(4)} (${check.ndcgWithin10Percent ? 'within 10%' : 'MORE than 10% lower'})`,
);

// Every strategy against the default over all groups (types and sizes), paired by group.
const allOf = (strategy: string, f: 'minMax' | 'zeroRecall' | 'ndcg') => groupsOf(TYPES, strategy, f);
const againstDefault = Object.fromEntries(
  STRATEGIES.filter((s) => s !== DEFAULT).map((s) => [
    s,
    {
      ndcg: paired(allOf(s, 'ndcg'), allOf(DEFAULT, 'ndcg')),
      minMax: paired(allOf(s, 'minMax'), allOf(DEFAULT, 'minMax')),
      zeroRecall: paired(allOf(s, 'zeroRecall'), allOf(DEFAULT, 'zeroRecall')),
    },
  ]),
);
md.log(
  `\nEach strategy minus ${DEFAULT}, paired over all ${allOf(DEFAULT, 'ndcg').length} groups (mean ± SE): NDCG@20 / min-max / zero-recall — ${Object.entries(
    againstDefault,
  )
    .map(([s, d]) => `${s} ${pm(d.ndcg)} / ${pm(d.minMax)} / ${pm(d.zeroRecall)}`)
    .join(', ')}`,
);

// --- Latency of a 10-member, 50-track Blend (model loaded, default options).
const latencyRng = createRng(10);
const ten = users.slice();
latencyRng.shuffle(ten);
const tenMembers = ten.slice(0, 10).map((id) => ({ id, history: history.get(id)! }));
await blend(tenMembers, { model, tracks, size: 50 }); // warm-up
const times: number[] = [];
for (let i = 0; i < (FAST ? 3 : 10); i++) {
  const start = performance.now();
  await blend(tenMembers, { model, tracks, size: 50, date: `2024-03-${String(i + 1).padStart(2, '0')}` });
  times.push(performance.now() - start);
}
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
md.log(`10-member, 50-track Blend: median ${median.toFixed(1)} ms (${modelName}, ${times.length} runs)`);

// --- Taste match of random pairs (calibration check: should be mid-range). tasteMatch is what blend()
// reports; called directly, 2,000 pairs take a moment where 60 Blends took seconds and left the quartiles noisy.
const pairRng = createRng(77);
const matches: number[] = [];
const PAIRS = FAST ? 50 : 2000;
for (let i = 0; i < PAIRS; i++) {
  const a = pairRng.choice(users);
  let b = pairRng.choice(users);
  while (b === a) b = pairRng.choice(users);
  matches.push(tasteMatch([history.get(a)!, history.get(b)!], { tracks }));
}
matches.sort((x, y) => x - y);
const q = (f: number) => matches[Math.floor(f * (matches.length - 1))]!;
md.log(
  `taste match of ${PAIRS} random pairs (by artist, on the training histories): quartiles ${q(0.25)} / ${q(0.5)} / ${q(0.75)}`,
);

await mkdir('bench/results', { recursive: true });
const out = {
  model: modelName,
  trainSeconds,
  fast: FAST,
  k: K,
  date: DATE,
  groupsPerCell: GROUPS_PER_CELL,
  rows,
  defaultStrategy: DEFAULT,
  divergentCheck: { default: div, average: avg, [OTHER]: other, ...check, pairedDifference: divPairs },
  againstDefault,
  overall,
  latency10x50Ms: { median, runs: times },
  tasteMatchRandomPairs: { q25: q(0.25), median: q(0.5), q75: q(0.75) },
};
const file = FAST ? 'bench/results/blend.fast.json' : 'bench/results/blend.json';
await writeFileAtomic(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nwrote ${file}`);
if (!FAST) {
  console.log(
    `wrote ${await md.write('blend', 'Measured by `npx tsx bench/blend.ts` (part of `npm run bench`): Blends of 20 tracks for groups of 2, 5 and 10 listeners of the shipped data (random, similar and divergent), each member judged against their held-out last 20% of listens (NDCG@20, recall).')}`,
  );
}
model.dispose();
