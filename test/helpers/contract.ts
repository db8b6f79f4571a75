// The shared Recommender contract: one vitest suite every model must pass, plus a small synthetic data set.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../src/backend.js';
import { Dataset } from '../../src/data/dataset.js';
import type { Listen } from '../../src/data/types.js';
import { InvalidOptionError } from '../../src/errors.js';
import { Popularity } from '../../src/models/baselines.js';
import { loadModel } from '../../src/models/persist.js';
import type { Recommender } from '../../src/models/recommender.js';
import { createRng } from '../../src/util/random.js';

/** What a contract factory returns: a fitted model and the data it was fitted on. */
export interface ContractSubject {
  model: Recommender;
  train: Dataset;
}

/** Options of {@link runRecommenderContract}. */
export interface ContractOptions {
  /**
   * What an empty history must return: `'popularity'` (the same top-k as {@link Popularity}, the baselines'
   * documented cold start) or `'any'` (k valid, distinct tracks). Default `'popularity'`.
   */
  coldStart?: 'popularity' | 'any';
  /** Tolerance when comparing `score()` with `recommend()` scores. Default 0 (identical). */
  scoreTolerance?: number;
}

/**
 * Synthetic listening data with sequential structure: each user walks a noisy cycle through a few
 * "genres" of tracks, plus popular tracks everyone plays sometimes. Deterministic for a seed.
 *
 * @example
 * ```ts
 * const train = syntheticTrain(1, { users: 30, tracks: 40 });
 * ```
 */
export function syntheticTrain(
  seed = 1,
  size: { users?: number; tracks?: number; length?: number } = {},
): Dataset {
  const users = size.users ?? 30;
  const tracks = size.tracks ?? 40;
  const length = size.length ?? 20;
  const rng = createRng(seed);
  const listens: Listen[] = [];
  for (let u = 0; u < users; u++) {
    let t = rng.int(tracks);
    for (let p = 0; p < length; p++) {
      const r = rng.next();
      const track = r < 0.15 ? rng.int(3) : r < 0.25 ? rng.int(tracks) : t;
      listens.push({
        userId: `u${u}`,
        trackId: `t${track}`,
        timestamp: 1_700_000_000_000 + (u * length + p) * 60_000,
      });
      t = (t + 1 + (rng.next() < 0.2 ? 1 : 0)) % tracks;
    }
  }
  return Dataset.fromListens(listens);
}

/**
 * Runs the Recommender contract against a model. `factory` must fit a fresh model each call (it is
 * called twice: once for the suite, once to check that fitting is deterministic).
 *
 * @example
 * ```ts
 * runRecommenderContract('Popularity', async () => {
 *   const train = syntheticTrain();
 *   return { model: await Popularity.fit(train), train };
 * });
 * ```
 */
export function runRecommenderContract(
  name: string,
  factory: () => Promise<ContractSubject>,
  options: ContractOptions = {},
): void {
  const coldStart = options.coldStart ?? 'popularity';
  const tol = options.scoreTolerance ?? 0;

  describe(`Recommender contract: ${name}`, () => {
    let model: Recommender;
    let train: Dataset;
    let histories: string[][];
    let dir: string;

    beforeAll(async () => {
      ({ model, train } = await factory());
      // Known users' recent histories, plus a new listener's sequence made of known tracks.
      histories = train.users.slice(0, 4).map((u) => train.history(u).slice(-6));
      histories.push([train.vocabulary.ids[3]!, train.vocabulary.ids[1]!, train.vocabulary.ids[2]!]);
      dir = await mkdtemp(path.join(tmpdir(), 'encore-contract-'));
    });

    afterAll(async () => {
      model?.dispose();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('recommend returns k distinct known tracks sorted by score, best first', async () => {
      for (const h of histories) {
        const recs = await model.recommend(h, { k: 7 });
        expect(recs).toHaveLength(7);
        expect(new Set(recs.map((r) => r.trackId)).size).toBe(7);
        for (const r of recs) expect(model.vocabulary.has(r.trackId)).toBe(true);
        for (let i = 1; i < recs.length; i++)
          expect(recs[i - 1]!.score).toBeGreaterThanOrEqual(recs[i]!.score);
      }
    });

    it('leaves out history tracks by default, and keeps them with excludeHistory: false', async () => {
      const n = model.vocabulary.size;
      for (const h of histories) {
        const recs = await model.recommend(h, { k: n - new Set(h).size });
        for (const r of recs) expect(h).not.toContain(r.trackId);
      }
      const h = histories[0]!;
      const all = await model.recommend(h, { k: n, excludeHistory: false });
      const ids = new Set(all.map((r) => r.trackId));
      expect(ids.size).toBe(n);
      for (const id of h) expect(ids.has(id)).toBe(true);
    });

    it('respects exclude', async () => {
      const h = histories[1]!;
      const before = await model.recommend(h, { k: 6 });
      const banned = before.slice(0, 3).map((r) => r.trackId);
      const after = await model.recommend(h, { k: 3, exclude: banned });
      expect(after.map((r) => r.trackId)).toEqual(before.slice(3, 6).map((r) => r.trackId));
    });

    it('rejects a bad k with InvalidOptionError naming k', async () => {
      const n = model.vocabulary.size;
      for (const k of [0, -1, 1.5, n + 1, Number.NaN, '3' as unknown as number]) {
        const err = await model
          .recommend(histories[0]!, { k, excludeHistory: false })
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidOptionError);
        expect((err as InvalidOptionError).option).toBe('k');
        expect((err as Error).message).toContain('`k`');
      }
      await expect(model.recommendBatch([histories[0]!], { k: 0 })).rejects.toThrow(InvalidOptionError);
    });

    it('rejects malformed histories, track ids and options with InvalidOptionError naming them', async () => {
      const h = histories[0]!;
      const named = async (call: () => Promise<unknown>, option: string) => {
        const err = await call().catch((e: unknown) => e);
        expect(err, option).toBeInstanceOf(InvalidOptionError);
        expect((err as InvalidOptionError).option).toBe(option);
      };
      const bad = <T>(v: unknown) => v as T;
      await named(() => model.recommend(bad('t1 t2')), 'history');
      await named(() => model.recommend(bad(undefined)), 'history');
      await named(() => model.recommend(bad([h[0], 12])), 'history[1]');
      await named(() => model.recommendBatch(bad('ab')), 'histories');
      await named(() => model.recommendBatch(bad([h, null])), 'histories[1]');
      await named(() => model.scoreAll(bad(undefined)), 'histories');
      await named(() => model.scoreAll(bad([[h[0], 5]])), 'histories[0][1]');
      await named(() => model.score(h, bad(h[0])), 'trackIds');
      await named(() => model.score(h, bad([5])), 'trackIds[0]');
      await named(() => model.recommend(h, bad({ excludeHistory: 'false' })), 'excludeHistory');
      await named(() => model.recommend(h, bad({ exclude: h[0] })), 'exclude');
      await named(() => model.recommend(h, bad({ exclude: [h[0], 3] })), 'exclude[1]');
      await named(() => model.recommend(h, bad({ K: 3 })), 'K');
      await named(() => model.recommend(h, bad(null)), 'options');
    });

    it('save replaces an earlier save, and refuses a file or a folder of other files', async () => {
      const target = path.join(dir, 'again');
      await model.save(target);
      await model.save(target); // an earlier save is replaced
      expect((await readdir(target)).sort()).toEqual(['model.json', 'vocab.json', 'weights.bin']);
      const mine = path.join(dir, 'mine');
      await mkdir(mine);
      await writeFile(path.join(mine, 'listens.csv'), 'precious');
      const file = path.join(dir, 'notes.txt');
      await writeFile(file, 'also precious');
      for (const where of [mine, file]) {
        const err = await model.save(where).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(InvalidOptionError);
        expect((err as InvalidOptionError).option).toBe('dir');
      }
      expect(await readFile(path.join(mine, 'listens.csv'), 'utf8')).toBe('precious');
      expect(await readFile(file, 'utf8')).toBe('also precious');
      expect((await readdir(dir)).filter((f) => f.includes('encore-'))).toEqual([]); // no temporary left
    });

    it('skips unknown ids, counting them in unknownSkipped', async () => {
      const h = histories[2]!;
      const before = model.unknownSkipped;
      const withUnknown = await model.recommend(['nope-1', ...h.slice(0, 2), 'nope-2', ...h.slice(2)], {
        k: 5,
      });
      expect(model.unknownSkipped - before).toBe(2);
      expect(withUnknown).toEqual(await model.recommend(h, { k: 5 }));
    });

    it('answers an empty or all-unknown history with the cold-start ranking', async () => {
      const cold = await model.recommend([], { k: 10 });
      expect(cold).toHaveLength(10);
      expect(new Set(cold.map((r) => r.trackId)).size).toBe(10);
      expect(await model.recommend(['never-seen', 'also-unknown'], { k: 10 })).toEqual(cold);
      if (coldStart === 'popularity') {
        const pop = await Popularity.fit(train);
        const expected = await pop.recommend([], { k: 10 });
        expect(cold.map((r) => r.trackId)).toEqual(expected.map((r) => r.trackId));
        // The most played track really is first.
        const counts = train.itemCounts;
        const top = counts.indexOf(Math.max(...counts.subarray(1)), 1);
        expect(cold[0]!.trackId).toBe(train.vocabulary.id(top));
      }
    });

    it('recommendBatch equals recommend history by history', async () => {
      const batch = await model.recommendBatch(histories, { k: 8 });
      expect(batch).toHaveLength(histories.length);
      for (const [i, h] of histories.entries()) expect(batch[i]).toEqual(await model.recommend(h, { k: 8 }));
      expect(await model.recommendBatch([], { k: 3 })).toEqual([]);
      // One exclusion mask serves the whole batch: each history's own tracks are left out of its answer
      // only, and an `exclude`d track that is also in a history stays out of every later answer.
      const exclude = [histories[0]![0]!, histories[2]![1]!];
      const twice = [...histories, histories[0]!, [...histories[1]!, ...histories[1]!]];
      const masked = await model.recommendBatch(twice, { k: 8, exclude });
      for (const [i, h] of twice.entries()) {
        const single = await model.recommend(h, { k: 8, exclude });
        // Other padding in another batch: the same tracks, scores equal up to float rounding.
        expect(masked[i]!.map((r) => r.trackId)).toEqual(single.map((r) => r.trackId));
        expect(masked[i]!.map((r) => r.score)).toEqual(single.map((r) => expect.closeTo(r.score, 5)));
      }
    });

    it('score agrees with the scores recommend reports, and gives -Infinity to unknown tracks', async () => {
      for (const h of histories) {
        const recs = await model.recommend(h, { k: 5 });
        const scores = await model.score(
          h,
          recs.map((r) => r.trackId),
        );
        scores.forEach((s, i) => {
          if (tol === 0) expect(s).toBe(recs[i]!.score);
          else expect(Math.abs(s - recs[i]!.score)).toBeLessThanOrEqual(tol);
        });
      }
      const [s] = await model.score(histories[0]!, ['no-such-track']);
      expect(s).toBe(Number.NEGATIVE_INFINITY);
    });

    it('scoreAll returns one Float32Array of vocabulary.size + 1 finite scores per history', async () => {
      const all = await model.scoreAll(histories);
      expect(all).toHaveLength(histories.length);
      for (const s of all) {
        expect(s).toBeInstanceOf(Float32Array);
        expect(s.length).toBe(model.vocabulary.size + 1);
        for (let i = 1; i < s.length; i++) expect(Number.isFinite(s[i])).toBe(true);
      }
    });

    it('save / loadModel round trip restores identical scores', async () => {
      const target = path.join(dir, 'model');
      await model.save(target);
      const loaded = await loadModel(target);
      try {
        expect(loaded.type).toBe(model.type);
        expect(loaded.vocabulary.ids).toEqual(model.vocabulary.ids);
        const a = await model.scoreAll([...histories, []]);
        const b = await loaded.scoreAll([...histories, []]);
        expect(b).toEqual(a);
        expect(await loaded.recommend(histories[0]!, { k: 5 })).toEqual(
          await model.recommend(histories[0]!, { k: 5 }),
        );
      } finally {
        loaded.dispose();
      }
    });

    it('leaks no tensors in recommend, score, scoreAll, save, load and dispose', async () => {
      const before = tf.memory().numTensors;
      await model.recommend(histories[0]!, { k: 5 });
      await model.recommendBatch(histories, { k: 5 });
      await model.score(histories[1]!, [model.vocabulary.ids[1]!]);
      await model.scoreAll(histories);
      await model.recommend([], { k: 5 });
      expect(tf.memory().numTensors).toBe(before);
      const target = path.join(dir, 'leak');
      await model.save(target);
      expect(tf.memory().numTensors).toBe(before);
      const loaded = await loadModel(target);
      await loaded.recommend(histories[0]!, { k: 5 });
      loaded.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });

    it('is deterministic: a second fit gives identical scores', async () => {
      const again = await factory();
      try {
        expect(await again.model.scoreAll(histories)).toEqual(await model.scoreAll(histories));
        expect(await model.scoreAll(histories)).toEqual(await model.scoreAll(histories));
      } finally {
        again.model.dispose();
      }
    });
  });
}
