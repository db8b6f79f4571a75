// The first-order transition mix: maximum-likelihood fit, scoring, and SASRec's use of it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { leaveOneOut } from '../src/data/splits.js';
import type { Listen } from '../src/data/types.js';
import { InvalidModelFileError, InvalidOptionError } from '../src/errors.js';
import { evaluate } from '../src/eval/metrics.js';
import { countTransitions, csrRow } from '../src/models/csr.js';
import { loadModel } from '../src/models/persist.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import {
  applyTransitionMix,
  fitTransitionMix,
  parseTransitionMix,
  type TransitionCase,
  transitionLogLikelihood,
} from '../src/models/transition-mix.js';
import { createRng } from '../src/util/random.js';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'wasm', verbose: false });
  dir = await mkdtemp(path.join(tmpdir(), 'encore-transition-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('countTransitions and csrRow', () => {
  it('counts consecutive pairs per row', () => {
    const t = countTransitions([Int32Array.of(1, 2, 1, 2), Int32Array.of(2, 3)], 3);
    expect(Array.from(t.rowPtr)).toEqual([0, 0, 1, 3, 3]);
    const row2 = csrRow(t, 2);
    expect(Array.from(row2.cols)).toEqual([1, 3]);
    expect(Array.from(row2.vals)).toEqual([1, 1]);
    expect(row2.total).toBe(2);
    expect(csrRow(t, 1).total).toBe(2);
    expect(csrRow(t, 3).total).toBe(0);
  });

  it('agrees with counting every pair one by one, on any sequences', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 12 }), { maxLength: 6 }),
        (seqs) => {
          const t = countTransitions(
            seqs.map((q) => Int32Array.from(q)),
            6,
          );
          const naive = new Map<string, number>();
          for (const q of seqs)
            for (let i = 1; i < q.length; i++)
              naive.set(`${q[i - 1]}>${q[i]}`, (naive.get(`${q[i - 1]}>${q[i]}`) ?? 0) + 1);
          const got = new Map<string, number>();
          for (let a = 0; a <= 6; a++) {
            const { cols, vals } = csrRow(t, a);
            cols.forEach((b, k) => {
              got.set(`${a}>${b}`, vals[k]!);
            });
            expect([...cols]).toEqual([...cols].sort((x, y) => x - y)); // columns ascending
          }
          expect(got).toEqual(naive);
          expect(t.rowPtr.length).toBe(8);
        },
      ),
    );
  });
});

describe('fitTransitionMix', () => {
  it('trusts counts that predict the target, and not counts that do not', () => {
    // The last track went to the target in 8 of 10 transitions while the model gave it 1%.
    const predictive: TransitionCase[] = Array.from({ length: 50 }, (_, i) => ({
      modelProb: 0.01,
      count: i % 5 === 0 ? 0 : 8,
      total: 10,
    }));
    const mix = fitTransitionMix(predictive);
    expect(mix.weight).toBeGreaterThan(0.5);
    expect(transitionLogLikelihood(predictive, mix)).toBeGreaterThan(transitionLogLikelihood(predictive) + 1);
    // Counts that never contain the target: mixing only takes mass from the model.
    const useless: TransitionCase[] = Array.from({ length: 50 }, () => ({
      modelProb: 0.2,
      count: 0,
      total: 10,
    }));
    expect(fitTransitionMix(useless).weight).toBe(0);
    expect(transitionLogLikelihood(useless, fitTransitionMix(useless))).toBeCloseTo(
      transitionLogLikelihood(useless),
      12,
    );
  });

  it('trusts rarely seen tracks less than often seen ones (the smoothing)', () => {
    // Often-seen last tracks predict well; once-seen ones are noise.
    const cases: TransitionCase[] = [];
    for (let i = 0; i < 40; i++) cases.push({ modelProb: 0.02, count: 45, total: 50 });
    for (let i = 0; i < 40; i++) cases.push({ modelProb: 0.3, count: 0, total: 1 });
    const mix = fitTransitionMix(cases);
    expect(mix.weight).toBeGreaterThan(0.5);
    expect(mix.smoothing).toBeGreaterThan(1);
    expect(transitionLogLikelihood(cases, mix)).toBeGreaterThan(
      transitionLogLikelihood(cases, { weight: mix.weight, smoothing: 0.25 }),
    );
  });

  it('names bad cases', () => {
    expect(() => fitTransitionMix([])).toThrow(InvalidOptionError);
    expect(() => fitTransitionMix([{ modelProb: 0.1, count: 3, total: 2 }])).toThrow(/cases\[0\]/);
    expect(() => fitTransitionMix([{ modelProb: Number.NaN, count: 0, total: 2 }])).toThrow(/modelProb/);
  });
});

describe('applyTransitionMix', () => {
  it('gives log-probabilities of the mix and keeps the order of tracks never reached', () => {
    const row = Float32Array.of(Number.NEGATIVE_INFINITY, 2, 1, 0.5, -1, 0);
    const mix = { weight: 0.5, smoothing: 2 };
    const out = row.slice();
    applyTransitionMix(out, mix, { cols: [3, 4], vals: [6, 2], total: 8 });
    let sum = 0;
    for (let j = 1; j < out.length; j++) sum += Math.exp(out[j]!);
    expect(sum).toBeCloseTo(1, 5);
    const mu = (0.5 * 8) / (8 + 2);
    let z = 0;
    for (let j = 1; j < row.length; j++) z += Math.exp(row[j]!);
    expect(Math.exp(out[3]!)).toBeCloseTo(((1 - mu) * Math.exp(0.5)) / z + (mu * 6) / 8, 5);
    expect(Math.exp(out[1]!)).toBeCloseTo(((1 - mu) * Math.exp(2)) / z, 5);
    expect(out[1]!).toBeGreaterThan(out[2]!); // untouched tracks keep their order
    expect(out[2]!).toBeGreaterThan(out[5]!);
    expect(out[3]!).toBeGreaterThan(out[1]!); // the frequent successor now leads
    // A last track never seen as a predecessor: only normalised.
    const plain = row.slice();
    applyTransitionMix(plain, mix, { cols: [], vals: [], total: 0 });
    expect(Math.exp(plain[1]!)).toBeCloseTo(Math.exp(2) / z, 5);
  });

  it('reads a saved mix back and rejects malformed ones', () => {
    expect(parseTransitionMix({ weight: 0.3, smoothing: 2 })).toEqual({ weight: 0.3, smoothing: 2 });
    expect(parseTransitionMix({ weight: 1, smoothing: 2 })).toBeUndefined();
    expect(parseTransitionMix({ weight: 0.3, smoothing: 0 })).toBeUndefined();
    expect(parseTransitionMix('0.3')).toBeUndefined();
  });
});

/**
 * Listeners who play 12-track albums in order (each album a run of 4-12 tracks from a random start),
 * with a random track between albums: the exact successor is the strongest signal, which counts see at
 * once and a barely trained transformer does not.
 */
function albumListens(users: number, seed: number): Listen[] {
  const rng = createRng(seed);
  const out: Listen[] = [];
  for (let u = 0; u < users; u++) {
    let t = 0;
    while (t < 40) {
      const album = rng.int(8);
      const start = rng.int(12);
      const run = 4 + rng.int(9);
      for (let k = 0; k < run && t < 40; k++, t++)
        out.push({ userId: `u${u}`, trackId: `a${album}-${(start + k) % 12}`, timestamp: t * 60_000 });
      if (t < 40) out.push({ userId: `u${u}`, trackId: `x${rng.int(40)}`, timestamp: t++ * 60_000 });
    }
  }
  return out;
}

const FAST: SASRecOptions = { dim: 16, blocks: 1, maxlen: 8, batchSize: 32, epochs: 1, progress: false };

describe('SASRec with the transition mix', () => {
  it('fits the mix on validation cases, ranks exact successors higher, and saves it with the model', async () => {
    const before = tf.memory().numTensors;
    const { train, test } = leaveOneOut(Dataset.fromListens(albumListens(150, 1)));
    const model = await SASRec.fit(train, FAST);
    const mix = model.transitionHead;
    expect(mix).toBeDefined();
    expect(mix!.weight).toBeGreaterThan(0);
    const withMix = await evaluate(model, test, { k: [1, 10], excludeHistory: false });
    model.transitionHead = undefined;
    const without = await evaluate(model, test, { k: [1, 10], excludeHistory: false });
    model.transitionHead = mix;
    expect(withMix.hr[1]!).toBeGreaterThan(without.hr[1]! + 0.05);
    expect(withMix.ndcg[10]!).toBeGreaterThan(without.ndcg[10]!);
    // Saved and loaded with the model: the same mix, the same scores.
    await model.save(path.join(dir, 'm'));
    const loaded = (await loadModel(path.join(dir, 'm'))) as SASRec;
    expect(loaded.transitionHead).toEqual(mix);
    const h = test[0]!.history;
    const ids = ['a0-1', 'a0-2', 'a3-5', 'x1'];
    expect(await loaded.score(h, ids)).toEqual(await model.score(h, ids));
    loaded.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('has no mix with transitionMix: false or without validation cases, and names a bad option', async () => {
    const ds = Dataset.fromListens(albumListens(40, 2));
    const off = await SASRec.fit(ds, { ...FAST, transitionMix: false });
    expect(off.transitionHead).toBeUndefined();
    off.dispose();
    const none = await SASRec.fit(ds, { ...FAST, validation: 'none' });
    expect(none.transitionHead).toBeUndefined();
    await expect(none.fitTransition([{ userId: 'u0', history: ['a0-1'], target: 'a0-2' }])).rejects.toThrow(
      /no transition counts/,
    );
    none.dispose();
    await expect(SASRec.fit(ds, { ...FAST, transitionMix: 1 as never })).rejects.toThrow(/transitionMix/);
  });

  it('refuses a saved model whose mix is malformed', async () => {
    const ds = Dataset.fromListens(albumListens(40, 3));
    const model = await SASRec.fit(ds, FAST);
    expect(model.transitionHead).toBeDefined();
    const where = path.join(dir, 'bad');
    await model.save(where);
    model.dispose();
    const file = path.join(where, 'model.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.config.transitionHead = { weight: 2, smoothing: 1 };
    await writeFile(file, JSON.stringify(json));
    await expect(loadModel(where)).rejects.toThrow(InvalidModelFileError);
    await expect(loadModel(where)).rejects.toThrow(/transitionHead/);
  });
});
