// The first-order transition term: maximum-likelihood fit, scoring, and SASRec's use of it.
import { readFile, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { leaveOneOut } from '../src/data/splits.js';
import type { Listen } from '../src/data/types.js';
import { InvalidModelFileError, InvalidOptionError } from '../src/errors.js';
import { evaluate } from '../src/eval/metrics.js';
import { countTransitions, csrRow } from '../src/models/csr.js';
import { loadModel } from '../src/models/persist.js';
import { applyRepeatHead, historyFeatures } from '../src/models/repeat.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import {
  applyTransitionMix,
  parseTransitionMix,
  TRANSITION_GRID,
  TRANSITION_TRUST_MARGIN,
  TransitionMixFit,
  transitionBoost,
} from '../src/models/transition-mix.js';
import { createRng } from '../src/util/random.js';
import { resigned } from './helpers/manifest.js';
import { useWasmWorkdir } from './helpers/workdir.js';

const under = useWasmWorkdir('encore-transition-');

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

describe('TransitionMixFit', () => {
  // Rows of 20 tracks: the model ranks tracks 1..20 by index (20 best); the target is track 3.
  const row = Float32Array.from({ length: 21 }, (_, j) => (j === 0 ? Number.NEGATIVE_INFINITY : j / 4));

  it('turns the term on when counts find targets the model ranks low', () => {
    const fit = new TransitionMixFit();
    // The last listen led to the target 60 times and to track 18 once: the target should rise.
    for (let i = 0; i < 10; i++) fit.add(row, 3, { cols: [3, 18], vals: [60, 1] });
    const { mix, ndcg, baseline } = fit.result();
    expect(baseline).toBe(0); // rank 18 without the term
    expect(mix.weight).toBeGreaterThan(0);
    expect(ndcg).toBeGreaterThan(0.3);
  });

  it('keeps it off when counts point away from the targets', () => {
    const fit = new TransitionMixFit();
    // The model has the target (20) first; the counts only ever saw other tracks.
    for (let i = 0; i < 10; i++) fit.add(row, 20, { cols: [1, 2], vals: [50, 50] });
    const { mix, ndcg, baseline } = fit.result();
    expect(mix.weight).toBe(0);
    expect(ndcg).toBe(1);
    expect(baseline).toBe(1);
  });

  it('trusts the counts over the model (weight above 1) only when that beats the product weights by 5% (every track ranked; with the history left out, when it beats them at all)', () => {
    // Case A: the model already ranks the target first, no counts. Case B: the target (rank 18) followed
    // the last listen once; only weight 8 lifts it to rank 1 (weight 4: rank 7; 1 or 2: outside the top 10).
    const a = (fit: TransitionMixFit) => fit.add(row, 20, { cols: [], vals: [] });
    const b = (fit: TransitionMixFit) => fit.add(row, 3, { cols: [3], vals: [1] });
    const clear = new TransitionMixFit();
    for (let i = 0; i < 10; i++) a(clear);
    b(clear); // trust 11 hits' worth against 10: +10%
    expect(TRANSITION_TRUST_MARGIN).toBe(0.05);
    expect(clear.result().mix).toEqual({ weight: 8, smoothing: 1 });
    const slight = new TransitionMixFit();
    for (let i = 0; i < 30; i++) a(slight);
    b(slight); // 31 against 30: +3.3%, under the margin
    expect(slight.result().mix).toEqual({ weight: 0, smoothing: 1 });
    // The same cases (histories empty, so nothing is left out) chosen for the default protocol: no margin.
    const excluded = new TransitionMixFit({ excludeHistory: true });
    for (let i = 0; i < 30; i++) a(excluded);
    b(excluded);
    expect(excluded.result().mix).toEqual({ weight: 8, smoothing: 1 });
    expect(TRANSITION_GRID).toHaveLength(22);
  });

  it('chooses exactly what a scan of every whole row would choose (property: ties, histories, both protocols)', () => {
    // The reference: add term g to every successor, then count the tracks in the ranking that score at
    // least the target (with the history left out, an excluded target is a miss); then the documented
    // rule: the best product point, or the best trust point when it is better (by 5% with every track
    // ranked), ties to the smaller weight, then the larger smoothing.
    type Case = { r: Float32Array; target: number; cols: number[]; vals: number[]; history: number[] };
    const G = TRANSITION_GRID.length;
    const ndcgOf = (c: Case, g: number, excludeHistory: boolean) => {
      const played = new Set(c.history);
      if (excludeHistory && played.has(c.target)) return 0;
      const extra = new Float64Array(c.r.length);
      const m = TRANSITION_GRID[g]!;
      c.cols.forEach((j, k) => {
        extra[j] = m.weight * Math.log1p(c.vals[k]! / m.smoothing);
      });
      const t = c.r[c.target]! + extra[c.target]!;
      let rank = 1;
      for (let j = 1; j < c.r.length; j++)
        if (j !== c.target && !(excludeHistory && played.has(j)) && c.r[j]! + extra[j]! >= t) rank++;
      return rank <= 10 ? 1 / Math.log2(rank + 1) : 0;
    };
    const choose = (sum: (g: number) => number, margin: number) => {
      const bestOf = (inRange: (w: number) => boolean) => {
        let best = -1;
        for (let g = 0; g < G; g++) {
          if (!inRange(TRANSITION_GRID[g]!.weight)) continue;
          const [m, b] = [TRANSITION_GRID[g]!, TRANSITION_GRID[best]];
          if (
            !b ||
            sum(g) > sum(best) + 1e-9 ||
            (Math.abs(sum(g) - sum(best)) <= 1e-9 &&
              (m.weight < b.weight || (m.weight === b.weight && m.smoothing > b.smoothing)))
          )
            best = g;
        }
        return best;
      };
      const [product, trust] = [bestOf((w) => w <= 1), bestOf((w) => w > 1)];
      return sum(trust) >= (1 + margin) * sum(product) + 1e-9 ? trust : product;
    };
    const arbCase = fc
      .tuple(
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 2, maxLength: 40 }),
        fc.nat(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 30 })), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 8 }),
      )
      .map(([scores, t, pairs, played]): Case => {
        const cols: number[] = [];
        const vals: number[] = [];
        for (const [c, v] of pairs) {
          const col = 1 + (c % scores.length);
          if (cols.includes(col)) continue;
          cols.push(col);
          vals.push(v);
        }
        return {
          r: Float32Array.from([Number.NEGATIVE_INFINITY, ...scores.map((x) => x / 4)]),
          target: 1 + (t % scores.length),
          cols,
          vals,
          // A history: any tracks, repeats allowed (the target and successors too).
          history: played.map((x) => 1 + (x % scores.length)),
        };
      });
    fc.assert(
      fc.property(fc.array(arbCase, { minLength: 1, maxLength: 4 }), (cases) => {
        for (const excludeHistory of [false, true]) {
          const fit = new TransitionMixFit({ excludeHistory });
          for (const c of cases) fit.add(c.r, c.target, { cols: c.cols, vals: c.vals }, c.history);
          const total = (g: number) => cases.reduce((sum, c) => sum + ndcgOf(c, g, excludeHistory), 0);
          const g = choose(total, excludeHistory ? 0 : TRANSITION_TRUST_MARGIN);
          const { mix, ndcg, baseline } = fit.result();
          expect(mix).toEqual(TRANSITION_GRID[g]);
          expect(ndcg).toBeCloseTo(total(g) / cases.length, 12);
          expect(baseline).toBeCloseTo(total(0) / cases.length, 12);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('chooses for the protocol it is given: with the history left out, replays no longer hold the term back', () => {
    // 30 replays: the target (20, the model's first choice) is the history; the last listen led to track 5
    // 50 times, so a term that lifts 5 above 20 costs every replay a rank. 10 new targets: track 5 itself.
    const addAll = (fit: TransitionMixFit) => {
      for (let i = 0; i < 30; i++) fit.add(row, 20, { cols: [5], vals: [50] }, [20]);
      for (let i = 0; i < 10; i++) fit.add(row, 5, { cols: [5], vals: [50] }, [20]);
    };
    const all = new TransitionMixFit();
    addAll(all);
    // Every track ranked: the largest boost that keeps 5 under 20 (track 5 reaches rank 5, replays stay first).
    expect(all.result().mix).toEqual({ weight: 0.75, smoothing: 1 });
    const excluded = new TransitionMixFit({ excludeHistory: true });
    addAll(excluded);
    // History left out: replays are misses whatever the term; 5 must beat 19, the best track left.
    const { mix, ndcg } = excluded.result();
    expect(mix).toEqual({ weight: 1, smoothing: 1 });
    expect(ndcg).toBe(10 / 40);
    expect(() => excluded.add(row, 3, { cols: [], vals: [] }, [21])).toThrow(/history\[0\]/);
    expect(() => new TransitionMixFit({ excludeHistory: 'yes' as never })).toThrow(/excludeHistory/);
    expect(() => new TransitionMixFit({ exclude: true } as never)).toThrow(/exclude/);
  });

  it('counts ties against the target', () => {
    const flat = Float32Array.from({ length: 21 }, (_, j) => (j === 0 ? Number.NEGATIVE_INFINITY : 0));
    const fit = new TransitionMixFit();
    fit.add(flat, 3, { cols: [], vals: [] });
    expect(fit.result().ndcg).toBe(0); // 20 tied tracks: the target ranks last
  });

  it('names bad input', () => {
    expect(() => new TransitionMixFit().result()).toThrow(InvalidOptionError);
    expect(() => new TransitionMixFit().add(row, 0, { cols: [], vals: [] })).toThrow(/target/);
    expect(() => new TransitionMixFit().add(row, 3, { cols: [30], vals: [1] })).toThrow(/cols\[0\]/);
    expect(() => new TransitionMixFit().add(row, 3, { cols: [3], vals: [-1] })).toThrow(/vals\[0\]/);
    expect(TRANSITION_GRID[0]).toEqual({ weight: 0, smoothing: 1 });
  });
});

describe('applyTransitionMix', () => {
  it('adds weight * log(1 + count / smoothing), renormalises, and keeps the order of tracks never reached', () => {
    const row = Float32Array.of(Number.NEGATIVE_INFINITY, 2, 1, 0.5, -1, 0);
    const mix = { weight: 1, smoothing: 2 };
    const out = row.slice();
    applyTransitionMix(out, mix, { cols: [3, 4], vals: [30, 2] });
    let sum = 0;
    for (let j = 1; j < out.length; j++) sum += Math.exp(out[j]!);
    expect(sum).toBeCloseTo(1, 5);
    // P(3) / P(1) = exp(0.5 + log(1 + 30 / 2) - 2)
    expect(out[3]! - out[1]!).toBeCloseTo(0.5 + Math.log(16) - 2, 5);
    expect(out[4]! - out[5]!).toBeCloseTo(-1 + Math.log(2), 5);
    expect(out[1]! - out[2]!).toBeCloseTo(1, 5); // untouched tracks keep their gaps
    expect(out[3]!).toBeGreaterThan(out[1]!); // the frequent successor now leads
    // No transitions out of the last listen: only normalised.
    const plain = row.slice();
    applyTransitionMix(plain, mix, { cols: [], vals: [] });
    expect(plain[1]! - plain[2]!).toBeCloseTo(1, 5);
    let z = 0;
    for (let j = 1; j < plain.length; j++) z += Math.exp(plain[j]!);
    expect(z).toBeCloseTo(1, 5);
  });

  it('without normalising leaves log scores up to a constant: the repeat head after it gives the same row', () => {
    const row = Float32Array.of(Number.NEGATIVE_INFINITY, 2, 1, 0.5, -1, 0, 3);
    const mix = { weight: 1, smoothing: 2 };
    const transitions = { cols: [3, 4], vals: [30, 2] };
    const unnormalised = row.slice();
    applyTransitionMix(unnormalised, mix, transitions, false);
    expect(unnormalised[3]).toBeCloseTo(0.5 + Math.log(16), 5);
    expect(unnormalised[1]).toBe(2); // not a successor: untouched
    const head = {
      gate: 0.2,
      replayWeight: 0.5,
      weights: [1, -0.3, -1, 0.2],
      lastWeight: -1,
      modelWeight: 0.3,
    };
    const ids = [6, 2, 6, 3];
    const normalised = row.slice();
    applyTransitionMix(normalised, mix, transitions);
    applyRepeatHead(normalised, historyFeatures(ids, 2), head, 3);
    applyRepeatHead(unnormalised, historyFeatures(ids, 2), head, 3);
    for (let j = 1; j < row.length; j++) expect(unnormalised[j]).toBeCloseTo(normalised[j]!, 5);
    expect(transitionBoost(mix, 30)).toBeCloseTo(Math.log(16), 12);
  });

  it('reads a saved term back and rejects malformed ones', () => {
    expect(parseTransitionMix({ weight: 1.5, smoothing: 2 })).toEqual({ weight: 1.5, smoothing: 2 });
    expect(parseTransitionMix({ weight: -1, smoothing: 2 })).toBeUndefined();
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

// One epoch at a low rate: the transformer is barely trained, so the counts' exact successors show.
const FAST: SASRecOptions = {
  dim: 16,
  blocks: 1,
  maxlen: 8,
  batchSize: 32,
  epochs: 1,
  learningRate: 1e-3,
  progress: false,
};

describe('SASRec with the transition term', () => {
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
    await model.save(under('m'));
    const loaded = (await loadModel(under('m'))) as SASRec;
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
    await expect(SASRec.fit(ds, { ...FAST, transitionExcludeHistory: 'yes' as never })).rejects.toThrow(
      /transitionExcludeHistory.*a boolean/,
    );
  });

  it('refuses a saved model whose mix is malformed', async () => {
    const ds = Dataset.fromListens(albumListens(40, 3));
    const model = await SASRec.fit(ds, FAST);
    expect(model.transitionHead).toBeDefined();
    expect(model.config.transitionExcludeHistory).toBe(true);
    const cases = [{ userId: 'u0', history: ['a0-1'], target: 'a0-2' }];
    await expect(model.fitTransition(cases, { excludeHistory: 1 as never })).rejects.toThrow(
      /excludeHistory.*a boolean/,
    );
    await expect(model.fitTransition(cases, { exclude: true } as never)).rejects.toThrow(/exclude/);
    const where = under('bad');
    await model.save(where);
    model.dispose();
    const file = `${where}/model.json`;
    const json = JSON.parse(await readFile(file, 'utf8'));
    // A model saved before the option existed chose its term with every track ranked, and says so.
    delete json.config.transitionExcludeHistory;
    await writeFile(file, JSON.stringify(resigned(json)));
    const old = (await loadModel(where)) as SASRec;
    expect(old.config.transitionExcludeHistory).toBe(false);
    expect(old.transitionHead).toBeDefined();
    old.dispose();
    json.config.transitionHead = { weight: 2, smoothing: -1 };
    await writeFile(file, JSON.stringify(resigned(json)));
    await expect(loadModel(where)).rejects.toThrow(InvalidModelFileError);
    await expect(loadModel(where)).rejects.toThrow(/transitionHead/);
  });
});
