// Row-sparse training (sparseUpdates): batch re-indexing, the row-sparse step and row-sparse Adam against their dense counterparts, option checks.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { InvalidOptionError } from '../src/errors.js';
import {
  createSASRecReplica,
  SASRec,
  type SASRecOptions,
  type SASRecReplicaInit,
} from '../src/models/sasrec.js';
import {
  batchRows,
  buildWindows,
  emptyHistory,
  makeBatch,
  NegativeSampler,
  type SeqBatch,
} from '../src/train/batches.js';
import { defaultWorkers } from '../src/train/parallel.js';
import {
  createOptimizer,
  disposeGradient,
  type Gradient,
  isRowGradient,
  type TrainableModel,
} from '../src/train/trainer.js';
import { createRng } from '../src/util/random.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', verbose: false });
});

/** 40 listeners over 30 tracks by 6 artists. */
function world(): { ds: Dataset; artists: Map<string, string> } {
  const rng = createRng(8);
  const listens: Listen[] = [];
  for (let u = 0; u < 40; u++) {
    const n = 4 + rng.int(12);
    for (let i = 0; i < n; i++) listens.push({ userId: `u${u}`, trackId: `t${rng.int(30)}`, timestamp: i });
  }
  const artists = new Map<string, string>();
  for (let t = 0; t < 30; t++) artists.set(`t${t}`, `a${t % 6}`);
  return { ds: Dataset.fromListens(listens), artists };
}

const SMALL: SASRecOptions = {
  dim: 8,
  blocks: 1,
  maxlen: 6,
  epochs: 1,
  validation: 'none',
  progress: false,
  workers: 1,
  loss: 'sampled-softmax',
  negatives: 12,
};

describe('batchRows', () => {
  it('re-indexes every id into its distinct ascending rows, keeping padding at 0', () => {
    const ids = fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 40 });
    fc.assert(
      fc.property(ids, ids, ids, (inputs, targets, negatives) => {
        const batch: SeqBatch = {
          size: 1,
          length: inputs.length,
          inputs: Int32Array.from(inputs),
          plays: new Int32Array(inputs.length),
          rows: new Int32Array(0),
          targets: Int32Array.from(targets),
          weights: new Float32Array(targets.length),
          unlikely: new Float32Array(targets.length),
          negatives: Int32Array.from(negatives),
          seed: 1,
          history: emptyHistory(),
        };
        const { ids: rows, batch: local } = batchRows(batch);
        expect(rows[0]).toBe(0);
        for (let i = 1; i < rows.length; i++) expect(rows[i]).toBeGreaterThan(rows[i - 1]!);
        expect(rows.length).toBe(new Set([0, ...inputs, ...targets, ...negatives]).size);
        for (const key of ['inputs', 'targets', 'negatives'] as const)
          for (let i = 0; i < batch[key].length; i++) expect(rows[local[key][i]!]).toBe(batch[key][i]);
      }),
    );
  });
});

describe('row-sparse SASRec step', () => {
  it('gives the dense step loss, its gradient on the touched rows, and zero gradient elsewhere', async () => {
    const { ds, artists } = world();
    // Untied embeddings, the output bias and artists: all four tables go row-sparse; dropout on: the masks
    // must match.
    const model = await SASRec.fit(ds, {
      ...SMALL,
      artists,
      tiedEmbeddings: false,
      itemBias: true,
      dropout: 0.2,
      sparseUpdates: false,
    });
    expect(model.config.sparseUpdates).toBe(false);
    const init = model.replicaSpec().init as SASRecReplicaInit;
    const sparse = createSASRecReplica({ ...init, config: { ...init.config, sparseUpdates: true } });
    sparse.setWeights(model.getWeights());
    const windows = buildWindows(ds.sequences, { maxlen: 6, maxWindowsPerUser: 2 }).slice(0, 8);
    const batch = makeBatch(
      windows,
      { kind: 'shared', k: 12, distribution: 'popularity' },
      new NegativeSampler(ds.itemCounts),
      createRng(4),
    );
    const before = tf.memory().numTensors;
    const dense = model.computeGradients(batch);
    const rows = sparse.computeGradients(batch);
    expect(rows.loss).toBeCloseTo(dense.loss, 5);
    expect(Object.keys(rows.grads).sort()).toEqual(Object.keys(dense.grads).sort());
    for (const [name, g] of Object.entries(rows.grads)) {
      const want = (dense.grads[name] as tf.Tensor).dataSync();
      const d = model.variables[name]!.shape[1] ?? 1;
      const got = new Float32Array(want.length);
      if (isRowGradient(g)) {
        expect(['item_emb', 'out_emb', 'out_bias', 'artist_emb']).toContain(name);
        const values = g.values.dataSync();
        g.rows.forEach((r, i) => {
          got.set(values.subarray(i * d, (i + 1) * d), r * d);
        });
      } else {
        expect(['item_emb', 'out_emb', 'out_bias', 'artist_emb']).not.toContain(name);
        got.set(g.dataSync());
      }
      let worst = 0;
      let scale = 1e-6;
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        scale = Math.max(scale, Math.abs(want[i]!));
      }
      expect(worst / scale, name).toBeLessThan(1e-4);
    }
    for (const g of [...Object.values(dense.grads), ...Object.values(rows.grads)]) disposeGradient(g);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    sparse.dispose();
  });
});

describe('row-sparse Adam', () => {
  it('gives dense Adam weights once synced, moving only the touched rows until then', () => {
    const before = tf.memory().numTensors;
    const rng = createRng(5);
    const [n, d] = [8, 3];
    const init = Float32Array.from({ length: n * d }, () => rng.normal());
    const make = () => tf.tidy(() => tf.variable(tf.tensor(init, [n, d])));
    const sparse = make();
    const dense = make();
    const model = (w: tf.Variable): TrainableModel<null> => ({
      variables: { w },
      computeGradients: () => ({ loss: 0, grads: {} }),
      getWeights: () => ({}),
      setWeights: () => {},
    });
    // Warmup and a decay: the catch-up moves must use each skipped step's own rate.
    const options = { learningRate: 0.01, warmupSteps: 4 };
    const sparseOpt = createOptimizer(model(sparse), options);
    const denseOpt = createOptimizer(model(dense), options);
    const row = (x: ArrayLike<number>, r: number) => Array.from(x).slice(r * d, r * d + d);
    for (let step = 1; step <= 40; step++) {
      // Rows 0-1 every step, rows 2-5 now and then, rows 6-7 never.
      const rows = [0, 1, ...[2, 3, 4, 5].filter((r) => rng.next() < (r - 1) / 10)];
      const values = Float32Array.from({ length: rows.length * d }, () => rng.normal());
      const full = new Float32Array(n * d);
      rows.forEach((r, i) => {
        full.set(values.subarray(i * d, i * d + d), r * d);
      });
      const untouched = [2, 3, 4, 5].filter((r) => !rows.includes(r));
      const was = untouched.map((r) => row(sparse.dataSync(), r));
      const g: Gradient = { rows: Int32Array.from(rows), values: tf.tensor2d(values, [rows.length, d]) };
      sparseOpt.apply({ w: g });
      denseOpt.apply({ w: tf.tensor2d(full, [n, d]) });
      untouched.forEach((r, i) => {
        expect(row(sparse.dataSync(), r)).toEqual(was[i]); // not moved yet
      });
      if (step === 20) {
        sparseOpt.scaleLearningRate(0.5);
        denseOpt.scaleLearningRate(0.5);
      }
      if (step % 10 === 0) {
        sparseOpt.sync();
        const a = sparse.dataSync();
        const b = dense.dataSync();
        for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), `step ${step}`).toBeLessThan(1e-5);
      }
    }
    for (const r of [6, 7]) expect(row(sparse.dataSync(), r)).toEqual(row(init, r));
    expect(row(sparse.dataSync(), 3)).not.toEqual(row(init, 3));
    sparseOpt.dispose();
    denseOpt.dispose();
    tf.dispose([sparse, dense]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sparseUpdates option', () => {
  it("'auto' is on for sampled losses on one thread, off for full softmax and for several workers", async () => {
    const { ds } = world();
    const before = tf.memory().numTensors;
    for (const [options, want] of [
      [{ loss: 'sampled-softmax' }, true],
      [{ loss: 'gbce' }, true],
      [{ loss: 'ce' }, false],
      [{ loss: 'sampled-softmax', workers: 2 }, false],
      // ema and weightDecay touch every row every step: dense, so the model stays dense Adam's
      [{ loss: 'sampled-softmax', ema: 0.99 }, false],
      [{ loss: 'gbce', weightDecay: 0.1 }, false],
    ] as [SASRecOptions, boolean][]) {
      const m = await SASRec.fit(ds, { ...SMALL, ...options });
      expect(m.config.sparseUpdates, JSON.stringify(options)).toBe(want);
      m.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it("'auto' keeps dense updates where the default spreads them over workers (a small catalogue)", async () => {
    const rng = createRng(21);
    const listens: Listen[] = [];
    for (let u = 0; u < 300; u++)
      for (let i = 0; i < 20; i++)
        listens.push({ userId: `u${u}`, trackId: `t${rng.int(100)}`, timestamp: i });
    const ds = Dataset.fromListens(listens);
    // Full-size model (dim 64, maxlen 50): enough work a step for two threads; one step is enough to see.
    const options: SASRecOptions = {
      loss: 'bce',
      validation: 'none',
      epochs: 1,
      maxSeconds: 1e-3,
      progress: false,
    };
    const auto = await SASRec.fit(ds, options);
    expect(auto.config.sparseUpdates).toBe(defaultWorkers() === 1);
    auto.dispose();
    const one = await SASRec.fit(ds, { ...options, workers: 1 });
    expect(one.config.sparseUpdates).toBe(true);
    one.dispose();
  });

  it('trains the same model twice from the same seed, without leaking tensors', async () => {
    const { ds, artists } = world();
    const before = tf.memory().numTensors;
    const train = () => SASRec.fit(ds, { ...SMALL, artists, epochs: 2, seed: 9 });
    const a = await train();
    const b = await train();
    expect(a.config.sparseUpdates).toBe(true);
    const wa = a.getWeights();
    const wb = b.getWeights();
    for (const name of Object.keys(wa)) expect(Array.from(wb[name]!), name).toEqual(Array.from(wa[name]!));
    const recs = await a.recommend(['t1', 't2'], { k: 3 });
    expect(recs).toHaveLength(3);
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('trains the model dense updates train, up to float rounding', async () => {
    const { ds, artists } = world();
    const options: SASRecOptions = { ...SMALL, artists, epochs: 2, seed: 3, warmupSteps: 2 };
    const sparse = await SASRec.fit(ds, { ...options, sparseUpdates: true });
    const dense = await SASRec.fit(ds, { ...options, sparseUpdates: false });
    const ws = sparse.getWeights();
    const wd = dense.getWeights();
    for (const name of ['item_emb', 'artist_emb', 'b0.q.w']) {
      const [a, b] = [ws[name]!, wd[name]!];
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
      expect(worst, name).toBeLessThan(1e-4);
    }
    // Not the trivial case: the second epoch moved the tables far more than the gap between the two.
    const once = await SASRec.fit(ds, { ...options, epochs: 1, sparseUpdates: false });
    const w1 = once.getWeights().item_emb!;
    let moved = 0;
    for (let i = 0; i < w1.length; i++) moved = Math.max(moved, Math.abs(w1[i]! - wd.item_emb![i]!));
    expect(moved).toBeGreaterThan(1e-3);
    once.dispose();
    sparse.dispose();
    dense.dispose();
  });

  it('takes each gradient at the rows as dense Adam has them, in a catalogue where rows sit out steps', async () => {
    // 2,000 tracks and batches of 16 windows: most rows miss most steps. A row's gradient must be taken after
    // the moves of the steps it sat out (it was taken before them until 2026-11-28: epoch losses drifted
    // 1e-3 apart by the second epoch).
    const rng = createRng(11);
    const listens: Listen[] = [];
    for (let u = 0; u < 100; u++) {
      const n = 20 + rng.int(40);
      let cur = rng.int(2000);
      for (let i = 0; i < n; i++) {
        listens.push({ userId: `u${u}`, trackId: `t${cur}`, timestamp: i });
        cur = rng.next() < 0.7 ? (cur + 1) % 2000 : rng.int(2000);
      }
    }
    const ds = Dataset.fromListens(listens);
    const options: SASRecOptions = {
      dim: 16,
      blocks: 1,
      maxlen: 20,
      epochs: 2,
      progress: false,
      validation: 'none',
      loss: 'sampled-softmax',
      negatives: 64,
      dropout: 0,
      transitionMix: false,
      repeat: false,
      batchSize: 16,
      warmupSteps: 10,
      workers: 1,
    };
    const dense = await SASRec.fit(ds, { ...options, sparseUpdates: false });
    const sparse = await SASRec.fit(ds, { ...options, sparseUpdates: true });
    const losses = (m: SASRec) => m.trainResult!.history.map((h) => h.loss);
    const [a, b] = [losses(dense), losses(sparse)];
    a.forEach((loss, e) => {
      expect(Math.abs(b[e]! - loss), `epoch ${e + 1}`).toBeLessThan(1e-4);
    });
    dense.dispose();
    sparse.dispose();
  });

  it('rejects a bad value, full softmax, several workers, ema and weight decay', async () => {
    const { ds } = world();
    for (const options of [
      { sparseUpdates: 'yes' },
      { sparseUpdates: true, loss: 'ce' },
      { sparseUpdates: true, loss: 'auto' }, // 'auto' resolves to 'ce' for 30 tracks
      { sparseUpdates: true, workers: 2 },
      { sparseUpdates: true, loss: 'sampled-softmax', ema: 0.99 },
      { sparseUpdates: true, loss: 'sampled-softmax', weightDecay: 0.1 },
    ] as unknown as SASRecOptions[]) {
      const err = await SASRec.fit(ds, { ...SMALL, ...options }).catch((e: unknown) => e);
      expect(err, JSON.stringify(options)).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe('sparseUpdates');
    }
  });
});
