// Benchmark: SASRec training throughput, time-to-quality, serving latency and peak memory, beside PyTorch.
//
// Run: npx tsx bench/perf.ts [--quick] [--only memory,throughput,latency] [--reps 3]
// Writes bench/results/perf.json and bench/results/perf.md (atomically). The PyTorch baseline
// (../shared/bench/torch_sasrec.py, or $ENCORE_SHARED/bench/torch_sasrec.py) runs in the same process run
// when /usr/bin/python3 can import torch; otherwise it is skipped with a notice.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend, tf } from '../src/backend.js';
import { Dataset, Vocabulary } from '../src/data/dataset.js';
import { loadListens } from '../src/data/loaders.js';
import { leaveOneOut } from '../src/data/splits.js';
import type { Listen } from '../src/data/types.js';
import { evaluate } from '../src/eval/metrics.js';
import { formatTable } from '../src/eval/table.js';
import { installWasmKernels, uninstallWasmKernels } from '../src/kernels/wasm.js';
import { ItemTransition } from '../src/models/baselines.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import { writeFileAtomic } from '../src/util/fs.js';
import { createRng } from '../src/util/random.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sharedDir = process.env.ENCORE_SHARED ?? path.resolve(repoRoot, '../shared');
const torchScript = path.join(sharedDir, 'bench', 'torch_sasrec.py');

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const value = (name: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('quick') || process.env.ENCORE_FAST === '1';
const SECTIONS = new Set((value('only') ?? 'memory,throughput,latency').split(','));
const REPS = Number(value('reps') ?? (QUICK ? 1 : 3));

// Settings of the comparison (the same for us and PyTorch).
const DIM = 64;
const MAXLEN = 50;
const BLOCKS = 2;
const BATCH = 128;
const ITEMS = 3500;
const SERVE_TRACKS = 4000;
/**
 * Time-to-quality: training budgets (`maxSeconds`) tried in turn. The target's level is ItemTransition's test
 * NDCG@10 under both protocols (1.0x, the level this bench has always used); budgets go on growing until the
 * model also reaches `TTQ_MARGIN` times it (the "clear margin" issue #3 asks of a trained SASRec), which is
 * reported beside the target. That second level sits close to what a fully trained model reaches on this
 * data (+10.9% with listens only in the next-track bench of 2026-11-28), so the time to it moves a lot.
 */
const TTQ_BUDGETS = QUICK ? [5] : [15, 30, 60, 120, 240];
const TTQ_MARGIN = 1.1;

// Targets (checked, never typed in the results).
const TARGETS = {
  throughputVsTorch: 0.5,
  timeToQualitySeconds: 30,
  recommendP50Ms: 2,
  peakMemoryMB: 1536,
};

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0
    ? Number.NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * Runs `f` on tfjs-backend-wasm's own kernels instead of encore's (src/kernels/wasm.ts), in this thread and
 * in the training workers it starts (they read ENCORE_WASM_KERNELS when they start), for the comparison rows.
 */
async function withTfjsKernels<T>(f: () => Promise<T>): Promise<T> {
  const before = process.env.ENCORE_WASM_KERNELS;
  process.env.ENCORE_WASM_KERNELS = '0';
  uninstallWasmKernels();
  try {
    return await f();
  } finally {
    if (before === undefined) delete process.env.ENCORE_WASM_KERNELS;
    else process.env.ENCORE_WASM_KERNELS = before;
    if (info.name === 'wasm' && before !== '0') installWasmKernels();
  }
}

/** Synthetic listens like torch_sasrec.py's batches: lengths 10..maxlen + 1, item ids skewed by r^2. */
function syntheticListens(users: number, items: number, seed: number): Listen[] {
  const rng = createRng(seed);
  const out: Listen[] = [];
  for (let u = 0; u < users; u++) {
    const n = 10 + Math.floor(rng.next() * (MAXLEN - 9)) + 1;
    for (let i = 0; i < n; i++) {
      out.push({
        userId: `u${u}`,
        trackId: `t${1 + Math.floor(rng.next() ** 2 * items)}`,
        timestamp: i * 60_000,
      });
    }
  }
  return out;
}

function syntheticDataset(users: number, items: number, seed: number): Dataset {
  const vocabulary = Vocabulary.from(Array.from({ length: items }, (_, i) => `t${i + 1}`));
  return Dataset.fromListens(syntheticListens(users, items, seed), { vocabulary });
}

// ---------------------------------------------------------------------------------------------------------
// (a) training throughput
// ---------------------------------------------------------------------------------------------------------

interface ThroughputRow {
  loss: 'bce' | 'ce';
  workers: number;
  /** Whose wasm kernels ran: encore's (the default) or tfjs-backend-wasm's own. */
  kernels: 'encore' | 'tfjs';
  seqPerSec: number[];
  stepMs: number;
}

/** Sequences per second of SASRec.fit epochs after the first (warm-up), at the comparison settings. */
async function throughput(
  loss: 'bce' | 'ce',
  workers: number,
  data: Dataset,
  epochs: number,
): Promise<number> {
  const rates: number[] = [];
  const windows = data.users.length; // one window per synthetic user (histories <= maxlen + 1)
  const model = await SASRec.fit(data, {
    dim: DIM,
    maxlen: MAXLEN,
    blocks: BLOCKS,
    batchSize: BATCH,
    loss,
    epochs,
    validation: 'none',
    progress: false,
    workers,
    onEpochEnd: (e, logs) => {
      if (e > 1) rates.push(windows / logs.seconds);
    },
  } satisfies SASRecOptions);
  model.dispose();
  return median(rates);
}

// ---------------------------------------------------------------------------------------------------------
// PyTorch baseline
// ---------------------------------------------------------------------------------------------------------

interface TorchResult {
  loss: string;
  seq_per_s: number;
  step_ms_median: number;
  infer_ms_1: number;
  infer_ms_256: number;
  torch: string;
  threads: number;
}

function torchAvailable(): { ok: boolean; why?: string } {
  if (!existsSync(torchScript)) return { ok: false, why: `${torchScript} not found (set ENCORE_SHARED)` };
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.status !== 0)
    return {
      ok: false,
      why: 'python3-torch is not installed (apt-get install -y python3-torch python3-numpy libopenblas0-pthread)',
    };
  return { ok: true };
}

/**
 * One run of torch_sasrec.py (2 torch threads, its default; `threads` 1 as well, because a 2-thread torch
 * slows down many-fold when another job takes one of the 2 cores, and then 1 thread is its best setting).
 */
function runTorch(loss: 'bce' | 'ce', threads = 2): TorchResult | undefined {
  const args = [
    torchScript,
    '--dim',
    `${DIM}`,
    '--maxlen',
    `${MAXLEN}`,
    '--items',
    `${ITEMS}`,
    '--batch',
    `${BATCH}`,
    '--loss',
    loss,
    '--threads',
    `${threads}`,
  ];
  if (QUICK) args.push('--steps', '3', '--infer-reps', '10');
  const r = spawnSync('/usr/bin/python3', args, {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1' },
    timeout: 600_000,
  });
  const line = r.stdout?.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) {
    console.error(`torch_sasrec.py (${loss}) gave no RESULT line: ${r.stderr?.slice(-500)}`);
    return undefined;
  }
  return JSON.parse(line.slice('RESULT '.length)) as TorchResult;
}

// ---------------------------------------------------------------------------------------------------------
// (c) serving latency
// ---------------------------------------------------------------------------------------------------------

interface Latency {
  p50: number;
  p99: number;
  batch256: number;
}

async function latency(): Promise<{
  plain: Latency;
  head: Latency;
  tfjs: Latency | null;
  batchItems: number;
}> {
  const data = syntheticDataset(300, SERVE_TRACKS, 5);
  const rng = createRng(9);
  const histories = Array.from({ length: 256 }, () =>
    Array.from({ length: 10 + rng.int(41) }, () => `t${1 + Math.floor(rng.next() ** 2 * SERVE_TRACKS)}`),
  );
  // Validation cases, so fit adds its post-hoc heads as default training does (the transition term and
  // the repeat head, each O(tracks) more per scored history).
  const model = await SASRec.fit(data, {
    dim: DIM,
    maxlen: MAXLEN,
    blocks: BLOCKS,
    epochs: 1,
    validation: histories.map((h, i) => ({ userId: `v${i}`, history: h.slice(0, -1), target: h.at(-1)! })),
    progress: false,
    workers: 1,
  });
  const calls = QUICK ? 100 : 400;
  const measure = async (): Promise<Latency> => {
    for (let i = 0; i < 20; i++) await model.recommend(histories[i % 256]!, { k: 10 });
    const ts: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now();
      await model.recommend(histories[i % 256]!, { k: 10 });
      ts.push(performance.now() - t0);
    }
    await model.recommendBatch(histories, { k: 10 });
    const bs: number[] = [];
    for (let i = 0; i < (QUICK ? 3 : 7); i++) {
      const t0 = performance.now();
      await model.recommendBatch(histories, { k: 10 });
      bs.push(performance.now() - t0);
    }
    return { p50: median(ts), p99: quantile(ts, 0.99), batch256: median(bs) };
  };
  const heads = { repeat: model.repeatHead, transition: model.transitionHead };
  if (!heads.repeat || !heads.transition) throw new Error('perf: fit did not add its post-hoc heads');
  model.repeatHead = undefined;
  model.transitionHead = undefined;
  const plain = await measure();
  model.repeatHead = heads.repeat;
  model.transitionHead = heads.transition;
  const head = await measure();
  const tfjs = info.name === 'wasm' ? await withTfjsKernels(measure) : null;
  model.dispose();
  return { plain, head, tfjs, batchItems: SERVE_TRACKS };
}

// ---------------------------------------------------------------------------------------------------------
// (b) time-to-quality and (d) peak memory on the shipped data
// ---------------------------------------------------------------------------------------------------------

/** One budgeted fit: the training budget, the wall time until `fit` returned, and the model's test NDCG@10. */
type BudgetRun = {
  budget: number;
  seconds: number;
  epochs: number;
  /** Test NDCG@10, history excluded (evaluate's default protocol). */
  ndcg: number;
  /** Test NDCG@10, every track ranked. */
  ndcgAll: number;
};

/**
 * Time-to-quality as a user waits for it: `SASRec.fit` with its defaults and a `maxSeconds` budget, from the
 * call to the returned model (setup and post-hoc heads included), whose NDCG@10 on the test cases is then
 * compared with ItemTransition's under both protocols. Budgets grow until one reaches `TTQ_MARGIN` times it.
 */
async function timeToQuality(): Promise<{
  markov: { ndcg: number; ndcgAll: number };
  /** Wall time of the first fit whose model reached ItemTransition's level (1.0x) under both protocols. */
  seconds: number | null;
  /** The same for `TTQ_MARGIN` times ItemTransition's level. */
  secondsToMargin: number | null;
  runs: BudgetRun[];
  curve: { epoch: number; seconds: number; ndcg: number }[];
  peakRssMB: number;
}> {
  const { listens } = await loadListens(path.join(repoRoot, 'data', 'listens.csv'));
  const { train, validation, test } = leaveOneOut(Dataset.fromListens(listens));
  const ndcgOf = async (model: ItemTransition | SASRec) => ({
    ndcg: (await evaluate(model, test, { k: [10] })).ndcg[10]!,
    ndcgAll: (await evaluate(model, test, { k: [10], excludeHistory: false })).ndcg[10]!,
  });
  const markovModel = await ItemTransition.fit(train);
  const markov = await ndcgOf(markovModel);
  markovModel.dispose();
  const runs: BudgetRun[] = [];
  let curve: { epoch: number; seconds: number; ndcg: number }[] = [];
  let reached: number | null = null; // 1.0x
  let reachedMargin: number | null = null; // TTQ_MARGIN x
  for (const budget of TTQ_BUDGETS) {
    const epochs: { epoch: number; seconds: number; ndcg: number }[] = [];
    const t0 = performance.now();
    const model = await SASRec.fit(train, {
      validation,
      progress: false,
      maxSeconds: budget,
      onEpochEnd: (epoch, logs) => {
        epochs.push({
          epoch,
          seconds: round((performance.now() - t0) / 1000),
          ndcg: round(logs.valNdcg10 ?? 0, 4),
        });
      },
    });
    const seconds = (performance.now() - t0) / 1000;
    const scores = await ndcgOf(model);
    runs.push({ budget, seconds: round(seconds), epochs: model.trainResult?.epochs ?? 0, ...scores });
    model.dispose();
    curve = epochs;
    if (reached === null && scores.ndcg >= markov.ndcg && scores.ndcgAll >= markov.ndcgAll) reached = seconds;
    if (scores.ndcg >= TTQ_MARGIN * markov.ndcg && scores.ndcgAll >= TTQ_MARGIN * markov.ndcgAll) {
      reachedMargin = seconds;
      break;
    }
  }
  const peakRssMB = process.resourceUsage().maxRSS / 1024;
  return { markov, seconds: reached, secondsToMargin: reachedMargin, runs, curve, peakRssMB };
}

// ---------------------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------------------

const info = await initBackend({ verbose: false });
const load = os.loadavg();
console.log(
  `backend ${info.name}${info.name === 'wasm' ? ` (SIMD ${info.simd ? 'on' : 'off'})` : ''}, ${os.availableParallelism()} cores, load average ${load.map((l) => l.toFixed(1)).join(' ')}${QUICK ? ', quick run' : ''}`,
);

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  backend: info.name,
  cores: os.availableParallelism(),
  loadAverageAtStart: load.map((l) => round(l)),
  settings: {
    dim: DIM,
    maxlen: MAXLEN,
    blocks: BLOCKS,
    batch: BATCH,
    items: ITEMS,
    serveTracks: SERVE_TRACKS,
  },
};
const targets: { target: string; value: string; met: boolean | null }[] = [];
const fmtMet = (met: boolean | null) => (met === null ? 'n/a' : met ? 'target met' : 'not met');

// (b) + (d) first, so the high-water mark is that of training on the shipped data.
if (SECTIONS.has('memory')) {
  const ttq = await timeToQuality();
  results.timeToQuality = ttq;
  const last = TTQ_BUDGETS[TTQ_BUDGETS.length - 1]!;
  console.log(
    `\ntime-to-quality: ItemTransition test NDCG@10 ${ttq.markov.ndcg.toFixed(4)} (history excluded), ${ttq.markov.ndcgAll.toFixed(4)} (every track ranked); SASRec reached 1.0x ${ttq.seconds === null ? `with no budget up to ${last} s` : `after ${ttq.seconds.toFixed(1)} s`}, ${TTQ_MARGIN}x ${ttq.secondsToMargin === null ? `with no budget up to ${last} s` : `after ${ttq.secondsToMargin.toFixed(1)} s`}`,
  );
  console.log(
    formatTable(
      [
        { key: 'budget', header: 'maxSeconds' },
        { key: 'seconds', header: 'fit returned after (s)', digits: 1 },
        { key: 'epochs' },
        { key: 'ndcg', header: 'test NDCG@10' },
        { key: 'ndcgAll', header: 'test NDCG@10 all' },
      ],
      ttq.runs,
    ),
  );
  console.log('validation NDCG@10 of the transformer alone, every track ranked, in the last run:');
  console.log(
    formatTable(
      [{ key: 'epoch' }, { key: 'seconds', digits: 1 }, { key: 'ndcg', header: 'val NDCG@10' }],
      ttq.curve,
    ),
  );
  console.log(`peak RSS after training on the shipped data: ${ttq.peakRssMB.toFixed(0)} MB`);
  targets.push({
    target: `time-to-quality (fit returns a model with test NDCG@10 >= ItemTransition's, history excluded and every track ranked) < ${TARGETS.timeToQualitySeconds} s`,
    value: ttq.seconds === null ? `not reached with a budget of ${last} s` : `${ttq.seconds.toFixed(1)} s`,
    met: ttq.seconds !== null && ttq.seconds < TARGETS.timeToQualitySeconds,
  });
  targets.push({
    target: `time to ${TTQ_MARGIN} x ItemTransition's test NDCG@10, both protocols (reported, no target)`,
    value:
      ttq.secondsToMargin === null
        ? `not reached with a budget of ${last} s`
        : `${ttq.secondsToMargin.toFixed(1)} s`,
    met: null,
  });
  targets.push({
    target: `peak memory (max RSS) training on the shipped data < ${TARGETS.peakMemoryMB} MB`,
    value: `${ttq.peakRssMB.toFixed(0)} MB`,
    met: ttq.peakRssMB < TARGETS.peakMemoryMB,
  });
}

const torchOk = torchAvailable();
if (!torchOk.ok) console.log(`\nPyTorch baseline skipped: ${torchOk.why}`);
const torch: Partial<Record<'bce' | 'ce', TorchResult>> = {};
const torchAll: Partial<Record<'bce' | 'ce', string[]>> = {};

if (SECTIONS.has('throughput')) {
  const data = syntheticDataset(QUICK ? 256 : 512, ITEMS, 1);
  const epochs = QUICK ? 2 : 3;
  const rows: ThroughputRow[] = [];
  for (const loss of ['bce', 'ce'] as const) {
    const byWorkers = new Map<number, number[]>([
      [1, []],
      [2, []],
    ]);
    const tfjsKernels: number[] = []; // 2 workers on tfjs-backend-wasm's own kernels, for comparison
    // Interleave workers = 1, 2 and PyTorch so that background load hits all alike; report each side's
    // best repetition (on a shared machine the best run is the one least disturbed by other jobs).
    const torchRuns: TorchResult[] = [];
    for (let r = 0; r < REPS; r++) {
      for (const w of [1, 2]) byWorkers.get(w)!.push(await throughput(loss, w, data, epochs));
      if (info.name === 'wasm')
        tfjsKernels.push(await withTfjsKernels(() => throughput(loss, 2, data, epochs)));
      for (const threads of [2, 1]) {
        const t = torchOk.ok ? runTorch(loss, threads) : undefined;
        if (t) torchRuns.push(t);
      }
    }
    for (const [w, xs] of byWorkers)
      rows.push({
        loss,
        workers: w,
        kernels: 'encore',
        seqPerSec: xs,
        stepMs: (BATCH / Math.max(...xs)) * 1000,
      });
    if (tfjsKernels.length > 0)
      rows.push({
        loss,
        workers: 2,
        kernels: 'tfjs',
        seqPerSec: tfjsKernels,
        stepMs: (BATCH / Math.max(...tfjsKernels)) * 1000,
      });
    if (torchRuns.length > 0) {
      const best = torchRuns.reduce((a, b) => (b.seq_per_s > a.seq_per_s ? b : a));
      torch[loss] = {
        ...best,
        infer_ms_1: Math.min(...torchRuns.map((t) => t.infer_ms_1)),
        infer_ms_256: Math.min(...torchRuns.map((t) => t.infer_ms_256)),
      };
      torchAll[loss] = torchRuns.map((t) => `${t.seq_per_s.toFixed(0)} (${t.threads} thr)`);
    }
  }
  const table = rows.map((r) => {
    const ours = Math.max(...r.seqPerSec);
    const t = torch[r.loss];
    return {
      loss: r.loss,
      workers: r.workers,
      kernels: r.kernels,
      seqPerSec: round(ours, 1),
      runs: r.seqPerSec.map((x) => x.toFixed(0)).join(' '),
      stepMs: round(r.stepMs, 0),
      torchSeqPerSec: t ? t.seq_per_s : Number.NaN,
      ratio: t ? round(ours / t.seq_per_s, 3) : Number.NaN,
    };
  });
  results.throughput = table;
  console.log(
    `\ntraining throughput (sequences/s, best of ${REPS} runs each; batch 128, d 64, maxlen 50, 2 blocks, 3,500 items)`,
  );
  for (const loss of ['bce', 'ce'] as const)
    if (torchAll[loss]) console.log(`PyTorch ${loss} runs (seq/s): ${torchAll[loss]!.join(', ')}`);
  console.log(
    formatTable(
      [
        { key: 'loss' },
        { key: 'workers' },
        { key: 'kernels', header: 'wasm kernels' },
        { key: 'seqPerSec', header: 'seq/s', digits: 1 },
        { key: 'runs', header: 'runs' },
        { key: 'stepMs', header: 'ms/step' },
        { key: 'torchSeqPerSec', header: 'PyTorch seq/s', digits: 1 },
        { key: 'ratio', header: 'ours/PyTorch', digits: 3 },
      ],
      table,
    ),
  );
  for (const loss of ['bce', 'ce'] as const) {
    const best = Math.max(
      ...table.filter((r) => r.loss === loss && r.kernels === 'encore').map((r) => r.seqPerSec),
    );
    const t = torch[loss];
    targets.push({
      target: `training throughput (${loss}, wasm, best of workers 1 and 2) >= ${TARGETS.throughputVsTorch} x PyTorch`,
      value: t
        ? `${(best / t.seq_per_s).toFixed(2)} x (${best.toFixed(0)} vs ${t.seq_per_s.toFixed(0)} seq/s)`
        : 'PyTorch not run',
      met: t ? best / t.seq_per_s >= TARGETS.throughputVsTorch : null,
    });
  }
}

if (SECTIONS.has('latency')) {
  const lat = await latency();
  if (torchOk.ok && !torch.ce) torch.ce = runTorch('ce');
  // PyTorch's inference does not depend on the loss; take its best run (each torch process measures it).
  const runs = [torch.bce, torch.ce].filter((r): r is TorchResult => r !== undefined);
  const t = runs.length
    ? {
        infer_ms_1: Math.min(...runs.map((r) => r.infer_ms_1)),
        infer_ms_256: Math.min(...runs.map((r) => r.infer_ms_256)),
      }
    : undefined;
  results.latency = {
    ...lat.head,
    withoutRepeatHead: lat.plain,
    tfjsKernels: lat.tfjs,
    batchItems: lat.batchItems,
    torchInferMs1: t?.infer_ms_1 ?? null,
    torchInferMs256: t?.infer_ms_256 ?? null,
  };
  console.log(`\nserving (${SERVE_TRACKS} tracks, k 10)`);
  console.log(
    formatTable(
      [
        { key: 'what' },
        { key: 'ms', digits: 2 },
        { key: 'torch', header: `PyTorch ms (${ITEMS} items)`, digits: 2 },
      ],
      [
        { what: 'recommend p50', ms: lat.head.p50, torch: t?.infer_ms_1 ?? Number.NaN },
        { what: 'recommend p99', ms: lat.head.p99, torch: Number.NaN },
        { what: 'recommendBatch(256)', ms: lat.head.batch256, torch: t?.infer_ms_256 ?? Number.NaN },
        { what: 'recommend p50, no post-hoc heads', ms: lat.plain.p50, torch: Number.NaN },
        { what: 'recommendBatch(256), no post-hoc heads', ms: lat.plain.batch256, torch: Number.NaN },
        { what: 'recommend p50, tfjs kernels', ms: lat.tfjs?.p50 ?? Number.NaN, torch: Number.NaN },
        {
          what: 'recommendBatch(256), tfjs kernels',
          ms: lat.tfjs?.batch256 ?? Number.NaN,
          torch: Number.NaN,
        },
      ],
    ),
  );
  targets.push({
    target: `recommend p50 <= ${TARGETS.recommendP50Ms} ms at ${SERVE_TRACKS} tracks`,
    value: `${lat.head.p50.toFixed(2)} ms`,
    met: lat.head.p50 <= TARGETS.recommendP50Ms,
  });
  targets.push({
    target: 'recommendBatch(256) faster than PyTorch',
    value: t ? `${lat.head.batch256.toFixed(1)} ms vs ${t.infer_ms_256.toFixed(1)} ms` : 'PyTorch not run',
    met: t ? lat.head.batch256 < t.infer_ms_256 : null,
  });
}

results.torch = torchOk.ok ? { best: torch, seqPerSecRuns: torchAll } : { skipped: torchOk.why };
results.targets = targets;
results.loadAverageAtEnd = os.loadavg().map((l) => round(l));
console.log('\ntargets');
const targetRows = targets.map((t) => ({ target: t.target, value: t.value, status: fmtMet(t.met) }));
console.log(formatTable([{ key: 'target' }, { key: 'value' }, { key: 'status' }], targetRows));

const md: string[] = [];
md.push(
  `Best of ${REPS} interleaved runs per row, measured ${new Date().toISOString().slice(0, 10)} on ${os.availableParallelism()} cores (load average ${load.map((l) => l.toFixed(1)).join(' ')} at start; other jobs shared the machine), backend ${info.name}${torchOk.ok ? `, PyTorch ${torch.ce?.torch ?? torch.bce?.torch ?? ''} (OpenBLAS; best of its 2-thread and 1-thread runs)` : ', PyTorch not run'}.`,
  '',
);
if (results.throughput) {
  md.push(
    '| loss | workers | wasm kernels | seq/s | PyTorch seq/s | ours / PyTorch |',
    '|---|---:|---|---:|---:|---:|',
  );
  for (const r of results.throughput as Record<string, number | string>[])
    md.push(
      `| ${r.loss} | ${r.workers} | ${r.kernels} | ${r.seqPerSec} | ${Number.isNaN(r.torchSeqPerSec) ? '-' : r.torchSeqPerSec} | ${Number.isNaN(r.ratio) ? '-' : r.ratio} |`,
    );
  md.push('');
}
if (results.latency) {
  const l = results.latency as Latency & {
    withoutRepeatHead: Latency;
    tfjsKernels: Latency | null;
    torchInferMs1: number | null;
    torchInferMs256: number | null;
  };
  const ms = (x: number | null) => (x === null ? '-' : x.toFixed(2));
  md.push(
    `| serving, ${SERVE_TRACKS} tracks, k 10 | ms | PyTorch ms (${ITEMS} items) |`,
    '|---|---:|---:|',
    `| recommend p50 | ${l.p50.toFixed(2)} | ${ms(l.torchInferMs1)} |`,
    `| recommend p99 | ${l.p99.toFixed(2)} | - |`,
    `| recommendBatch(256) | ${l.batch256.toFixed(1)} | ${ms(l.torchInferMs256)} |`,
    `| recommend p50, without the repeat head and transition term | ${l.withoutRepeatHead.p50.toFixed(2)} | - |`,
    `| recommendBatch(256), without the repeat head and transition term | ${l.withoutRepeatHead.batch256.toFixed(1)} | - |`,
  );
  if (l.tfjsKernels)
    md.push(
      `| recommend p50, on tfjs-backend-wasm's own kernels | ${l.tfjsKernels.p50.toFixed(2)} | - |`,
      `| recommendBatch(256), on tfjs-backend-wasm's own kernels | ${l.tfjsKernels.batch256.toFixed(1)} | - |`,
    );
  md.push('');
}
if (results.timeToQuality) {
  const q = results.timeToQuality as Awaited<ReturnType<typeof timeToQuality>>;
  md.push(
    `| time-to-quality: \`SASRec.fit\` with \`maxSeconds\` | fit returned after (s) | epochs | test NDCG@10 | test NDCG@10, every track ranked |`,
    '|---|---:|---:|---:|---:|',
    `| ItemTransition (the target's level) | | | ${q.markov.ndcg.toFixed(4)} | ${q.markov.ndcgAll.toFixed(4)} |`,
    `| ${TTQ_MARGIN} x ItemTransition (reported) | | | ${(TTQ_MARGIN * q.markov.ndcg).toFixed(4)} | ${(TTQ_MARGIN * q.markov.ndcgAll).toFixed(4)} |`,
  );
  for (const r of q.runs)
    md.push(
      `| ${r.budget} s | ${r.seconds.toFixed(1)} | ${r.epochs} | ${r.ndcg.toFixed(4)} | ${r.ndcgAll.toFixed(4)} |`,
    );
  md.push('');
}
md.push('| target | value | status |', '|---|---|---|');
for (const t of targetRows) md.push(`| ${t.target} | ${t.value} | ${t.status} |`);
md.push('');

// Quick smoke runs must not overwrite the full results the README shows.
const base = path.join(repoRoot, 'bench', 'results', QUICK ? 'perf.fast' : 'perf');
await writeFileAtomic(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
await writeFileAtomic(`${base}.md`, md.join('\n'));
console.log(`\nwrote ${base}.json and ${base}.md`);
void tf;
