// ServingPool: the same answers as the model it serves, split across worker threads.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import type { Dataset } from '../src/data/dataset.js';
import { InvalidModelFileError, InvalidOptionError } from '../src/errors.js';
import { evaluate } from '../src/eval/metrics.js';
import { ItemTransition } from '../src/models/baselines.js';
import { SASRec } from '../src/models/sasrec.js';
import { MIN_HISTORIES_PER_THREAD, ServingPool } from '../src/models/serving.js';
import { createRng } from '../src/util/random.js';
import { runRecommenderContract, syntheticTrain } from './helpers/contract.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm', verbose: false });
});

const TINY = {
  dim: 16,
  blocks: 1,
  maxlen: 12,
  epochs: 2,
  batchSize: 32,
  seed: 7,
  progress: false,
  workers: 1,
} as const;

// The whole contract through a pool of two threads (its histories are few, so the pool answers on this
// thread; the tests below split).
runRecommenderContract('ServingPool over SASRec', async () => {
  const train = syntheticTrain(4);
  const model = await SASRec.fit(train, TINY);
  return { model: await ServingPool.start(model, { workers: 2 }), train };
});

/** `n` histories of known tracks, of lengths 1 to 20, plus an unknown id in every fifth. */
function histories(train: Dataset, n: number, seed: number): string[][] {
  const rng = createRng(seed);
  const ids = train.vocabulary.ids;
  return Array.from({ length: n }, (_, i) => {
    const h = Array.from({ length: 1 + rng.int(20) }, () => ids[1 + rng.int(ids.length - 1)]!);
    if (i % 5 === 0) h.splice(rng.int(h.length), 0, `unknown-${i}`);
    return h;
  });
}

describe('ServingPool', () => {
  let train: Dataset;
  let model: SASRec;
  let pool: ServingPool;
  let batch: string[][];

  beforeAll(async () => {
    train = syntheticTrain(5);
    model = await SASRec.fit(train, TINY);
    // The pool's own copy of the model, so that `model` stays ours to compare with.
    pool = await ServingPool.start(await SASRec.fit(train, TINY), { workers: 2 });
    batch = [...histories(train, 40, 1), []];
  }, 60_000);

  afterAll(async () => {
    await pool?.close();
    model?.dispose();
  });

  it('splits a batch across its threads', () => {
    expect(pool.size).toBe(2);
    expect(batch.length).toBeGreaterThanOrEqual(2 * MIN_HISTORIES_PER_THREAD);
  });

  it('scoreAll gives the model’s rows, in order', async () => {
    const mine = await model.scoreAll(batch);
    const pooled = await pool.scoreAll(batch);
    expect(pooled).toHaveLength(batch.length);
    for (const [i, row] of pooled.entries()) {
      expect(row).toHaveLength(model.vocabulary.size + 1);
      // Another split pads histories to other lengths: the same scores up to float rounding.
      let diff = 0;
      for (let j = 1; j < row.length; j++) diff = Math.max(diff, Math.abs(row[j]! - mine[i]![j]!));
      expect(diff, `history ${i}`).toBeLessThan(1e-4);
    }
  });

  it('recommendBatch gives the model’s recommendations, in order, with its options', async () => {
    for (const options of [
      { k: 7 },
      { k: 5, excludeHistory: false },
      { k: 4, exclude: new Set(['t1', 't2']) },
    ]) {
      const mine = await model.recommendBatch(batch, options);
      const pooled = await pool.recommendBatch(batch, options);
      expect(pooled).toHaveLength(batch.length);
      for (const [i, recs] of pooled.entries()) {
        expect(recs.map((r) => r.score)).toEqual(mine[i]!.map((r) => expect.closeTo(r.score, 4)));
        if (options.exclude) for (const r of recs) expect(['t1', 't2']).not.toContain(r.trackId);
      }
    }
  });

  it('counts the unknown ids its workers skipped', async () => {
    const before = pool.unknownSkipped;
    await pool.recommendBatch(batch, { k: 3 });
    expect(pool.unknownSkipped - before).toBe(
      batch.filter((h) => h.some((t) => t.startsWith('unknown'))).length,
    );
  });

  it('serves concurrent calls one after another, each with its own answer', async () => {
    const a = batch.slice(0, 20);
    const b = batch.slice(20);
    const [ra, rb] = await Promise.all([pool.recommendBatch(a, { k: 3 }), pool.recommendBatch(b, { k: 3 })]);
    expect(ra.map((r) => r.length)).toEqual(a.map(() => 3));
    expect(rb).toHaveLength(b.length);
    expect(rb[rb.length - 1]).toEqual(await model.recommend([], { k: 3 })); // the empty history: cold start
  });

  it('checks options before any thread starts, with the model’s errors', async () => {
    await expect(pool.recommendBatch(batch, { k: 0 })).rejects.toThrow(/`k`/);
    await expect(pool.recommendBatch(batch, { k: 3, bogus: 1 } as never)).rejects.toThrow(/bogus/);
    await expect(pool.scoreAll([['t1'], 't2' as never])).rejects.toThrow(InvalidOptionError);
    // The pool still answers afterwards.
    expect(await pool.recommendBatch(batch, { k: 2 })).toHaveLength(batch.length);
  });

  it('evaluate gives the same metrics through the pool', async () => {
    const cases = batch
      .filter((h) => h.length > 2)
      .map((h, i) => ({ userId: `u${i}`, history: h.slice(0, -1), target: h.at(-1)! }));
    const direct = await evaluate(model, cases, { k: [10] });
    const pooled = await evaluate(pool, cases, { k: [10] });
    expect(pooled.hr[10]).toBeCloseTo(direct.hr[10]!, 6);
    expect(pooled.ndcg[10]).toBeCloseTo(direct.ndcg[10]!, 4);
  });

  it('leaks no tensors on this thread', async () => {
    await pool.recommendBatch(batch, { k: 5 });
    const before = tf.memory().numTensors;
    await pool.recommendBatch(batch, { k: 5 });
    await pool.scoreAll(batch);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('with workers: 1 starts no worker and answers like the model', async () => {
    const itemTransition = await ItemTransition.fit(train);
    const expected = await itemTransition.recommendBatch(batch, { k: 5 });
    const single = await ServingPool.start(itemTransition, { workers: 1 });
    expect(single.size).toBe(1);
    expect(await single.recommendBatch(batch, { k: 5 })).toEqual(expected);
    await single.close();
  });

  it('serves a baseline on two threads with exactly its answers', async () => {
    const itemTransition = await ItemTransition.fit(train);
    const expected = await itemTransition.recommendBatch(batch, { k: 5 });
    const rows = await itemTransition.scoreAll(batch);
    const two = await ServingPool.start(itemTransition, { workers: 2 });
    try {
      expect(await two.recommendBatch(batch, { k: 5 })).toEqual(expected);
      expect(await two.scoreAll(batch)).toEqual(rows);
    } finally {
      await two.close();
    }
  });

  it('load reads a saved model on every thread, straight from its folder', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'encore-pool-'));
    try {
      await model.save(path.join(dir, 'm'));
      const loaded = await ServingPool.load(path.join(dir, 'm'), { workers: 2 });
      try {
        expect(loaded.size).toBe(2);
        expect(loaded.type).toBe('sasrec');
        const mine = await model.recommendBatch(batch, { k: 5 });
        const pooled = await loaded.recommendBatch(batch, { k: 5 });
        for (const [i, recs] of pooled.entries())
          expect(recs.map((r) => r.score)).toEqual(mine[i]!.map((r) => expect.closeTo(r.score, 4)));
      } finally {
        await loaded.close();
      }
      await expect(ServingPool.load(path.join(dir, 'nothing-here'))).rejects.toThrow(InvalidModelFileError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad options, naming them, and refuses calls once closed', async () => {
    const itemTransition = await ItemTransition.fit(train);
    await expect(ServingPool.start(itemTransition, { workers: 0 })).rejects.toThrow(/`workers`/);
    await expect(ServingPool.start(itemTransition, { workers: 1.5 })).rejects.toThrow(/`workers`/);
    await expect(ServingPool.start(itemTransition, { register: 'x' as never })).rejects.toThrow(/`register`/);
    await expect(ServingPool.start(itemTransition, { thread: 2 } as never)).rejects.toThrow(/thread/);
    await expect(ServingPool.start({} as never)).rejects.toThrow(/`model`/);
    await expect(
      ServingPool.start(itemTransition, { workers: 2, register: ['/nowhere/no-such-module.js'] }),
    ).rejects.toThrow(/Serving worker failed/);
    const closed = await ServingPool.start(itemTransition, { workers: 1 });
    await closed.close();
    await closed.close(); // twice is fine
    await expect(closed.recommendBatch(batch, { k: 2 })).rejects.toThrow(/closed/);
  });
});
