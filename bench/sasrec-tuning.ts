// Tuning runs for SASRec's defaults: one fit per invocation on the shipped world or another seed, appended to bench/results/sasrec-tuning.jsonl.
//
// Run: npx tsx bench/sasrec-tuning.ts --data shipped|seed7 [--maxlen 50] [--dropout 0.25] [--windows 8]
//        [--seconds 90] [--workers 1] [--batch 16] [--loss ce] [--negatives 1024] [--decay 1] [--patience 5] [--minsteps 256] [--wd 0] [--ema 0] [--dim 64] [--lr 5e-3] [--heads 1] [--blocks 2] [--plays 0|1] [--hbias 0|1] [--repeat 0|1] [--lastbias 0|1] [--tied 0|1] [--itembias 0|1] [--iteminit random|cooccurrence] [--mix 0|1] [--artists 0|1] [--seed 42] [--sparse 0|1] [--replayweight 1] [--catalogue 200] [--users 500] [--listens 200] [--days 60]
// Prints and appends one JSON line: the configuration, epochs, steps, best epoch, the validation curve
// (cumulative seconds, NDCG@10), test HR@10 / NDCG@10 (leave-one-out, full ranking) and HR@10 as a share of
// the generator's best achievable HR@10 on the same cases.
import { appendFile, mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { bestAchievableHitRate, generateWorld, truthCases } from '../src/data/generate.js';
import { leaveOneOut } from '../src/data/splits.js';
import { evaluate } from '../src/eval/metrics.js';
import { ItemTransition } from '../src/models/baselines.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import type { RewardHook } from '../src/rewards/hook.js';
import { batchesPerEpoch, buildWindows } from '../src/train/batches.js';
import type { LossName } from '../src/train/losses.js';
import { expectedMetrics } from './truth-gap.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'shipped' },
    maxlen: { type: 'string' },
    dropout: { type: 'string' },
    windows: { type: 'string' },
    seconds: { type: 'string', default: '90' },
    workers: { type: 'string' },
    batch: { type: 'string' },
    loss: { type: 'string' },
    negatives: { type: 'string' },
    decay: { type: 'string' },
    patience: { type: 'string' },
    minsteps: { type: 'string' },
    wd: { type: 'string' },
    ema: { type: 'string' },
    dim: { type: 'string' },
    lr: { type: 'string' },
    heads: { type: 'string' },
    blocks: { type: 'string' },
    plays: { type: 'string' },
    hbias: { type: 'string' },
    repeat: { type: 'string' },
    lastbias: { type: 'string' },
    tied: { type: 'string' },
    itembias: { type: 'string' },
    iteminit: { type: 'string' },
    mix: { type: 'string' },
    artists: { type: 'string', default: '1' },
    sparse: { type: 'string' },
    seed: { type: 'string' },
    catalogue: { type: 'string' },
    users: { type: 'string' },
    listens: { type: 'string' },
    days: { type: 'string' },
    replayweight: { type: 'string' },
  },
});

const num = (s: string | undefined) => (s === undefined ? undefined : Number(s));
const seed = values.data === 'shipped' ? undefined : Number(values.data!.replace('seed', ''));
const backend = await initBackend();
// --catalogue N: a world of N artists (10 tracks each; the shipped world has 200); --users N: N listeners
// (the shipped world has 500); --listens N: N listens per listener on average (the shipped world has 200);
// --days N: N days of listening (the shipped world has 60).
const world = generateWorld({
  ...(seed === undefined ? {} : { seed }),
  ...(values.catalogue ? { artists: Number(values.catalogue) } : {}),
  ...(values.users ? { users: Number(values.users) } : {}),
  ...(values.listens ? { meanListensPerUser: Number(values.listens) } : {}),
  ...(values.days ? { days: Number(values.days) } : {}),
});
const ds = Dataset.fromListens(world.listens);
const { train, test } = leaveOneOut(ds);
const cases = truthCases(world, 'test');
const ceiling = bestAchievableHitRate(world.truth, cases, 10);
// With every track ranked, the reference is a true ceiling (see bestAchievableHitRate).
const ceilingAll = bestAchievableHitRate(world.truth, cases, 10, { excludeHistory: false });

const options: SASRecOptions = {
  progress: false,
  maxSeconds: Number(values.seconds),
  ...(values.maxlen ? { maxlen: num(values.maxlen)! } : {}),
  ...(values.dropout ? { dropout: num(values.dropout)! } : {}),
  ...(values.windows ? { maxWindowsPerUser: num(values.windows)! } : {}),
  ...(values.workers ? { workers: num(values.workers)! } : {}),
  ...(values.batch ? { batchSize: num(values.batch)! } : {}),
  ...(values.loss ? { loss: values.loss as LossName } : {}),
  ...(values.negatives ? { negatives: num(values.negatives)! } : {}),
  ...(values.decay ? { plateauDecay: num(values.decay)! } : {}),
  ...(values.patience ? { patience: num(values.patience)! } : {}),
  ...(values.minsteps ? { minStepsPerEpoch: num(values.minsteps)! } : {}),
  ...(values.wd ? { weightDecay: num(values.wd)! } : {}),
  ...(values.ema ? { ema: num(values.ema)! } : {}),
  ...(values.plays ? { playCounts: values.plays === '1' } : {}),
  ...(values.hbias ? { historyBias: values.hbias === '1' } : {}),
  ...(values.repeat ? { repeat: values.repeat === '1' } : {}),
  ...(values.lastbias ? { lastBias: values.lastbias === '1' } : {}),
  ...(values.tied ? { tiedEmbeddings: values.tied === '1' } : {}),
  ...(values.itembias ? { itemBias: values.itembias === '1' } : {}),
  ...(values.iteminit ? { itemInit: values.iteminit as 'random' | 'cooccurrence' } : {}),
  ...(values.mix ? { transitionMix: values.mix === '1' } : {}),
  ...(values.artists === '1' ? { artists: world.tracks } : {}),
  ...(values.seed ? { seed: num(values.seed)! } : {}),
  ...(values.dim ? { dim: num(values.dim)! } : {}),
  ...(values.lr ? { learningRate: num(values.lr)! } : {}),
  ...(values.heads ? { heads: num(values.heads)! } : {}),
  ...(values.blocks ? { blocks: num(values.blocks)! } : {}),
  ...(values.sparse ? { sparseUpdates: values.sparse === '1' } : {}),
  // --replayweight w: weight w on the loss of targets the listener has played before (through the public
  // reward hook), so the transformer spends less of itself on replays, which the repeat head models.
  ...(values.replayweight ? { reward: replayWeight(Number(values.replayweight)) } : {}),
};

/** A reward hook: `w` for a listen of a track this listener played before, 1 for a first listen. */
function replayWeight(w: number): RewardHook {
  let user = '';
  let next = 0;
  let seen = new Set<string>();
  return (listen, ctx) => {
    // computeRewards goes user by user in time order; a user's first listen starts a new set.
    if (ctx.userId !== user || ctx.index !== next) {
      if (ctx.index !== 0) throw new Error("replayWeight expects each user's listens in order");
      user = ctx.userId;
      seen = new Set();
    }
    next = ctx.index + 1;
    const replay = seen.has(listen.trackId);
    seen.add(listen.trackId);
    return replay ? w : 1;
  };
}

const markov = await ItemTransition.fit(train);
const markovTest = await evaluate(markov, test, { k: [10] });
const markovSource = {
  scores: await markov.scoreAll(cases.map((c) => c.history)),
  index: (t: string) => markov.vocabulary.index(t),
};
const markovExpAll = expectedMetrics(world, cases, markovSource, 10);
const markovExpExcl = expectedMetrics(world, cases, markovSource, 10, { excludeHistory: true });
markov.dispose();

const curve: [number, number][] = [];
let elapsed = 0;
const t0 = performance.now();
const model = await SASRec.fit(train, {
  ...options,
  onEpochEnd: (_e, logs) => {
    elapsed += logs.seconds;
    curve.push([Number(elapsed.toFixed(1)), Number((logs.valNdcg10 ?? 0).toFixed(4))]);
  },
});
const fitSeconds = (performance.now() - t0) / 1000;
const r = await evaluate(model, test, { k: [10] });
const truth = await evaluate(model, cases, { k: [10] });
const truthAll = await evaluate(model, cases, { k: [10], excludeHistory: false });
// HR@10 in expectation over the true next-track distributions: the ceiling's own estimator, far less noisy.
const source = {
  scores: await model.scoreAll(cases.map((c) => c.history)),
  index: (t: string) => model.vocabulary.index(t),
};
const expectedAll = expectedMetrics(world, cases, source, 10);
const expectedExcl = expectedMetrics(world, cases, source, 10, { excludeHistory: true });
// The same model without its transition term at serving (the repeat head stays as fitted on top of the
// term, so this understates a model trained with transitionMix: false only slightly; see bench/next-track.ts).
const mix = model.transitionHead;
model.transitionHead = undefined;
const plainSource = { ...source, scores: await model.scoreAll(cases.map((c) => c.history)) };
model.transitionHead = mix;
const plainExcl = expectedMetrics(world, cases, plainSource, 10, { excludeHistory: true });
const plainAll = expectedMetrics(world, cases, plainSource, 10);
const round4 = (x: number) => Number(x.toFixed(4));
const withoutMix = mix
  ? {
      expectedHr10: round4(plainExcl.hr),
      expectedNdcg10: round4(plainExcl.ndcg),
      allExpectedHr10: round4(plainAll.hr),
      allExpectedNdcg10: round4(plainAll.ndcg),
    }
  : null;
const tr = model.trainResult!;
// Steps per epoch (approximate: auto validation holds out one listen of up to 1,000 users).
const windows = buildWindows(train.sequences, {
  maxlen: model.config.maxlen,
  maxWindowsPerUser: model.config.maxWindowsPerUser,
});
const stepsPerEpoch = batchesPerEpoch(windows.length, model.config.batchSize);
const line = {
  data: values.data,
  ...(values.catalogue ? { catalogueArtists: Number(values.catalogue) } : {}),
  ...(values.users ? { worldUsers: Number(values.users) } : {}),
  ...(values.listens ? { meanListensPerUser: Number(values.listens) } : {}),
  ...(values.days ? { days: Number(values.days) } : {}),
  backend: backend.name,
  host: process.env.ENCORE_HOST ?? (await import('node:os')).hostname(),
  load: (await import('node:os')).loadavg().map((x) => Number(x.toFixed(2))),
  config: {
    maxlen: model.config.maxlen,
    dropout: model.config.dropout,
    windows: model.config.maxWindowsPerUser,
    batch: model.config.batchSize,
    loss: model.config.loss,
    negatives: model.config.negatives,
    dim: model.config.dim,
    heads: model.config.heads,
    blocks: model.config.blocks,
    learningRate: model.config.learningRate,
    weightDecay: model.config.weightDecay,
    ema: model.config.ema,
    sparseUpdates: model.config.sparseUpdates,
    plateauDecay: model.config.plateauDecay,
    patience: model.config.patience,
    minStepsPerEpoch: model.config.minStepsPerEpoch,
    playCounts: model.config.playCounts,
    historyBias: model.config.historyBias,
    repeat: model.config.repeat,
    lastBias: model.config.lastBias,
    tiedEmbeddings: model.config.tiedEmbeddings,
    itemBias: model.config.itemBias,
    itemInit: model.config.itemInit,
    transitionMix: model.config.transitionMix,
    artists: model.artistInfo?.artists ?? 0,
    seed: model.config.seed,
    workers: options.workers ?? 'default',
    maxSeconds: options.maxSeconds,
    ...(values.replayweight ? { replayWeight: Number(values.replayweight) } : {}),
  },
  // The most recent maxWindowsPerUser windows of each listener ('resampled' lines: a 2026-11-26 trial that
  // drew older windows afresh each epoch). Lines tagged validationCasesTarget: a 2026-11-26 trial (its code
  // is gone) that held out the last ceil(500 / listeners) listens of each listener as validation cases.
  // Lines with validationCases and validationRule: a 2026-11-26 evening trial (its code is gone) of more
  // validation cases per listener when listeners are few; validationRule names the arm. Lines whose config
  // has rowUpdates 'lazy': a 2026-11-27 trial (its code is gone) of sparseUpdates as plain lazy Adam, rows a
  // step did not touch frozen, without the catch-up of the moves dense Adam makes on them.
  windowSampling: 'recent',
  users: ds.users.length,
  tracks: ds.vocabulary.size,
  listens: ds.numListens,
  fitSeconds: Number(fitSeconds.toFixed(1)),
  windows: windows.length,
  stepsPerEpoch,
  epochs: tr.epochs,
  bestEpoch: tr.bestEpoch,
  stoppedBy: tr.stoppedBy,
  curve,
  testHr10: r.hr[10],
  testNdcg10: Number(r.ndcg[10]!.toFixed(4)),
  markovTestNdcg10: Number(markovTest.ndcg[10]!.toFixed(4)),
  ceilingHr10: Number(ceiling.toFixed(4)),
  ceiling: 'history (mood filtered)',
  truthRatio: Number((truth.hr[10]! / ceiling).toFixed(4)),
  allItems: {
    hr10: truthAll.hr[10],
    ceilingHr10: Number(ceilingAll.toFixed(4)),
    ratio: Number((truthAll.hr[10]! / ceilingAll).toFixed(4)),
    expectedHr10: Number(expectedAll.hr.toFixed(4)),
    expectedNdcg10: Number(expectedAll.ndcg.toFixed(4)),
    expectedRatio: Number((expectedAll.hr / ceilingAll).toFixed(4)),
    markovExpectedNdcg10: Number(markovExpAll.ndcg.toFixed(4)),
  },
  expectedHr10: Number(expectedExcl.hr.toFixed(4)),
  expectedNdcg10: Number(expectedExcl.ndcg.toFixed(4)),
  expectedRatio: Number((expectedExcl.hr / ceiling).toFixed(4)),
  markovExpectedNdcg10: Number(markovExpExcl.ndcg.toFixed(4)),
  repeatHead: model.repeatHead ?? null,
  transitionHead: mix ?? null,
  withoutMix,
};
model.dispose();
console.log(JSON.stringify(line));
await mkdir('bench/results', { recursive: true });
await appendFile('bench/results/sasrec-tuning.jsonl', `${JSON.stringify(line)}\n`);
