// SASRec: known answers, an order-2 pattern, determinism, persistence, options and tensor leaks.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import type { Listen, SkipLevel } from '../src/data/types.js';
import { InvalidDataError, InvalidOptionError } from '../src/errors.js';
import { loadModel } from '../src/models/persist.js';
import { SASREC_DEFAULTS, SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import { AUTO_CE_MAX_ITEMS, AUTO_SAMPLED_NEGATIVES } from '../src/train/losses.js';
import { createRng } from '../src/util/random.js';
import { resigned } from './helpers/manifest.js';

const FAST: SASRecOptions = {
  dim: 16,
  blocks: 1,
  maxlen: 12,
  batchSize: 32,
  learningRate: 0.01,
  dropout: 0.1,
  validation: 'none',
  progress: false,
};

/** 20 tracks in a cycle t1 -> t2 -> ... -> t20 -> t1; users start at random offsets. */
function cycleListens(users: number, seed: number): Listen[] {
  const rng = createRng(seed);
  const out: Listen[] = [];
  for (let u = 0; u < users; u++) {
    const off = rng.int(20);
    const n = 8 + rng.int(8);
    for (let t = 0; t < n; t++)
      out.push({ userId: `u${u}`, trackId: `t${((off + t) % 20) + 1}`, timestamp: t * 60_000 });
  }
  return out;
}

let cycles: Dataset;
let dir: string;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', verbose: false });
  cycles = Dataset.fromListens(cycleListens(120, 1));
  dir = await mkdtemp(path.join(tmpdir(), 'encore-sasrec-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('SASRec known answers', () => {
  it('predicts the next track of a deterministic cycle, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const epochs: number[] = [];
    const model = await SASRec.fit(cycles, { ...FAST, epochs: 12, onEpochEnd: (e) => void epochs.push(e) });
    expect(epochs).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const afterFit = tf.memory().numTensors;
    let correct = 0;
    for (let start = 1; start <= 20; start++) {
      const history = [0, 1, 2].map((i) => `t${((start - 1 + i) % 20) + 1}`);
      const [top] = await model.recommend(history, { k: 1 });
      if (top!.trackId === `t${((start + 2) % 20) + 1}`) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(19);
    await model.scoreAll([['t1'], [], ['unknown', 't5']]);
    expect(tf.memory().numTensors).toBe(afterFit);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('learns an order-2 pattern that a first-order Markov chain cannot (P_i X -> Q_i)', async () => {
    const rng = createRng(2);
    const listens: Listen[] = [];
    for (let u = 0; u < 150; u++) {
      let ts = 0;
      for (let r = 0; r < 4; r++) {
        const i = 1 + rng.int(4);
        for (const id of [`p${i}`, 'x', `q${i}`])
          listens.push({ userId: `u${u}`, trackId: id, timestamp: ts++ });
      }
    }
    const model = await SASRec.fit(Dataset.fromListens(listens), { ...FAST, epochs: 30 });
    for (let i = 1; i <= 4; i++) {
      const [top] = await model.recommend(['q3', 'p2', 'x', 'q2', `p${i}`, 'x'], {
        k: 1,
        excludeHistory: false,
      });
      expect(top!.trackId).toBe(`q${i}`);
    }
    model.dispose();
  });

  it('cold start: an empty or all-unknown history gets training popularity', async () => {
    const listens: Listen[] = [];
    for (let u = 0; u < 10; u++)
      for (const [t, id] of ['a', 'b', 'a', 'c', 'a'].entries())
        listens.push({ userId: `u${u}`, trackId: id, timestamp: t });
    const model = await SASRec.fit(Dataset.fromListens(listens), { ...FAST, epochs: 1 });
    const [empty, unknown] = await model.scoreAll([[], ['zzz']]);
    expect(Array.from(empty!.subarray(1))).toEqual([30, 10, 10]);
    expect(unknown).toEqual(empty);
    expect(model.unknownSkipped).toBe(1);
    expect((await model.recommend([], { k: 1 }))[0]!.trackId).toBe('a');
    model.dispose();
  });
});

describe('SASRec determinism and persistence', () => {
  it('same seed gives identical scores, another seed does not; save/load restores them exactly', async () => {
    const histories = [['t1', 't2', 't3'], ['t9'], ['t20', 't1']];
    const a = await SASRec.fit(cycles, { ...FAST, epochs: 2, seed: 7 });
    const b = await SASRec.fit(cycles, { ...FAST, epochs: 2, seed: 7 });
    const c = await SASRec.fit(cycles, { ...FAST, epochs: 2, seed: 8 });
    const sa = await a.scoreAll(histories);
    expect(await b.scoreAll(histories)).toEqual(sa);
    expect(await c.scoreAll(histories)).not.toEqual(sa);
    const before = tf.memory().numTensors;
    await a.save(path.join(dir, 'm'));
    const loaded = await loadModel(path.join(dir, 'm'));
    expect(loaded).toBeInstanceOf(SASRec);
    expect((loaded as SASRec).config).toEqual(a.config);
    const sl = await loaded.scoreAll(histories);
    for (let h = 0; h < histories.length; h++) {
      for (let j = 1; j < sl[h]!.length; j++)
        expect(Math.abs(sl[h]![j]! - sa[h]![j]!)).toBeLessThanOrEqual(1e-6);
    }
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(before);
    for (const m of [a, b, c]) m.dispose();
  });

  it("itemBias starts from each track's log share of the training listens, centred, and scores with it", async () => {
    // t1 is played in every sequence, t40 once: the bias must order them as their counts do.
    const listens = Array.from({ length: 30 }, (_, u) =>
      ['t1', `t${2 + (u % 20)}`, u === 0 ? 't40' : 't1'].map((trackId, i) => ({
        userId: `u${u}`,
        trackId,
        timestamp: i * 60_000,
      })),
    ).flat();
    const ds = Dataset.fromListens(listens);
    const m = await SASRec.fit(ds, {
      ...FAST,
      epochs: 1,
      learningRate: 1e-6,
      warmupSteps: 0,
      itemBias: true,
    });
    const bias = m.getWeights().out_bias!;
    expect(bias.length).toBe(ds.vocabulary.size + 1);
    const b = (id: string) => bias[ds.vocabulary.index(id)!]!;
    const counts = ds.itemCounts;
    // One step at a tiny rate: still the starting values, log((c + 1) / (N + V)) minus their mean.
    const logs = Array.from({ length: ds.vocabulary.size }, (_, i) =>
      Math.log((counts[i + 1]! + 1) / (ds.numListens + ds.vocabulary.size)),
    );
    const mean = logs.reduce((s, v) => s + v, 0) / logs.length;
    expect(b('t1')).toBeCloseTo(logs[ds.vocabulary.index('t1')! - 1]! - mean, 3);
    expect(b('t1')).toBeGreaterThan(b('t2') + 1);
    expect(b('t2')).toBeGreaterThan(b('t40'));
    m.dispose();
  });

  it('with playCounts, historyBias, lastBias or untied embeddings: deterministic, saved and restored exactly, no leaks', async () => {
    const histories = [['t1', 't2', 't3', 't1', 't2'], ['t9'], ['t20', 't1', 't20']];
    const before = tf.memory().numTensors;
    for (const extra of [
      { playCounts: true, historyBias: true },
      { playCounts: true, lastBias: true, loss: 'sampled-softmax', negatives: 8 },
      { tiedEmbeddings: false },
      { tiedEmbeddings: false, loss: 'bce' },
      { itemBias: true, itemInit: 'cooccurrence' },
      { itemBias: true, tiedEmbeddings: false, loss: 'sampled-softmax', negatives: 8 },
    ] as SASRecOptions[]) {
      const a = await SASRec.fit(cycles, { ...FAST, epochs: 2, seed: 5, ...extra });
      const b = await SASRec.fit(cycles, { ...FAST, epochs: 2, seed: 5, ...extra });
      const sa = await a.scoreAll(histories);
      expect(await b.scoreAll(histories)).toEqual(sa);
      expect(sa.every((row) => row.slice(1).every(Number.isFinite))).toBe(true);
      const out = path.join(dir, `extra-${Object.keys(extra).join('-')}`);
      await a.save(out);
      const loaded = await loadModel(out);
      expect((loaded as SASRec).config).toEqual(a.config);
      expect(await loaded.scoreAll(histories)).toEqual(sa);
      for (const m of [a, b, loaded]) m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a reward hook returning 1 trains exactly like no hook', async () => {
    const histories = [['t4', 't5'], ['t11']];
    const plain = await SASRec.fit(cycles, { ...FAST, epochs: 1, seed: 3 });
    const ones = await SASRec.fit(cycles, { ...FAST, epochs: 1, seed: 3, reward: () => 1 });
    expect(await ones.scoreAll(histories)).toEqual(await plain.scoreAll(histories));
    plain.dispose();
    ones.dispose();
  });
});

describe('SASRec training options', () => {
  it('trains with every loss and norm without NaN or leaks', async () => {
    const before = tf.memory().numTensors;
    for (const loss of ['sampled-softmax', 'bce', 'gbce'] as const) {
      const logs: number[] = [];
      const m = await SASRec.fit(cycles, {
        ...FAST,
        loss,
        negatives: 8,
        norm: loss === 'bce' ? 'post' : 'pre',
        heads: 2,
        epochs: 2,
        onEpochEnd: (_, l) => void logs.push(l.loss),
      });
      expect(logs.every(Number.isFinite)).toBe(true);
      const [s] = await m.scoreAll([['t1', 't2']]);
      expect(s!.subarray(1).every(Number.isFinite)).toBe(true);
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('skipsAsNegatives pushes early-skipped targets below played ones', async () => {
    // After `x` comes `good` (played) or `bad` (skipped within seconds) equally often.
    const rng = createRng(4);
    const listens: Listen[] = [];
    for (let u = 0; u < 80; u++) {
      let ts = 0;
      for (let r = 0; r < 4; r++) {
        const bad = rng.next() < 0.5;
        listens.push({ userId: `u${u}`, trackId: `f${rng.int(5)}`, timestamp: ts++, skipLevel: 0 });
        listens.push({ userId: `u${u}`, trackId: 'x', timestamp: ts++, skipLevel: 0 });
        listens.push({
          userId: `u${u}`,
          trackId: bad ? 'bad' : 'good',
          timestamp: ts++,
          skipLevel: (bad ? 1 : 0) as SkipLevel,
        });
      }
    }
    const ds = Dataset.fromListens(listens);
    const m = await SASRec.fit(ds, { ...FAST, epochs: 6, skipsAsNegatives: true });
    const [bad, good] = await m.score(['f1', 'x'], ['bad', 'good']);
    expect(good!).toBeGreaterThan(bad!);
    m.dispose();
  });

  it('early stopping keeps the best validation epoch; maxSeconds stops after the first epoch', async () => {
    const logs: { epoch: number; val?: number }[] = [];
    const m = await SASRec.fit(cycles, {
      ...FAST,
      epochs: 8,
      patience: 1,
      validation: Array.from({ length: 20 }, (_, i) => ({
        userId: `v${i}`,
        history: [`t${i + 1}`, `t${((i + 1) % 20) + 1}`],
        target: `t${((i + 2) % 20) + 1}`,
      })),
      onEpochEnd: (epoch, l) =>
        void logs.push({ epoch, ...(l.valNdcg10 !== undefined ? { val: l.valNdcg10 } : {}) }),
    });
    expect(logs.every((l) => l.val !== undefined)).toBe(true);
    const result = m.trainResult!;
    expect(result.bestScore).toBe(Math.max(...logs.map((l) => l.val!)));
    if (result.stoppedBy === 'patience') expect(result.epochs).toBe(result.bestEpoch + 1);
    m.dispose();
    const quick = await SASRec.fit(cycles, { ...FAST, epochs: 50, maxSeconds: 1e-3 });
    expect(quick.trainResult).toMatchObject({ epochs: 1, stoppedBy: 'maxSeconds' });
    quick.dispose();
  });

  it('rejects bad options before any work, naming the option', async () => {
    const bad: [SASRecOptions, string][] = [
      [{ loss: 'hinge' as never }, 'loss'],
      [{ dim: 0 }, 'dim'],
      [{ dim: 10, heads: 3 }, 'heads'],
      [{ maxlen: 0 }, 'maxlen'],
      [{ dropout: 1 }, 'dropout'],
      [{ dropout: -0.1 }, 'dropout'],
      [{ norm: 'middle' as never }, 'norm'],
      [{ learningRate: 0 }, 'learningRate'],
      [{ batchSize: 1.5 }, 'batchSize'],
      [{ batchSize: 100_000, maxlen: 500 }, 'batchSize'],
      [{ gbceT: 2 }, 'gbceT'],
      [{ repeat: 'yes' as never }, 'repeat'],
      [{ playCounts: 1 as never }, 'playCounts'],
      [{ historyBias: 'on' as never }, 'historyBias'],
      [{ historyBias: true, loss: 'bce' }, 'loss'],
      [{ lastBias: null as never }, 'lastBias'],
      [{ tiedEmbeddings: 0 as never }, 'tiedEmbeddings'],
      [{ itemBias: 'yes' as never }, 'itemBias'],
      [{ itemInit: 'svd' as never }, 'itemInit'],
      [{ epohcs: 3 } as never, 'epohcs'],
      [{ workers: 1.5, sparseUpdates: true }, 'workers'],
    ];
    const before = tf.memory().numTensors;
    for (const [options, name] of bad) {
      const err = await SASRec.fit(cycles, options).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(name);
      expect((err as Error).message).toContain(`\`${name}\``);
    }
    expect(tf.memory().numTensors).toBe(before);
    await expect(SASRec.fit(Dataset.fromListens([]))).rejects.toThrow(InvalidDataError);
    await expect(SASRec.fit(Dataset.fromListens([]))).rejects.toThrow(/empty/);
  });
});

describe('SASRec loss auto and memory limits', () => {
  it("resolves loss 'auto' to full softmax on a small catalogue and records it in the saved config", async () => {
    expect(SASREC_DEFAULTS.loss).toBe('auto');
    const before = tf.memory().numTensors;
    const m = await SASRec.fit(cycles, { ...FAST, epochs: 1 });
    expect(m.config.loss).toBe('ce');
    expect(m.config.negatives).toBe(SASREC_DEFAULTS.negatives);
    const out = path.join(dir, 'auto-loss');
    await m.save(out);
    const again = (await loadModel(out)) as SASRec;
    expect(again.config.loss).toBe('ce');
    m.dispose();
    again.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it(`resolves loss 'auto' to sampled softmax with ${AUTO_SAMPLED_NEGATIVES} negatives above ${AUTO_CE_MAX_ITEMS} tracks`, async () => {
    // AUTO_CE_MAX_ITEMS + 1 tracks, each heard twice by one of 300 users.
    const n = AUTO_CE_MAX_ITEMS + 1;
    const listens: Listen[] = [];
    for (let i = 0; i < 2 * n; i++)
      listens.push({ userId: `u${i % 300}`, trackId: `t${i % n}`, timestamp: i * 1000 });
    const big = Dataset.fromListens(listens);
    expect(big.vocabulary.size).toBe(n);
    const opts: SASRecOptions = {
      ...FAST,
      dim: 8,
      maxlen: 8,
      maxWindowsPerUser: 1,
      epochs: 1,
      batchSize: 300,
    };
    const m = await SASRec.fit(big, opts);
    expect(m.config.loss).toBe('sampled-softmax');
    expect(m.config.negatives).toBe(AUTO_SAMPLED_NEGATIVES);
    expect(Number.isFinite(m.trainResult!.history[0]!.loss)).toBe(true);
    m.dispose();
    const explicit = await SASRec.fit(big, { ...opts, negatives: 64 });
    expect(explicit.config).toMatchObject({ loss: 'sampled-softmax', negatives: 64 });
    explicit.dispose();
  });

  it('refuses the co-occurrence start where its working arrays would not fit, naming itemInit, before any work', async () => {
    // 400,000 tracks at dim 128: three [V + 1, dim + 48] float64 blocks are 1.6 GiB, over the 1.5 GiB budget
    // (the item table itself fits the table budget).
    const listens: Listen[] = Array.from({ length: 400_000 }, (_, i) => ({
      userId: `u${i % 100}`,
      trackId: `t${i}`,
      timestamp: i,
    }));
    const ds = Dataset.fromListens(listens);
    const err = await SASRec.fit(ds, {
      ...FAST,
      dim: 128,
      loss: 'sampled-softmax',
      itemInit: 'cooccurrence',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('itemInit');
    expect((err as Error).message).toMatch(/'random' for 400000 tracks.*1\.6 GiB/);
  });

  it('refuses an item table too big for memory with an InvalidOptionError on dim, before any work', async () => {
    // 2,001 tracks x dim 60,000: ~3.6 GiB of item-table copies, far over the wasm budget.
    const listens: Listen[] = [];
    for (let i = 0; i < 4002; i++)
      listens.push({ userId: `u${i % 50}`, trackId: `t${i % 2001}`, timestamp: i });
    const before = tf.memory().numTensors;
    const err = await SASRec.fit(Dataset.fromListens(listens), {
      ...FAST,
      dim: 60_000,
      maxlen: 2,
      batchSize: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('dim');
    expect((err as Error).message).toMatch(/track table/);
    // Untied embeddings add a second table: dim 30,000 fits the budget tied (~1.8 GiB), not untied.
    const untied = await SASRec.fit(Dataset.fromListens(listens), {
      ...FAST,
      dim: 30_000,
      maxlen: 2,
      batchSize: 1,
      tiedEmbeddings: false,
    }).catch((e: unknown) => e);
    expect(untied).toBeInstanceOf(InvalidOptionError);
    expect((untied as InvalidOptionError).option).toBe('dim');
    expect((untied as Error).message).toMatch(/each of the 2 \[2002, 30000\] track tables/);
    // So do artists (the composed track table and the artist table).
    const withArtists = await SASRec.fit(Dataset.fromListens(listens), {
      ...FAST,
      dim: 30_000,
      maxlen: 2,
      batchSize: 1,
      artists: new Map(Array.from({ length: 2001 }, (_, i) => [`t${i}`, `a${i % 10}`])),
    }).catch((e: unknown) => e);
    expect(withArtists).toBeInstanceOf(InvalidOptionError);
    expect((withArtists as Error).message).toMatch(/and of the \[11, 30000\] artist table/);
    // Row-sparse updates hold about half as many copies (no dense gradient, Adam's moments in JS memory):
    // dim 60,000 passes the check with a sampled loss, dim 100,000 does not.
    expect((err as Error).message).toMatch(/about 8 copies/);
    const sparse = await SASRec.fit(Dataset.fromListens(listens), {
      ...FAST,
      dim: 100_000,
      maxlen: 2,
      batchSize: 1,
      loss: 'sampled-softmax',
      negatives: 4,
    }).catch((e: unknown) => e);
    expect(sparse).toBeInstanceOf(InvalidOptionError);
    expect((sparse as Error).message).toMatch(/about 4 copies/);
    expect((sparse as Error).message).toMatch(/Use dim <= 83802/); // twice the dense limit (41,901);
    // Tables, layers and activations each fit alone but not together: dim 5,000 with 2 blocks holds about
    // 4.5 GiB of [dim, dim] weights and Adam state (it used to fail mid-training, out of wasm memory).
    const wide = await SASRec.fit(Dataset.fromListens(listens), {
      ...FAST,
      dim: 5_000,
      blocks: 2,
      maxlen: 2,
      batchSize: 1,
    }).catch((e: unknown) => e);
    expect(wide).toBeInstanceOf(InvalidOptionError);
    expect((wide as InvalidOptionError).option).toBe('dim');
    expect((wide as Error).message).toMatch(/\[5000, 5000\] weights with their Adam state \(4\.5 GiB\)/);
    // A step's sampled logits are [batchSize * maxlen, negatives]: 4,000 negatives at 256 x 200 would need
    // 2.3 GiB (it used to end in wasm's "memory access out of bounds", breaking the backend for later fits).
    const many: Listen[] = [];
    for (let u = 0; u < 20; u++)
      for (let i = 0; i < 200; i++) many.push({ userId: `u${u}`, trackId: `t${u * 200 + i}`, timestamp: i });
    const logits = await SASRec.fit(Dataset.fromListens(many), {
      ...FAST,
      maxlen: 200,
      batchSize: 256,
      loss: 'sampled-softmax',
      negatives: 4_000,
    }).catch((e: unknown) => e);
    expect(logits).toBeInstanceOf(InvalidOptionError);
    expect((logits as InvalidOptionError).option).toBe('negatives');
    expect(tf.memory().numTensors).toBe(before);
  });

  it('draws at most as many negatives as there are tracks: a million on 20 tracks trains as 20 do', async () => {
    for (const loss of ['sampled-softmax', 'gbce'] as const) {
      const opts = { ...FAST, epochs: 1, loss };
      const huge = await SASRec.fit(cycles, { ...opts, negatives: 1_000_000 });
      const all = await SASRec.fit(cycles, { ...opts, negatives: cycles.vocabulary.size });
      expect(huge.config.negatives).toBe(1_000_000); // the option as given
      expect(huge.getWeights()).toEqual(all.getWeights());
      huge.dispose();
      all.dispose();
    }
  });
});

describe("validation: 'auto' on very short sequences", () => {
  it('holds out users with 2 listens when fewer than 20 have 3, so early stopping and the heads still run', async () => {
    // 200 users of 2 listens each (a leave-one-out split of 4-listen sessions): none has 3.
    const listens: Listen[] = [];
    for (let u = 0; u < 200; u++)
      for (let i = 0; i < 2; i++)
        listens.push({ userId: `u${u}`, trackId: `t${(u + i) % 30}`, timestamp: i });
    const model = await SASRec.fit(Dataset.fromListens(listens), {
      ...FAST,
      validation: 'auto',
      epochs: 2,
      minStepsPerEpoch: 4,
    });
    expect(model.trainResult!.bestScore).toBeDefined();
    expect(model.trainResult!.history.every((h) => h.valNdcg10 !== undefined)).toBe(true);
    expect(model.transitionHead).toBeDefined();
    model.dispose();
  });
});

describe('SASRec failures are named and leave nothing behind', () => {
  it('a diverging learning rate is an error naming learningRate, not a NaN model that wins early stopping', async () => {
    const before = tf.memory().numTensors;
    const err = await SASRec.fit(cycles, {
      ...FAST,
      epochs: 3,
      learningRate: 1e30,
      dropout: 0,
      warmupSteps: 0,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('learningRate');
    expect((err as Error).message).toMatch(/Training diverged: the loss of epoch \d+, step \d+ is NaN/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('early stopping scores a NaN target as a miss, and an empty validation array means none', async () => {
    const model = await SASRec.fit(cycles, { ...FAST, epochs: 2, validation: [] });
    expect(model.trainResult?.history.every((h) => h.valNdcg10 === undefined)).toBe(true);
    const cases = [{ userId: 'u', history: ['t1', 't2'], target: 't3' }];
    expect(await model.ndcgAt10(cases)).toBeGreaterThan(0);
    const weights = model.getWeights();
    model.setWeights({ ...weights, item_emb: weights.item_emb!.map(() => Number.NaN) });
    expect(await model.ndcgAt10(cases)).toBe(0); // was 1: NaN >= NaN is false for every track
    await expect(model.fitRepeat(undefined as never)).rejects.toThrow(InvalidOptionError);
    model.dispose();
  });

  it('after dispose, getWeights and setWeights refuse instead of reviving freed variables', async () => {
    const before = tf.memory().numTensors;
    const model = await SASRec.fit(cycles, { ...FAST, epochs: 1 });
    const weights = model.getWeights();
    expect(() => model.setWeights({ ...weights, pos_emb: new Float32Array(3) })).toThrow(
      /pos_emb has 3 values/,
    );
    model.dispose();
    expect(() => model.setWeights(weights)).toThrow(/disposed/);
    expect(() => model.getWeights()).toThrow(/disposed/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a damaged config is an InvalidModelFileError naming the array, with no tensors left behind', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const { InvalidModelFileError } = await import('../src/errors.js');
    const model = await SASRec.fit(cycles, { ...FAST, epochs: 1, transitionMix: false });
    // A transition term set by hand without counts is not saved (it could not score, nor load back).
    model.transitionHead = { weight: 1, smoothing: 1 };
    const target = path.join(dir, 'damaged');
    await model.save(target);
    model.dispose();
    const before = tf.memory().numTensors;
    const again = await loadModel(target);
    again.dispose();
    const manifest = path.join(target, 'model.json');
    const json = JSON.parse(await readFile(manifest, 'utf8'));
    json.config.dim = 32;
    await writeFile(manifest, JSON.stringify(resigned(json)));
    const err = await loadModel(target).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidModelFileError);
    expect((err as Error).message).toMatch(/array item_emb has \d+ values, but the config \(dim 32/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
