// The repeat-aware mixture: features, maximum-likelihood fit, scoring, and SASRec's use of it.
import { readFile, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { leaveOneOut } from '../src/data/splits.js';
import type { Listen } from '../src/data/types.js';
import { InvalidModelFileError, InvalidOptionError } from '../src/errors.js';
import { evaluate } from '../src/eval/metrics.js';
import { loadModel } from '../src/models/persist.js';
import {
  applyRepeatHead,
  fitRepeatHead,
  historyFeatures,
  parseRepeatHead,
  type RepeatCase,
  type RepeatHead,
  repeatLogLikelihood,
  rowLogSumExp,
} from '../src/models/repeat.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import { createRng } from '../src/util/random.js';
import { useWasmWorkdir } from './helpers/workdir.js';

const under = useWasmWorkdir('encore-repeat-');

describe('historyFeatures', () => {
  it('gives each distinct track its log play count, recency, last-listen and in-window flags', () => {
    const { items, features, replayLogit } = historyFeatures([3, 5, 3, 9], 2);
    expect(items).toEqual([3, 5, 9]);
    expect(replayLogit).toBeCloseTo(Math.log(0.5), 12); // one replay in four listens: (1 + 1) / (4 + 2)
    const row = (k: number) => Array.from(features.slice(k * 4, k * 4 + 4));
    expect(row(0)).toEqual([Math.log(2), Math.log1p(1), 0, 1]); // 3: twice, last one listen ago
    expect(row(1)).toEqual([0, Math.log1p(2), 0, 0]); // 5: once, two listens ago: outside a window of 2
    expect(row(2)).toEqual([0, 0, 1, 1]); // 9: the last listen
  });

  it('matches a plain count of the history on any history, call after call', () => {
    // Reference: counts and last positions in Maps, items in order of first appearance.
    const reference = (ids: number[]) => {
      const count = new Map<number, number>();
      const last = new Map<number, number>();
      ids.forEach((x, p) => {
        count.set(x, (count.get(x) ?? 0) + 1);
        last.set(x, p);
      });
      const items = [...count.keys()];
      return {
        items,
        rows: items.map((x) => [
          Math.log(count.get(x)!),
          Math.log1p(ids.length - 1 - last.get(x)!),
          last.get(x) === ids.length - 1 ? 1 : 0,
          ids.length - 1 - last.get(x)! < 7 ? 1 : 0,
        ]),
      };
    };
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 80 }), (ids) => {
        const h = historyFeatures(ids, 7);
        const want = reference(ids);
        expect(h.items).toEqual(want.items);
        expect(want.rows.flat()).toEqual(Array.from(h.features));
        // The scratch counts are cleared: a second call gives the same features.
        expect(Array.from(historyFeatures(ids, 7).features)).toEqual(Array.from(h.features));
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it('names a history entry that is not a vocabulary index', () => {
    expect(() => historyFeatures([3, -1], 50)).toThrow(InvalidOptionError);
    expect(() => historyFeatures([3, 1.5], 50)).toThrow(/ids\[1\]/);
    expect(() => historyFeatures([2 ** 27], 50)).toThrow(/ids\[0\].*vocabulary index/);
  });
});

/** Cases whose target is the most played history track with probability `share`, else a new track. */
function syntheticCases(share: number, n: number, seed: number): RepeatCase[] {
  const rng = createRng(seed);
  const out: RepeatCase[] = [];
  for (let i = 0; i < n; i++) {
    const ids = [1, 1, 1, 1, 2, 3, 4, 5].map((x) => x + 10 * rng.int(3));
    const history = historyFeatures(rng.shuffle(ids), 50);
    const replay = rng.next() < share;
    out.push({
      history,
      targetItem: replay ? history.items.indexOf(ids[0]!) : -1,
      modelProb: replay ? 0.001 : 0.02,
    });
  }
  return out;
}

describe('fitRepeatHead', () => {
  it('learns the replay share and that more plays mean more likely, raising the likelihood', () => {
    const cases = syntheticCases(0.6, 300, 1);
    const head = fitRepeatHead(cases);
    const gOf = (c: RepeatCase) =>
      1 / (1 + Math.exp(-(head.gate + head.replayWeight * c.history.replayLogit)));
    const g = cases.reduce((sum, c) => sum + gOf(c), 0) / cases.length;
    expect(g).toBeGreaterThan(0.5);
    expect(g).toBeLessThan(0.7);
    expect(head.weights[0]).toBeGreaterThan(1);
    expect(repeatLogLikelihood(cases, head)).toBeGreaterThan(repeatLogLikelihood(cases) + 1);
    // Deterministic: no randomness in the fit.
    expect(fitRepeatHead(cases)).toEqual(head);
  });

  it('turns the gate almost off when listeners never replay', () => {
    const cases = syntheticCases(0, 200, 2);
    const head = fitRepeatHead(cases);
    for (const c of cases)
      expect(1 / (1 + Math.exp(-(head.gate + head.replayWeight * c.history.replayLogit)))).toBeLessThan(0.02);
  });

  it('learns lastWeight: down when a track never follows itself, up when it often does', () => {
    const withLast = (repeatLast: number, seed: number): RepeatCase[] => {
      const rng = createRng(seed);
      return syntheticCases(0.3, 300, seed).map((c) => {
        // The sequence model gives the last listen a high Q (0.3), as a residual path does.
        const again = rng.next() < repeatLast;
        return { ...c, lastProb: 0.3, targetIsLast: again, modelProb: again ? 0.3 : c.modelProb };
      });
    };
    const never = fitRepeatHead(withLast(0, 3));
    expect(never.lastWeight).toBeLessThan(-1);
    const often = fitRepeatHead(withLast(0.5, 4));
    expect(often.lastWeight).toBeGreaterThan(0);
    const cases = withLast(0, 3);
    expect(repeatLogLikelihood(cases, never)).toBeGreaterThan(
      repeatLogLikelihood(cases, { ...never, lastWeight: 0 }),
    );
  });

  it('learns modelWeight when the model knows which replay comes next, and leaves it near 0 when not', () => {
    // Every case replays one of four once-played history tracks; the sequence model's logits point at it
    // (with noise) when `informative`, and are noise otherwise. Counts and recency cannot tell them apart.
    const contextCases = (informative: boolean, seed: number): RepeatCase[] => {
      const rng = createRng(seed);
      return Array.from({ length: 300 }, () => {
        const history = historyFeatures([1, 2, 3, 4], 50);
        const targetItem = rng.int(4);
        const modelLogits = history.items.map(
          (_, k) => (informative && k === targetItem ? 2 : 0) + rng.normal(),
        );
        return { history, targetItem, modelProb: 0.001, modelLogits };
      });
    };
    const cases = contextCases(true, 5);
    const head = fitRepeatHead(cases);
    expect(head.modelWeight).toBeGreaterThan(0.5);
    expect(repeatLogLikelihood(cases, head)).toBeGreaterThan(
      repeatLogLikelihood(cases, { ...head, modelWeight: 0 }) + 0.1,
    );
    expect(Math.abs(fitRepeatHead(contextCases(false, 6)).modelWeight)).toBeLessThan(0.2);
    // Cases without model logits leave it at its start, 0.
    expect(fitRepeatHead(syntheticCases(0.6, 100, 7)).modelWeight).toBe(0);
  });

  it('rejects no cases and bad options, naming them', () => {
    expect(() => fitRepeatHead([])).toThrow(InvalidOptionError);
    expect(() => fitRepeatHead(syntheticCases(0.5, 5, 3), { steps: 0 })).toThrow(/`steps`/);
    expect(() => fitRepeatHead(syntheticCases(0.5, 5, 3), { tolerance: 0 })).toThrow(/`tolerance`/);
    expect(() => fitRepeatHead(syntheticCases(0.5, 5, 3), { l2: -1 })).toThrow(/`l2`/);
  });

  it('stops at the maximum of the penalised likelihood: every small move away lowers it', () => {
    const rng = createRng(11);
    const cases = syntheticCases(0.4, 300, 12).map((c) => ({
      ...c,
      // The model's logits know the target a little.
      modelLogits: c.history.items.map((_, k) => (k === c.targetItem ? 1 : 0) + rng.normal()),
    }));
    const l2 = 1e-3;
    const objective = (h: RepeatHead) =>
      repeatLogLikelihood(cases, h) -
      l2 * [h.replayWeight, h.lastWeight, ...h.weights, h.modelWeight].reduce((s, v) => s + v * v, 0);
    const head = fitRepeatHead(cases, { l2 });
    const best = objective(head);
    const moves: ((h: RepeatHead, e: number) => RepeatHead)[] = [
      (h, e) => ({ ...h, gate: h.gate + e }),
      (h, e) => ({ ...h, replayWeight: h.replayWeight + e }),
      (h, e) => ({ ...h, modelWeight: h.modelWeight + e }),
      ...[0, 1, 2, 3].map((f) => (h: RepeatHead, e: number) => ({
        ...h,
        weights: h.weights.map((w, i) => (i === f ? w + e : w)),
      })),
    ];
    for (const move of moves)
      for (const e of [-1e-2, 1e-2]) expect(objective(move(head, e))).toBeLessThan(best);
    // One iteration is not there yet.
    expect(objective(fitRepeatHead(cases, { l2, steps: 1 }))).toBeLessThan(best - 1e-3);
  });
});

describe('applyRepeatHead', () => {
  it('an empty history is Q alone: the gate does not apply, and empty cases do not move it', () => {
    const row = new Float32Array([Number.NEGATIVE_INFINITY, 2, 1, 0.5]);
    const head = { gate: 0, replayWeight: 0, lastWeight: 0, weights: [1, 0, 0, 0], modelWeight: 0 };
    const out = row.slice();
    applyRepeatHead(out, historyFeatures([], 50), head);
    const logZ = rowLogSumExp(row);
    for (let j = 1; j < row.length; j++) expect(out[j]!).toBeCloseTo(row[j]! - logZ, 5); // summed to 1 - g = 0.5 before
    const empty: RepeatCase = { history: historyFeatures([], 50), targetItem: -1, modelProb: 0.25 };
    expect(repeatLogLikelihood([empty], head)).toBeCloseTo(Math.log(0.25), 6);
  });

  it('gives log-probabilities that sum to 1, raises history tracks and keeps the order of the rest', () => {
    const row = new Float32Array([Number.NEGATIVE_INFINITY, 2, 1, 0.5, -1, 3]);
    const head = { gate: 0, replayWeight: 0, lastWeight: 0, weights: [1, 0, 0, 0], modelWeight: 0 };
    const out = row.slice();
    applyRepeatHead(out, historyFeatures([4, 4, 2], 50), head);
    let total = 0;
    for (let j = 1; j < out.length; j++) total += Math.exp(out[j]!);
    expect(total).toBeCloseTo(1, 5);
    expect(out[0]).toBe(Number.NEGATIVE_INFINITY);
    // Not in the history: same order as before (5 > 1 > 3).
    expect(out[5]!).toBeGreaterThan(out[1]!);
    expect(out[1]!).toBeGreaterThan(out[3]!);
    // Track 4 had the lowest logit but was played twice: now the most likely.
    expect(Math.max(...Array.from(out))).toBe(out[4]);
    // lastWeight scales Q of the last listen (2) and renormalises: still a distribution, 2 lower.
    const down = row.slice();
    applyRepeatHead(down, historyFeatures([4, 4, 2], 50), { ...head, lastWeight: -5 }, 2);
    let sum = 0;
    for (let j = 1; j < down.length; j++) sum += Math.exp(down[j]!);
    expect(sum).toBeCloseTo(1, 5);
    expect(down[2]!).toBeLessThan(out[2]! - 0.2); // 0.209 -> 0.167: only its Q part shrinks, R keeps its share
    expect(down[5]!).toBeGreaterThan(out[5]!);
  });

  it('with modelWeight, chooses among history tracks by the model too', () => {
    // Tracks 4, 3 and 1 played once each; the model ranks 1 > 3 > 4.
    const row = new Float32Array([Number.NEGATIVE_INFINITY, 2, 1, 0.5, -1, 3]);
    const head = { gate: 2, replayWeight: 0, lastWeight: 0, weights: [0, 0, 0, 0], modelWeight: 0 };
    const flat = row.slice();
    applyRepeatHead(flat, historyFeatures([4, 3, 1], 50), head);
    const ctx = row.slice();
    applyRepeatHead(ctx, historyFeatures([4, 3, 1], 50), { ...head, modelWeight: 3 });
    expect(ctx[1]! - ctx[4]!).toBeGreaterThan(flat[1]! - flat[4]! + 1);
    let total = 0;
    for (let j = 1; j < ctx.length; j++) total += Math.exp(ctx[j]!);
    expect(total).toBeCloseTo(1, 5);
  });

  it('reads heads saved before modelWeight existed as modelWeight 0', () => {
    const old = { gate: -1, replayWeight: 0.5, lastWeight: -2, weights: [1, 0, 0, 0] };
    expect(parseRepeatHead(old)).toEqual({ ...old, modelWeight: 0 });
    expect(parseRepeatHead({ ...old, modelWeight: 'x' })).toBeUndefined();
  });
});

/**
 * Listeners with two personal favourites that make up 40% of their listens, between tracks of a shared
 * 60-track catalogue in random order: a sequence model that sees only the last 4 listens often cannot
 * know the favourites, the whole history can.
 */
function favouriteListens(users: number, seed: number): Listen[] {
  const rng = createRng(seed);
  const out: Listen[] = [];
  for (let u = 0; u < users; u++) {
    const favs = [`t${1 + rng.int(60)}`, `t${1 + rng.int(60)}`];
    for (let t = 0; t < 40; t++) {
      const trackId = rng.next() < 0.4 ? favs[rng.int(2)]! : `t${1 + rng.int(60)}`;
      out.push({ userId: `u${u}`, trackId, timestamp: t * 60_000 });
    }
  }
  return out;
}

const FAST: SASRecOptions = { dim: 16, blocks: 1, maxlen: 4, batchSize: 32, epochs: 2, progress: false };

describe('SASRec with the repeat head', () => {
  it('fits the head on the validation cases and ranks favourites from the whole history', async () => {
    const before = tf.memory().numTensors;
    const { train, test } = leaveOneOut(Dataset.fromListens(favouriteListens(120, 1)));
    // Without the learned history bias, so the head is the only way to see past the 4-listen window.
    const model = await SASRec.fit(train, { ...FAST, historyBias: false });
    expect(model.repeatHead).toBeDefined();
    const withHead = await evaluate(model, test, { k: [10], excludeHistory: false });
    const head = model.repeatHead;
    model.repeatHead = undefined;
    const without = await evaluate(model, test, { k: [10], excludeHistory: false });
    model.repeatHead = head;
    expect(withHead.hr[10]!).toBeGreaterThan(without.hr[10]! + 0.05);
    // The learned history bias (historyBias: true) sees the favourites end to end: even without a head it
    // beats the plain transformer.
    const biased = await SASRec.fit(train, { ...FAST, historyBias: true });
    biased.repeatHead = undefined;
    const biasedHr = (await evaluate(biased, test, { k: [10], excludeHistory: false })).hr[10]!;
    biased.dispose();
    expect(biasedHr).toBeGreaterThan(without.hr[10]! + 0.05);
    // Saved and loaded with the model: identical scores.
    await model.save(under('m'));
    const loaded = (await loadModel(under('m'))) as SASRec;
    expect(loaded.repeatHead).toEqual(head);
    const h = test[0]!.history;
    expect(await loaded.score(h, ['t1', 't2', 't3'])).toEqual(await model.score(h, ['t1', 't2', 't3']));
    loaded.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fits both heads from one scoring pass: the heads of rows scored with the transition term', async () => {
    const before = tf.memory().numTensors;
    const { train, validation } = leaveOneOut(Dataset.fromListens(favouriteListens(120, 3)));
    const model = await SASRec.fit(train, { ...FAST, validation });
    const close = (a: RepeatHead, b: RepeatHead, digits: number) => {
      const flat = (h: RepeatHead) => [h.gate, h.replayWeight, h.lastWeight, h.modelWeight, ...h.weights];
      flat(a).forEach((v, i) => {
        expect(v).toBeCloseTo(flat(b)[i]!, digits);
      });
    };
    // fit's one pass chose what the two public passes choose, for either protocol.
    expect(model.transitionHead).toEqual(await model.fitTransition(validation));
    close(model.repeatHead!, await model.fitRepeat(validation), 9);
    const allTracks = await SASRec.fit(train, { ...FAST, validation, transitionExcludeHistory: false });
    expect(allTracks.transitionHead).toEqual(
      await model.fitTransition(validation, { excludeHistory: false }),
    );
    expect(allTracks.transitionHead).toEqual(await allTracks.fitTransition(validation));
    allTracks.dispose();
    // The reference: repeat cases read off full rows scored with a strong term applied and renormalised
    // (fitRepeat adds the term's change to the normaliser instead; leaving it out moves the gate).
    model.transitionHead = { weight: 2, smoothing: 1 };
    model.repeatHead = undefined;
    const rows = await model.scoreAll(validation.map((c) => c.history));
    const cases: RepeatCase[] = [];
    validation.forEach((c, i) => {
      const ids = c.history.map((t) => model.vocabulary.index(t)!);
      const target = model.vocabulary.index(c.target)!;
      const row = rows[i]!;
      const history = historyFeatures(ids, FAST.maxlen!);
      const logZ = rowLogSumExp(row);
      const last = ids[ids.length - 1]!;
      cases.push({
        history,
        targetItem: history.items.indexOf(target),
        modelProb: Math.exp(row[target]! - logZ),
        lastProb: Math.exp(row[last]! - logZ),
        targetIsLast: target === last,
        modelLogits: history.items.map((x) => row[x]!),
      });
    });
    const reference = fitRepeatHead(cases);
    close(await model.fitRepeat(validation), reference, 5);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fits only on cases with a known target and history, and says so when there are none', async () => {
    const ds = Dataset.fromListens(favouriteListens(30, 4));
    const model = await SASRec.fit(ds, { ...FAST, epochs: 1, validation: 'none' });
    const usable = { userId: 'a', history: ['t1', 't2', 't3'], target: 't2' };
    const head = await model.fitRepeat([usable, { userId: 'b', history: [], target: 't1' }]);
    expect(head).toEqual(await model.fitRepeat([usable]));
    await expect(model.fitRepeat([{ userId: 'c', history: ['nope'], target: 't1' }])).rejects.toThrow(
      /known target/,
    );
    model.dispose();
  });

  it('has no head with repeat: false or without validation cases', async () => {
    const ds = Dataset.fromListens(favouriteListens(30, 2));
    const off = await SASRec.fit(ds, { ...FAST, epochs: 1, repeat: false });
    expect(off.repeatHead).toBeUndefined();
    off.dispose();
    const none = await SASRec.fit(ds, { ...FAST, epochs: 1, validation: 'none' });
    expect(none.repeatHead).toBeUndefined();
    none.dispose();
  });

  it('refuses a saved model whose repeat head is malformed', async () => {
    const ds = Dataset.fromListens(favouriteListens(30, 3));
    const model = await SASRec.fit(ds, { ...FAST, epochs: 1 });
    const where = under('bad');
    await model.save(where);
    model.dispose();
    const file = `${where}/model.json`;
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.config.repeatHead = { gate: 'high', weights: [1] };
    await writeFile(file, JSON.stringify(json));
    await expect(loadModel(where)).rejects.toThrow(InvalidModelFileError);
  });
});
