// Known-answer tests for the Popularity, ItemTransition and ItemKNN baselines.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Dataset } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { InvalidModelFileError, InvalidOptionError } from '../src/errors.js';
import { ItemKNN, ItemTransition, Popularity } from '../src/models/baselines.js';
import { loadModel, readModelDir, writeModelDir } from '../src/models/persist.js';
import { createRng } from '../src/util/random.js';

const T0 = 1_700_000_000_000;
const CYCLE = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

/** Listens from per-user track lists, one minute apart. */
function listensOf(users: Record<string, string[]>, start = T0): Listen[] {
  const out: Listen[] = [];
  let t = start;
  for (const [userId, tracks] of Object.entries(users)) {
    for (const trackId of tracks) {
      out.push({ userId, trackId, timestamp: t });
      t += 60_000;
    }
  }
  return out;
}

/** Six users walking the same 8-track cycle from different offsets, plus one fan of a hit track `pop`. */
function cycles(): Dataset {
  const users: Record<string, string[]> = {};
  for (let u = 0; u < 6; u++)
    users[`u${u}`] = Array.from({ length: 20 }, (_, p) => CYCLE[(u + p) % CYCLE.length]!);
  users.fan = Array.from({ length: 50 }, () => 'pop');
  return Dataset.fromListens(listensOf(users));
}

const next = (i: number) => CYCLE[(i + 1) % CYCLE.length]!;

describe('Popularity', () => {
  it('ranks by training count, whatever the history', async () => {
    const train = cycles();
    const pop = await Popularity.fit(train);
    const recs = await pop.recommend([], { k: 3 });
    expect(recs[0]).toEqual({ trackId: 'pop', score: 50 });
    expect(await pop.recommend(['a', 'b'], { k: 1 })).toEqual([{ trackId: 'pop', score: 50 }]);
    const [s] = await pop.score(['c'], ['a']);
    expect(s).toBe(train.itemCounts[train.vocabulary.index('a')!]);
  });

  it('halfLifeDays favours recent listens', async () => {
    const day = 86_400_000;
    const old = listensOf({ u1: Array(10).fill('x') }, T0);
    const recent = listensOf({ u2: Array(6).fill('y') }, T0 + 30 * day);
    const train = Dataset.fromListens([...old, ...recent]);
    expect((await (await Popularity.fit(train)).recommend([], { k: 1 }))[0]!.trackId).toBe('x');
    const decayed = await Popularity.fit(train, { halfLifeDays: 1 });
    const [x, y] = await decayed.score([], ['x', 'y']);
    expect(y).toBeGreaterThan(x!);
    // Listens one minute apart, the newest with weight 1.
    const expected = [0, 1, 2, 3, 4, 5].reduce((acc, m) => acc + 0.5 ** (m / 1440), 0);
    expect(y).toBeCloseTo(expected, 4);
    expect(x).toBeLessThan(1e-6); // thirty half-lives later
  });

  it('halfLifeDays still ranks listens older than 100 half-lives by count, not by index', async () => {
    const day = 86_400_000;
    // 'rare' once and 'hit' four times, 500 days (166 half-lives) before the newest listen.
    const old = listensOf({ u1: ['rare', 'hit', 'hit', 'hit', 'hit'] }, T0);
    const recent = listensOf({ u2: ['new'] }, T0 + 500 * day);
    const decayed = await Popularity.fit(Dataset.fromListens([...old, ...recent]), { halfLifeDays: 3 });
    const recs = await decayed.recommend([], { k: 3 });
    expect(recs.map((r) => r.trackId)).toEqual(['new', 'hit', 'rare']);
    expect(recs[2]!.score).toBeGreaterThan(0);
  });

  it('validates options before fitting', async () => {
    await expect(Popularity.fit(cycles(), { halfLifeDays: 0 })).rejects.toThrow(/`halfLifeDays`/);
    await expect(Popularity.fit({} as Dataset)).rejects.toThrow(/`train`/);
  });
});

describe('ItemTransition', () => {
  it('predicts the next track of a deterministic cycle, even against a much more popular track', async () => {
    const model = await ItemTransition.fit(cycles());
    for (let i = 0; i < CYCLE.length; i++) {
      const [top] = await model.recommend([CYCLE[i]!], { k: 1 });
      expect(top!.trackId).toBe(next(i));
    }
    // Only the last known track matters (first-order).
    const [top] = await model.recommend(['f', 'g', 'c', 'unknown'], { k: 1 });
    expect(top!.trackId).toBe('d');
  });

  it('without smoothing or backoff scores exactly P(next | last)', async () => {
    const train = Dataset.fromListens(listensOf({ u1: ['a', 'b', 'a', 'c', 'a', 'b'] }));
    const model = await ItemTransition.fit(train, { smoothing: 0, backoff: 0 });
    const [b, c, a] = await model.score(['a'], ['b', 'c', 'a']);
    expect(b).toBeCloseTo(2 / 3, 6);
    expect(c).toBeCloseTo(1 / 3, 6);
    expect(a).toBe(0);
  });

  it('scores are a probability distribution over tracks for any smoothing and backoff', async () => {
    const train = cycles();
    for (const [smoothing, backoff] of [
      [0.5, 0.3],
      [2, 0],
      [0, 0.7],
    ] as const) {
      const model = await ItemTransition.fit(train, { smoothing, backoff });
      const [scores] = await model.scoreAll([['c']]);
      const sum = scores!.reduce((x, y) => x + y, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('smoothing flattens transitions, backoff 1 is pure popularity', async () => {
    const train = cycles();
    const sharp = await ItemTransition.fit(train, { smoothing: 0.01, backoff: 0 });
    const flat = await ItemTransition.fit(train, { smoothing: 100, backoff: 0 });
    const [pSharp] = await sharp.score(['c'], ['d']);
    const [pFlat] = await flat.score(['c'], ['d']);
    expect(pSharp!).toBeGreaterThan(0.99);
    expect(pFlat!).toBeLessThan(0.2);
    const pure = await ItemTransition.fit(train, { backoff: 1 });
    const popOrder = (await (await Popularity.fit(train)).recommend(['c'], { k: 5 })).map((r) => r.trackId);
    expect((await pure.recommend(['c'], { k: 5 })).map((r) => r.trackId)).toEqual(popOrder);
  });

  it('backs off to popularity after a track that was never followed by anything', async () => {
    const train = Dataset.fromListens(
      listensOf({ u1: ['a', 'b', 'a', 'b', 'c'], u2: ['b', 'b', 'a', 'b', 'z'], u3: ['b', 'a', 'c'] }),
    );
    const model = await ItemTransition.fit(train);
    // 'z' only ends a sequence: uniform transitions, so the popularity term decides (b: 6, a: 4, c: 2).
    expect((await model.recommend(['z'], { k: 3 })).map((r) => r.trackId)).toEqual(['b', 'a', 'c']);
  });

  it('validates options, naming them', async () => {
    const train = cycles();
    for (const [opts, name] of [
      [{ smoothing: -1 }, 'smoothing'],
      [{ smoothing: Number.NaN }, 'smoothing'],
      [{ backoff: 1.5 }, 'backoff'],
      [{ backoff: -0.1 }, 'backoff'],
    ] as const) {
      const err = await ItemTransition.fit(train, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(name);
    }
  });
});

describe('ItemKNN', () => {
  it('predicts the next track of a deterministic cycle from the recent history', async () => {
    const model = await ItemKNN.fit(cycles(), { window: 2 });
    for (let i = 2; i < CYCLE.length + 2; i++) {
      const history = [CYCLE[(i - 2) % 8]!, CYCLE[(i - 1) % 8]!, CYCLE[i % 8]!];
      const [top] = await model.recommend(history, { k: 1 });
      expect(top!.trackId).toBe(next(i % 8));
    }
  });

  it('similarity is cosine-like co-occurrence with shrinkage, weighted by recency', async () => {
    // a-b co-occur twice (adjacent), a-c once, window 1.
    const train = Dataset.fromListens(listensOf({ u1: ['a', 'b', 'x', 'a', 'b'], u2: ['c', 'a'] }));
    const model = await ItemKNN.fit(train, { window: 1, shrink: 0, backoff: 0 });
    const [b, c, x] = await model.score(['a'], ['b', 'c', 'x']);
    // counts: a 3, b 2, c 1, x 1; C[a][b] = 2, C[a][c] = 1, C[a][x] = 1 (x-a adjacent in u1).
    expect(b).toBeCloseTo(2 / Math.sqrt(3 * 2), 6);
    expect(c).toBeCloseTo(1 / Math.sqrt(3 * 1), 6);
    expect(x).toBeCloseTo(1 / Math.sqrt(3 * 1), 6);
    const shrunk = await ItemKNN.fit(train, { window: 1, shrink: 10, backoff: 0 });
    const [bs] = await shrunk.score(['a'], ['b']);
    expect(bs).toBeCloseTo(2 / (Math.sqrt(6) + 10), 6);
    // Two-item history: the older item votes with weight decay^1.
    const decayed = await ItemKNN.fit(train, { window: 1, shrink: 0, backoff: 0, decay: 0.5 });
    const [cx] = await decayed.score(['c', 'b'], ['a']);
    expect(cx).toBeCloseTo(2 / Math.sqrt(6) + 0.5 * (1 / Math.sqrt(3)), 6);
    const recentOnly = await ItemKNN.fit(train, { window: 1, shrink: 0, backoff: 0, historyWindow: 1 });
    const [r1] = await recentOnly.score(['c', 'b'], ['a']);
    expect(r1).toBeCloseTo(2 / Math.sqrt(6), 6);
  });

  it('fits more co-occurring pairs than a Map holds (2^24): 17.6 million here', async () => {
    // One listener of 4,200 distinct tracks with a window that spans them all: every ordered pair once.
    const listens = Array.from({ length: 4200 }, (_, i) => ({
      userId: 'u',
      trackId: `t${i}`,
      timestamp: 1.7e12 + i * 60_000,
    }));
    const model = await ItemKNN.fit(Dataset.fromListens(listens), { window: 5000, neighbours: 10 });
    expect((await model.recommend(['t0'], { k: 3 })).map((r) => r.trackId)).toEqual(['t1', 't2', 't3']);
  });

  it('keeps only the top neighbours and orders the rest by popularity through backoff', async () => {
    const train = cycles();
    const model = await ItemKNN.fit(train, { window: 1, neighbours: 1 });
    const [scores] = await model.scoreAll([['c']]);
    const v = train.vocabulary;
    // With one neighbour per track, only one of b/d keeps a similarity above the popularity term.
    const nb = [scores![v.index('b')!]!, scores![v.index('d')!]!].filter((s) => s > 1e-3);
    expect(nb).toHaveLength(1);
    // Among tracks with no similarity, the popular one comes first.
    const recs = await model.recommend(['c'], { k: 2 });
    expect(recs[1]!.trackId).toBe('pop');
  });

  it('validates options, naming them', async () => {
    const train = cycles();
    for (const [opts, name] of [
      [{ window: 0 }, 'window'],
      [{ window: 2.5 }, 'window'],
      [{ shrink: -1 }, 'shrink'],
      [{ neighbours: 0 }, 'neighbours'],
      [{ historyWindow: 0 }, 'historyWindow'],
      [{ decay: 0 }, 'decay'],
      [{ decay: 1.2 }, 'decay'],
      [{ backoff: -1 }, 'backoff'],
    ] as const) {
      const err = await ItemKNN.fit(train, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidOptionError);
      expect((err as InvalidOptionError).option).toBe(name);
    }
  });
});

describe('baselines at catalogue scale', () => {
  it('fit, score 500 histories over 3000 tracks quickly, and round-trip through loadModel', async () => {
    const rng = createRng(7);
    const listens: Listen[] = [];
    for (let u = 0; u < 500; u++) {
      let t = rng.int(3000);
      for (let p = 0; p < 40; p++) {
        listens.push({ userId: `u${u}`, trackId: `t${t}`, timestamp: T0 + p * 1000 });
        t = rng.next() < 0.7 ? (t + 1 + rng.int(3)) % 3000 : rng.int(3000);
      }
    }
    const train = Dataset.fromListens(listens);
    const histories = train.users.map((u) => train.history(u).slice(-20));
    const dir = await mkdtemp(path.join(tmpdir(), 'encore-baselines-'));
    try {
      for (const fitModel of [() => ItemTransition.fit(train), () => ItemKNN.fit(train, { window: 5 })]) {
        const model = await fitModel();
        const start = performance.now();
        const scores = await model.scoreAll(histories);
        const ms = performance.now() - start;
        expect(scores).toHaveLength(500);
        expect(ms).toBeLessThan(3000);
        await model.save(path.join(dir, model.type));
        const loaded = await loadModel(path.join(dir, model.type));
        expect(await loaded.scoreAll(histories.slice(0, 20))).toEqual(scores.slice(0, 20));
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('baseline model files', () => {
  it('reject missing arrays and bad configs with InvalidModelFileError', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'encore-baselines-bad-'));
    try {
      const model = await ItemKNN.fit(cycles());
      await model.save(path.join(dir, 'ok'));
      const contents = await readModelDir(path.join(dir, 'ok'));
      await writeModelDir(path.join(dir, 'no-sims'), {
        ...contents,
        arrays: contents.arrays.filter((a) => !a.name.startsWith('similarity')),
      });
      await expect(loadModel(path.join(dir, 'no-sims'))).rejects.toThrow(InvalidModelFileError);
      await expect(loadModel(path.join(dir, 'no-sims'))).rejects.toThrow(/similarity\.rowPtr/);
      await writeModelDir(path.join(dir, 'bad-config'), {
        ...contents,
        config: { ...contents.config, window: -3 },
      });
      await expect(loadModel(path.join(dir, 'bad-config'))).rejects.toThrow(/`window`/);
      await expect(loadModel(path.join(dir, 'bad-config'))).rejects.toThrow(InvalidModelFileError);
      await writeModelDir(path.join(dir, 'short'), {
        ...contents,
        arrays: contents.arrays.map((a) =>
          a.name === 'popularity' ? { ...a, shape: [3], data: a.data.slice(0, 3) } : a,
        ),
      });
      await expect(loadModel(path.join(dir, 'short'))).rejects.toThrow(/popularity has 3 values/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
