// SASRec serving: the fast last-position path equals the full forward pass; no tensor churn across calls.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { HISTORY_BIAS_FEATURES, historyCandidates } from '../src/models/repeat.js';
import { SASRec, type SASRecOptions } from '../src/models/sasrec.js';
import { playCountBuckets } from '../src/train/batches.js';
import { createRng } from '../src/util/random.js';

const TINY: SASRecOptions = {
  dim: 16,
  blocks: 2,
  maxlen: 12,
  batchSize: 32,
  epochs: 2,
  learningRate: 0.01,
  validation: 'none',
  progress: false,
  workers: 1,
};

function listens(users: number, tracks: number, seed: number): Listen[] {
  const rng = createRng(seed);
  const out: Listen[] = [];
  for (let u = 0; u < users; u++) {
    const n = 3 + rng.int(20);
    for (let i = 0; i < n; i++)
      out.push({ userId: `u${u}`, trackId: `t${rng.int(tracks)}`, timestamp: i * 60_000 });
  }
  return out;
}

let data: Dataset;
let histories: string[][];

beforeAll(async () => {
  await initBackend({ backend: 'wasm', verbose: false });
  data = Dataset.fromListens(listens(80, 40, 1));
  const rng = createRng(2);
  // Mixed lengths (padding inside a batch), longer than maxlen, unknown ids, and an empty history.
  histories = Array.from({ length: 9 }, () =>
    Array.from({ length: 1 + rng.int(20) }, () => `t${rng.int(40)}`),
  );
  histories.push(['nope', 't3'], []);
});

/** Scores through the training forward pass (`encode` over all positions), the reference. */
function reference(model: SASRec, history: readonly string[]): Float32Array {
  const ids = history.map((id) => model.vocabulary.index(id)).filter((x): x is number => x !== undefined);
  const last = ids.slice(-model.config.maxlen);
  const plays = playCountBuckets(ids).slice(-model.config.maxlen);
  const inner = model as unknown as { encode(ids: tf.Tensor2D, plays: tf.Tensor2D): tf.Tensor2D };
  return tf.tidy(() => {
    const h = inner.encode(
      tf.tensor2d(Int32Array.from(last), [1, last.length], 'int32'),
      tf.tensor2d(Int32Array.from(plays), [1, last.length], 'int32'),
    ); // [L, d]
    const row = h.slice([last.length - 1, 0], [1, -1]); // [1, d]
    // The output table: the item table, plus its learned correction with untied embeddings.
    const out = model.variables.out_emb;
    const table = out ? tf.add(model.variables.item_emb!, out) : model.variables.item_emb!;
    const scores = tf.matMul(row, table, false, true).dataSync() as Float32Array;
    // The per-track output bias (itemBias).
    const bias = model.variables.out_bias?.dataSync();
    if (bias) for (let j = 0; j < scores.length; j++) scores[j] = scores[j]! + bias[j]!;
    // The learned last-listen logit (lastBias) as the training loss defines it.
    const lastBias = model.variables['last.b'];
    if (lastBias && last.length > 0) scores[last.at(-1)!] = scores[last.at(-1)!]! + lastBias.dataSync()[0]!;
    // The learned history bias (historyBias): coef = h W + b on each candidate's features.
    const histW = model.variables['hist.w'];
    if (histW && ids.length > 0) {
      const coef = tf.add(tf.matMul(row, histW), model.variables['hist.b']!).dataSync(); // [F]
      const c = historyCandidates(ids, ids.length, model.config.maxlen);
      const F = HISTORY_BIAS_FEATURES.length;
      c.items.forEach((x, k) => {
        for (let f = 0; f < F; f++) scores[x] = scores[x]! + coef[f]! * c.features[k * F + f]!;
      });
    }
    return scores;
  });
}

function expectClose(a: Float32Array, b: Float32Array): void {
  expect(a.length).toBe(b.length);
  let max = 0;
  for (let j = 1; j < a.length; j++)
    max = Math.max(max, Math.abs(a[j]! - b[j]!) / Math.max(1, Math.abs(b[j]!)));
  expect(max).toBeLessThan(1e-4);
}

describe('SASRec fast serving path', () => {
  for (const variant of [
    { norm: 'pre', heads: 1, blocks: 2 },
    { norm: 'post', heads: 2, blocks: 2 },
    { norm: 'pre', heads: 2, blocks: 1 },
    { norm: 'pre', heads: 1, blocks: 2, playCounts: true, lastBias: true },
    { norm: 'post', heads: 1, blocks: 1, historyBias: true },
    { norm: 'pre', heads: 1, blocks: 1, tiedEmbeddings: false },
    { norm: 'pre', heads: 1, blocks: 2, tiedEmbeddings: false, itemBias: true },
  ] as const) {
    it(`equals the full forward pass (${JSON.stringify(variant)})`, async () => {
      const model = await SASRec.fit(data, { ...TINY, ...variant });
      const all = await model.scoreAll(histories);
      for (const [h, history] of histories.entries()) {
        if (history.every((id) => model.vocabulary.index(id) === undefined)) {
          expect(all[h]![0]).toBe(Number.NEGATIVE_INFINITY); // cold start: popularity
          continue;
        }
        expectClose(all[h]!, reference(model, history));
        const [one] = await model.scoreAll([history]); // alone: trimmed to its own length, no padding
        expectClose(one!, all[h]!);
      }
      model.dispose();
    });
  }

  it('follows weight changes (cached tables are rebuilt after setWeights)', async () => {
    for (const tiedEmbeddings of [true, false]) {
      const model = await SASRec.fit(data, { ...TINY, tiedEmbeddings });
      const history = histories[0]!;
      const [before] = await model.scoreAll([history]);
      const w = model.getWeights();
      // Untied, only the output table scores: changing it alone must change the scores.
      const changed = tiedEmbeddings ? [w.item_emb!, w['b1.f2.w']!] : [w.out_emb!];
      for (const x of changed) for (let j = 0; j < x.length; j++) x[j] = x[j]! * 1.5 + 0.01;
      model.setWeights(w);
      const [after] = await model.scoreAll([history]);
      expect(Math.abs(after![5]! - before![5]!)).toBeGreaterThan(1e-6);
      expectClose(after!, reference(model, history));
      model.dispose();
    }
  });
});

describe('SASRec serving memory', () => {
  it('keeps tensor count and bytes stable over 100 calls and frees everything on dispose', async () => {
    const start = tf.memory().numTensors;
    const model = await SASRec.fit(data, TINY);
    await model.recommend(histories[0]!, { k: 5 }); // builds the serving cache
    await model.recommendBatch(histories, { k: 5 });
    const { numTensors, numBytes } = tf.memory();
    for (let c = 0; c < 100; c++) {
      await model.recommend(histories[c % histories.length]!, { k: 5 });
      if (c % 10 === 0) await model.recommendBatch(histories, { k: 5 });
    }
    expect(tf.memory().numTensors).toBe(numTensors);
    expect(tf.memory().numBytes).toBe(numBytes);
    model.dispose();
    expect(tf.memory().numTensors).toBe(start);
  });
});
