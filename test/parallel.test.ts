// Data-parallel training: exact batch splitting, skip-ahead dropout streams, workers = 1 vs 2 equivalence.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { InvalidOptionError } from '../src/errors.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import { buildWindows, makeBatch, NegativeSampler, type SeqBatch } from '../src/train/batches.js';
import { defaultWorkers, resolveWorkers, splitSeqBatch, startGradientPool } from '../src/train/parallel.js';
import { disposeGradient } from '../src/train/trainer.js';
import { createRng } from '../src/util/random.js';

const TINY: SASRecOptions = {
  dim: 8,
  blocks: 1,
  maxlen: 10,
  batchSize: 16,
  dropout: 0.2,
  learningRate: 0.01,
  validation: 'none',
  progress: false,
  seed: 7,
};

function listens(users: number, tracks: number, seed: number): Listen[] {
  const rng = createRng(seed);
  const out: Listen[] = [];
  for (let u = 0; u < users; u++) {
    const n = 3 + rng.int(14);
    let t = rng.int(tracks);
    for (let i = 0; i < n; i++) {
      t = rng.next() < 0.7 ? (t + 1) % tracks : rng.int(tracks);
      out.push({ userId: `u${u}`, trackId: `t${t}`, timestamp: i * 60_000 });
    }
  }
  return out;
}

let data: Dataset;

beforeAll(async () => {
  await initBackend({ backend: 'wasm', verbose: false });
  data = Dataset.fromListens(listens(60, 30, 3));
});

describe('splitSeqBatch', () => {
  it('slices sequences, rows and per-row negatives consistently, weighted by target rows', () => {
    const windows = buildWindows(data.sequences, { maxlen: 10, maxWindowsPerUser: 2 }).slice(0, 13);
    const sampler = new NegativeSampler(data.itemCounts);
    const batch = makeBatch(windows, { kind: 'per-row', k: 2 }, sampler, createRng(1));
    const slices = splitSeqBatch(batch, 3, 'per-row');
    expect(slices.map((s) => s.batch.size)).toEqual([4, 4, 5]);
    expect(slices.reduce((a, s) => a + s.weight, 0)).toBeCloseTo(1, 12);
    const L = batch.length;
    let m = 0;
    for (const { batch: s, weight } of slices) {
      const M = s.rows.length;
      expect(weight).toBeCloseTo(M / batch.rows.length, 12);
      expect(s.length).toBe(L);
      expect(s.negatives.length).toBe(2 * M);
      for (let r = 0; r < M; r++, m++) {
        // Same input id at the row's position, same target, same negatives as in the full batch.
        expect(s.inputs[s.rows[r]!]).toBe(batch.inputs[batch.rows[m]!]);
        expect(s.rows[r]! + s.part!.start * L).toBe(batch.rows[m]);
        expect(s.targets[r]).toBe(batch.targets[m]);
        expect([...s.negatives.subarray(2 * r, 2 * r + 2)]).toEqual([
          ...batch.negatives.subarray(2 * m, 2 * m + 2),
        ]);
      }
    }
    expect(m).toBe(batch.rows.length);
    const shared = makeBatch(
      windows,
      { kind: 'shared', k: 5, distribution: 'uniform' },
      sampler,
      createRng(2),
    );
    for (const { batch: s } of splitSeqBatch(shared, 2, 'shared'))
      expect([...s.negatives]).toEqual([...shared.negatives]);
  });

  it('distinct numeric seeds give distinct streams (1.5 is not 1; 2 ** 32 is not 0)', () => {
    const first = (seed: number | string) => createRng(seed).next();
    expect(first(1.5)).not.toBe(first(1));
    expect(first(2 ** 32)).not.toBe(first(0));
    expect(first(-1)).toBe(first(2 ** 32 - 1)); // the same 32-bit state
    expect(first(7)).toBe(first(7));
    expect(first(1.5)).toBe(first(1.5));
  });

  it('Rng.skip(n) lands where n draws would', () => {
    const a = createRng(11);
    const b = createRng(11);
    for (let i = 0; i < 1000; i++) a.next();
    b.skip(1000);
    expect(b.next()).toBe(a.next());
  });
});

describe('data-parallel gradients', () => {
  it('two threads give the full-batch loss and gradients', async () => {
    const model = await SASRec.fit(data, { ...TINY, epochs: 1, workers: 1 });
    const windows = buildWindows(data.sequences, { maxlen: 10, maxWindowsPerUser: 1 }).slice(0, 16);
    const batch = makeBatch(windows, { kind: 'none' }, new NegativeSampler(data.itemCounts), createRng(5));
    const before = tf.memory().numTensors;
    const pool = await startGradientPool(model, {
      workers: 2,
      replica: model.replicaSpec(),
      split: (b, n) => splitSeqBatch(b, n, 'none'),
    });
    expect(pool?.size).toBe(2);
    try {
      const full = model.computeGradients(batch);
      const par = await pool!.computeGradients(batch);
      expect(Math.abs(par.loss - full.loss) / full.loss).toBeLessThan(1e-5);
      for (const [name, g] of Object.entries(full.grads)) {
        const a = (g as tf.Tensor).dataSync(); // full softmax: dense gradients
        const b = par.grads[name]!.dataSync();
        let maxDiff = 0;
        let maxAbs = 0;
        for (let i = 0; i < a.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
          maxAbs = Math.max(maxAbs, Math.abs(a[i]!));
        }
        expect(maxDiff, name).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs));
      }
      for (const g of [...Object.values(full.grads), ...Object.values(par.grads)]) disposeGradient(g);
    } finally {
      await pool!.close();
    }
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('fit with workers 2 follows the single-thread loss curve (dropout, artists and the output bias on), without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    // Artist embeddings: the replicas must get the track -> artist map too.
    const artists = new Map(data.vocabulary.ids.slice(1).map((t) => [t, `a${Number(t.slice(1)) % 5}`]));
    const curve = async (workers: number) => {
      const losses: number[] = [];
      const model = await SASRec.fit(data, {
        ...TINY,
        epochs: 3,
        workers,
        artists,
        itemBias: true,
        onEpochEnd: (_, l) => void losses.push(l.loss),
      });
      const [scores] = await model.scoreAll([['t1', 't2', 't3']]);
      model.dispose();
      return { losses, scores: scores! };
    };
    const one = await curve(1);
    const two = await curve(2);
    expect(one.losses.length).toBe(3);
    for (let e = 0; e < 3; e++)
      expect(Math.abs(two.losses[e]! - one.losses[e]!) / one.losses[e]!).toBeLessThan(1e-4);
    expect(one.losses[2]).toBeLessThan(one.losses[0]!);
    for (let j = 1; j < one.scores.length; j++) expect(two.scores[j]).toBeCloseTo(one.scores[j]!, 2);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('checks the workers option and skips the pool for one thread', async () => {
    await expect(SASRec.fit(data, { ...TINY, workers: 0 })).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(SASRec.fit(data, { ...TINY, workers: 1.5 })).rejects.toThrow(/workers/);
    expect(() => resolveWorkers(-1)).toThrow(InvalidOptionError);
    expect(resolveWorkers(3)).toBe(3);
    expect(resolveWorkers(undefined, { macsPerStep: 1e9, steps: 1000 })).toBe(defaultWorkers());
    expect(resolveWorkers(undefined, { macsPerStep: 1e5, steps: 1000 })).toBe(1); // tiny model: not worth it
    expect(resolveWorkers(undefined, { macsPerStep: 1e9, steps: 3 })).toBe(1); // too few steps
    // Copying the weights to every worker each step: 400,000 tracks with a sampled loss lose, full softmax gains.
    expect(resolveWorkers(undefined, { macsPerStep: 3.1e8, steps: 1000, weights: 2.57e7 })).toBe(1);
    expect(resolveWorkers(undefined, { macsPerStep: 6.2e10, steps: 1000, weights: 2.57e7 })).toBe(
      defaultWorkers(),
    );
    const model = await SASRec.fit(data, { ...TINY, epochs: 1, workers: 1 });
    const pool = await startGradientPool(model, {
      workers: 1,
      replica: model.replicaSpec(),
      split: (b) => [{ batch: b, weight: 1 }],
    });
    expect(pool).toBeUndefined();
    model.dispose();
  });

  describe('a failed step', () => {
    const batchOf = (from: number, seed: number) => {
      const windows = buildWindows(data.sequences, { maxlen: 10, maxWindowsPerUser: 1 }).slice(
        from,
        from + 16,
      );
      return makeBatch(windows, { kind: 'none' }, new NegativeSampler(data.itemCounts), createRng(seed));
    };
    /** Runs `body` on a three-thread pool, then closes it and checks no rejection went unhandled. */
    const withPool = async (
      body: (
        model: SASRec,
        pool: NonNullable<Awaited<ReturnType<typeof startGradientPool<SeqBatch>>>>,
      ) => Promise<void>,
      split: (b: SeqBatch, n: number) => { batch: SeqBatch; weight: number }[] = (b, n) =>
        splitSeqBatch(b, n, 'none'),
    ) => {
      const model = await SASRec.fit(data, { ...TINY, epochs: 1, workers: 1 });
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const before = tf.memory().numTensors;
      const pool = await startGradientPool(model, { workers: 3, replica: model.replicaSpec(), split });
      try {
        await body(model, pool!);
      } finally {
        await pool!.close();
        // close() ends the workers: a request promise nobody awaits would reject unhandled about now.
        await new Promise((r) => setTimeout(r, 200));
        process.off('unhandledRejection', onUnhandled);
      }
      expect(unhandled).toEqual([]);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    };

    it('on this thread rejects with its own error, with no rejection unhandled when the pool closes', async () => {
      await withPool(async (model, pool) => {
        // This thread's slice fails at once, while both workers still compute theirs.
        vi.spyOn(model, 'computeGradients').mockImplementationOnce(() => {
          throw new Error('local slice failed');
        });
        await expect(pool.computeGradients(batchOf(0, 5))).rejects.toThrow('local slice failed');
      });
    });

    it('leaves every worker idle, so the next step gets its own gradients', async () => {
      let breakWorker = false;
      await withPool(
        async (model, pool) => {
          const spy = vi.spyOn(model, 'computeGradients').mockImplementationOnce(() => {
            throw new Error('local slice failed');
          });
          await expect(pool.computeGradients(batchOf(0, 5))).rejects.toThrow('local slice failed');
          spy.mockRestore();
          // Another batch: a worker still on the failed step would answer with that step's gradients.
          const next = batchOf(16, 6);
          const par = await pool.computeGradients(next);
          const full = model.computeGradients(next);
          expect(Math.abs(par.loss - full.loss) / full.loss).toBeLessThan(1e-5);
          for (const g of [...Object.values(par.grads), ...Object.values(full.grads)]) disposeGradient(g);
          // The first worker's slice fails while the other worker still computes.
          breakWorker = true;
          await expect(pool.computeGradients(batchOf(0, 7))).rejects.toThrow(/Training worker failed/);
        },
        (b, n) =>
          splitSeqBatch(b, n, 'none').map((s, i) =>
            breakWorker && i === 1 ? { ...s, batch: { ...s.batch, inputs: new Int32Array(1) } } : s,
          ),
      );
    });
  });

  it('fails cleanly when a worker cannot build its replica', async () => {
    const model = await SASRec.fit(data, { ...TINY, epochs: 1, workers: 1 });
    const spec = { ...model.replicaSpec(), exportName: 'noSuchFactory' };
    await expect(
      startGradientPool(model, { workers: 2, replica: spec, split: (b, n) => splitSeqBatch(b, n, 'none') }),
    ).rejects.toThrow(/noSuchFactory/);
    model.dispose();
  });
});
