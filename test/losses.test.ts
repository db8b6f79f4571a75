// Unit tests of the training losses and the batching that feeds them.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { InvalidOptionError } from '../src/errors.js';
import { HISTORY_BIAS_FEATURES, historyCandidates, historyCandidatesRun } from '../src/models/repeat.js';
import {
  batchesPerEpoch,
  buildWindows,
  epochBatches,
  makeBatch,
  NegativeSampler,
  playCountBucket,
  playCountBuckets,
} from '../src/train/batches.js';
import {
  AUTO_CE_MAX_ITEMS,
  binaryTerms,
  ceChunkRows,
  chunkedLogSumExp,
  fullSoftmaxTerms,
  gbceBeta,
  historyBiasedLogp,
  logSumExp,
  resolveLoss,
  sampledSoftmaxTerms,
  unlikelihood,
  weightedLoss,
} from '../src/train/losses.js';
import { splitSeqBatch } from '../src/train/parallel.js';
import { createRng } from '../src/util/random.js';

function randn(shape: number[], seed: number): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.normal()),
    shape,
  );
}

/** `[N]` entries of `[N, V]` log-probabilities at each row's target id (ids 1..V, column id - 1). */
function pickTargets(logp: tf.Tensor, targetIds: readonly number[], V: number): tf.Tensor {
  const oneHot = tf.oneHot(
    tf.tensor1d(
      targetIds.map((t) => t - 1),
      'int32',
    ),
    V,
  );
  return tf.sum(tf.mul(logp, oneHot), 1);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm', verbose: false });
});

describe('logSumExp', () => {
  it('matches tf.logSumExp in value and its custom gradient matches autodiff', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.mul(randn([5, 9], 1), 3) as tf.Tensor2D;
      const w = randn([5], 2);
      expect(maxAbsDiff(logSumExp(x), tf.logSumExp(x, 1))).toBeLessThan(1e-5);
      const gCustom = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logSumExp(t as tf.Tensor2D), w)))(x);
      const gAuto = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.logSumExp(t, 1), w)))(x);
      expect(maxAbsDiff(gCustom, gAuto)).toBeLessThan(1e-6);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('full-softmax cross-entropy', () => {
  const N = 13;
  const V = 11;
  const d = 6;

  it('chunked equals unchunked in value and gradients (h and item table)', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const h = randn([N, d], 3) as tf.Tensor2D;
      const table = randn([V + 1, d], 4) as tf.Tensor2D;
      const targetIds = Array.from({ length: N }, (_, i) => 1 + ((i * 7) % V));
      const targets = tf.tensor1d(targetIds, 'int32');
      const w = tf.tensor1d(Array.from({ length: N }, (_, i) => 0.5 + (i % 3)));
      const lossWith = (chunkRows: number) => (hh: tf.Tensor, tt: tf.Tensor) =>
        weightedLoss(
          fullSoftmaxTerms(hh as tf.Tensor2D, tt as tf.Tensor2D, targets, { chunkRows }),
          w,
          undefined,
          N,
        );
      const whole = tf.valueAndGrads(lossWith(1000))([h, table]);
      const chunked = tf.valueAndGrads(lossWith(3))([h, table]);
      const one = tf.valueAndGrads(lossWith(1))([h, table]);
      for (const other of [chunked, one]) {
        expect(Math.abs(whole.value.dataSync()[0]! - other.value.dataSync()[0]!)).toBeLessThan(1e-5);
        expect(maxAbsDiff(whole.grads[0]!, other.grads[0]!)).toBeLessThan(1e-5);
        expect(maxAbsDiff(whole.grads[1]!, other.grads[1]!)).toBeLessThan(1e-5);
      }
      // And both equal the textbook definition computed with autodiff over the explicit logits.
      const reference = tf.valueAndGrads((hh: tf.Tensor, tt: tf.Tensor) => {
        const logits = tf.matMul(hh, (tt as tf.Tensor2D).slice([1, 0], [V, d]), false, true); // [N, V]
        const logp = tf.logSoftmax(logits);
        const picked = pickTargets(logp, targetIds, V);
        return tf.div(tf.sum(tf.mul(tf.neg(picked), w)), N) as tf.Scalar;
      })([h, table]);
      expect(Math.abs(whole.value.dataSync()[0]! - reference.value.dataSync()[0]!)).toBeLessThan(1e-5);
      expect(maxAbsDiff(whole.grads[0]!, reference.grads[0]!)).toBeLessThan(1e-5);
      expect(maxAbsDiff(whole.grads[1]!, reference.grads[1]!)).toBeLessThan(1e-5);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('chunkedLogSumExp never builds more than a chunk and leaks nothing after backprop', () => {
    const before = tf.memory().numTensors;
    const h = randn([9, 4], 5) as tf.Tensor2D;
    const items = randn([7, 4], 6) as tf.Tensor2D;
    const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(chunkedLogSumExp(a as tf.Tensor2D, b as tf.Tensor2D, 2)),
    )([h, items]);
    expect(Number.isFinite(value.dataSync()[0]!)).toBe(true);
    tf.dispose([value, ...grads, h, items]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('weights of 1 give exactly the plain mean loss', () => {
    tf.tidy(() => {
      const h = randn([N, d], 7) as tf.Tensor2D;
      const table = randn([V + 1, d], 8) as tf.Tensor2D;
      const targets = tf.tensor1d(
        Array.from({ length: N }, (_, i) => 1 + (i % V)),
        'int32',
      );
      const terms = fullSoftmaxTerms(h, table, targets, { chunkRows: 4 });
      const weighted = weightedLoss(terms, tf.ones([N]) as tf.Tensor1D, undefined, N).dataSync()[0]!;
      const plain = tf.mean(terms.pos).dataSync()[0]!;
      expect(weighted).toBeCloseTo(plain, 6);
      const doubled = weightedLoss(terms, tf.fill([N], 2) as tf.Tensor1D, undefined, N).dataSync()[0]!;
      expect(doubled).toBeCloseTo(2 * plain, 5);
    });
  });

  it('unlikelihood is -log(1 - p) of the softmax probability', () => {
    tf.tidy(() => {
      const h = randn([3, 4], 9) as tf.Tensor2D;
      const table = randn([6, 4], 10) as tf.Tensor2D;
      const targets = tf.tensor1d([1, 3, 5], 'int32');
      const { pos, unl } = fullSoftmaxTerms(h, table, targets, { withUnlikelihood: true });
      const p = tf.exp(tf.neg(pos)).dataSync();
      const u = unl!.dataSync();
      for (let i = 0; i < 3; i++) expect(u[i]!).toBeCloseTo(-Math.log(1 - p[i]!), 5);
      expect(unlikelihood(tf.tensor1d([0])).dataSync()[0]!).toBeCloseTo(-Math.log(1e-6), 1); // clamped, finite
    });
  });

  it('refuses a catalogue whose single logits row exceeds the chunk budget, naming the option', () => {
    expect(() => ceChunkRows(1000, 100)).toThrow(InvalidOptionError);
    expect(ceChunkRows(1000, 4000 * 10)).toBe(10);
  });
});

describe('history-biased softmax', () => {
  it('equals the softmax of the explicitly biased logits, in value and gradients', () => {
    const M = 4;
    const V = 9;
    const d = 5;
    const F = 3;
    const k = 3;
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const h = randn([M, d], 11) as tf.Tensor2D;
      const table = randn([V + 1, d], 12) as tf.Tensor2D;
      const coef = randn([M, F], 13) as tf.Tensor2D;
      const targetIds = [2, 5, 9, 1];
      // Row 0's history holds its target; row 3 has one entry and padding; row 2 none.
      const items = [
        [2, 4, 7],
        [1, 3, 6],
        [0, 0, 0],
        [8, 0, 0],
      ];
      const featuresData = Float32Array.from({ length: M * k * F }, (_, i) => ((i * 7) % 5) / 3 - 0.4);
      const history = {
        items: tf.tensor2d(items.flat(), [M, k], 'int32'),
        mask: tf.tensor2d(
          items.flat().map((x) => (x > 0 ? 1 : 0)),
          [M, k],
        ),
        isTarget: tf.tensor2d(
          items.flatMap((row, m) => row.map((x) => (x === targetIds[m] ? 1 : 0))),
          [M, k],
        ),
        features: tf.tensor3d(featuresData, [M, k, F]),
      };
      const targets = tf.tensor1d(targetIds, 'int32');
      const ours = tf.valueAndGrads((hh: tf.Tensor, tt: tf.Tensor, cc: tf.Tensor) => {
        const terms = fullSoftmaxTerms(hh as tf.Tensor2D, tt as tf.Tensor2D, targets, {
          history: { tensors: history, coef: cc as tf.Tensor2D },
        });
        return tf.sum(terms.pos) as tf.Scalar;
      })([h, table, coef]);
      // Reference: add each entry's bias to a dense [M, V] logits matrix, then log-softmax.
      const reference = tf.valueAndGrads((hh: tf.Tensor, tt: tf.Tensor, cc: tf.Tensor) => {
        const logits = tf.matMul(hh, (tt as tf.Tensor2D).slice([1, 0], [V, d]), false, true); // [M, V]
        const c = cc as tf.Tensor2D;
        const rows: tf.Tensor[] = [];
        for (let m = 0; m < M; m++) {
          let row = logits.slice([m, 0], [1, V]);
          items[m]!.forEach((x, j) => {
            if (x === 0) return;
            const f = tf.tensor2d(featuresData.slice((m * k + j) * F, (m * k + j + 1) * F), [F, 1]);
            const b = tf.matMul(c.slice([m, 0], [1, F]), f); // [1, 1]
            row = tf.add(row, tf.mul(b, tf.oneHot(tf.tensor1d([x - 1], 'int32'), V)));
          });
          rows.push(row);
        }
        const logp = tf.logSoftmax(tf.concat(rows, 0));
        const picked = pickTargets(logp, targetIds, V);
        return tf.neg(tf.sum(picked)) as tf.Scalar;
      })([h, table, coef]);
      expect(Math.abs(ours.value.dataSync()[0]! - reference.value.dataSync()[0]!)).toBeLessThan(1e-4);
      for (let i = 0; i < 3; i++) expect(maxAbsDiff(ours.grads[i]!, reference.grads[i]!)).toBeLessThan(1e-4);
      // With zero coefficients it is the plain softmax.
      const plain = fullSoftmaxTerms(h, table, targets);
      const zero = historyBiasedLogp(
        h,
        table,
        tf.neg(plain.pos) as tf.Tensor1D,
        tf.zeros([M]) as tf.Tensor1D,
        history,
        tf.zeros([M, F]) as tf.Tensor2D,
      );
      expect(maxAbsDiff(zero, tf.neg(plain.pos))).toBeLessThan(1e-5);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('loss auto', () => {
  it('is full softmax up to the catalogue threshold and sampled softmax beyond it; named losses pass through', () => {
    expect(AUTO_CE_MAX_ITEMS).toBe(20_000);
    expect(resolveLoss('auto', 1)).toBe('ce');
    expect(resolveLoss('auto', AUTO_CE_MAX_ITEMS)).toBe('ce');
    expect(resolveLoss('auto', AUTO_CE_MAX_ITEMS + 1)).toBe('sampled-softmax');
    expect(resolveLoss('auto', 300_000)).toBe('sampled-softmax');
    expect(resolveLoss('auto', 101, 100)).toBe('sampled-softmax');
    expect(resolveLoss('auto', 100, 100)).toBe('ce');
    for (const l of ['ce', 'sampled-softmax', 'bce', 'gbce'] as const)
      expect(resolveLoss(l, 10 ** 6)).toBe(l);
  });
});

describe('sampled softmax', () => {
  it('applies logQ correction to sampled items only and removes accidental hits', () => {
    tf.tidy(() => {
      const h = randn([2, 3], 11) as tf.Tensor2D;
      const table = randn([6, 3], 12) as tf.Tensor2D;
      const targets = [2, 4];
      const negatives = [1, 4, 5];
      const q = [0.5, 0.2, 0.3];
      const { pos } = sampledSoftmaxTerms(
        h,
        table,
        tf.tensor1d(targets, 'int32'),
        tf.tensor1d(negatives, 'int32'),
        tf.tensor1d(q.map(Math.log)),
      );
      const H = h.arraySync();
      const E = table.arraySync();
      const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
      const got = pos.dataSync();
      for (let m = 0; m < 2; m++) {
        const s = dot(H[m]!, E[targets[m]!]!);
        let z = Math.exp(s);
        negatives.forEach((j, c) => {
          if (j !== targets[m]) z += Math.exp(dot(H[m]!, E[j]!) - Math.log(3 * q[c]!));
        });
        expect(got[m]!).toBeCloseTo(Math.log(z) - s, 4);
      }
    });
  });
});

describe('binary losses', () => {
  it('gBCE beta is 1 at t = 0 and alpha at t = 1', () => {
    expect(gbceBeta(256, 4001, 0)).toBeCloseTo(1, 12);
    expect(gbceBeta(256, 4001, 1)).toBeCloseTo(256 / 4000, 12);
    expect(gbceBeta(256, 4001, 0.75)).toBeCloseTo((256 / 4000) * (0.75 * (1 - 4000 / 256) + 4000 / 256), 12);
    // As many negatives as other tracks, or more: nothing to correct, beta 1 (it was 2.19 for 256 of 100).
    expect(gbceBeta(256, 100, 0.75)).toBe(1);
    expect(gbceBeta(99, 100, 0.75)).toBe(1);
  });

  it('gBCE with t = 0 equals BCE with the same k negatives', () => {
    tf.tidy(() => {
      const M = 5;
      const k = 4;
      const h = randn([M, 3], 13) as tf.Tensor2D;
      const table = randn([10, 3], 14) as tf.Tensor2D;
      const targets = tf.tensor1d([1, 2, 3, 8, 9], 'int32');
      const shared = [4, 5, 6, 7];
      const perRow = Array.from({ length: M * k }, (_, i) => shared[i % k]!);
      const g = binaryTerms(h, table, targets, tf.tensor1d(shared, 'int32'), {
        shared: true,
        beta: gbceBeta(k, 9, 0),
      });
      const b = binaryTerms(h, table, targets, tf.tensor1d(perRow, 'int32'), { shared: false, beta: 1 });
      expect(maxAbsDiff(g.pos, b.pos)).toBeLessThan(1e-6);
      // beta < 1 lowers the positive term
      const g75 = binaryTerms(h, table, targets, tf.tensor1d(shared, 'int32'), {
        shared: true,
        beta: gbceBeta(k, 9, 0.75),
      });
      expect(tf.sum(g75.pos).dataSync()[0]!).toBeLessThan(tf.sum(g.pos).dataSync()[0]!);
    });
  });

  it('the one-negative BCE is softplus(-s_pos) + softplus(s_neg)', () => {
    tf.tidy(() => {
      const h = tf.tensor2d([[1, 0]]);
      const table = tf.tensor2d([
        [0, 0],
        [2, 0],
        [-1, 0],
      ]);
      const { pos, unl } = binaryTerms(h, table, tf.tensor1d([1], 'int32'), tf.tensor1d([2], 'int32'), {
        shared: false,
        beta: 1,
        withUnlikelihood: true,
      });
      const sp = (x: number) => Math.log1p(Math.exp(x));
      expect(pos.dataSync()[0]!).toBeCloseTo(sp(-2) + sp(-1), 5);
      expect(unl!.dataSync()[0]!).toBeCloseTo(sp(2), 5);
    });
  });
});

describe('batches', () => {
  const seqs = new Map([
    ['u1', Int32Array.of(1, 2, 3, 4, 5, 6, 7)],
    ['u2', Int32Array.of(8, 9)],
    ['u3', Int32Array.of(5)],
  ]);

  it('cuts long histories into windows whose targets do not overlap', () => {
    const w = buildWindows(seqs, { maxlen: 3, maxWindowsPerUser: 5 });
    expect(w.map((x) => [...x.items])).toEqual([
      [4, 5, 6, 7],
      [1, 2, 3, 4],
      [8, 9],
    ]);
    const capped = buildWindows(seqs, { maxlen: 3, maxWindowsPerUser: 1 });
    expect(capped.map((x) => [...x.items])).toEqual([
      [4, 5, 6, 7],
      [8, 9],
    ]);
  });

  it('keeps the most recent windows of a long history as views of its sequence, with aligned rewards', () => {
    // u1: 41 items, maxlen 4 -> windows ending at 41, 37, 33, ..., 5: 10 windows; cap 4 keeps 4.
    const long = new Map([
      ['u1', Int32Array.from({ length: 41 }, (_, i) => i + 1)],
      ['u2', Int32Array.of(8, 9, 10)],
    ]);
    const rewards = new Map([['u1', Float32Array.from({ length: 41 }, (_, i) => (i % 3) - 1)]]);
    expect(buildWindows(long, { maxlen: 4, maxWindowsPerUser: 100 })).toHaveLength(11);
    const w = buildWindows(long, { maxlen: 4, maxWindowsPerUser: 4, rewards });
    expect(w).toHaveLength(5);
    expect(w.map((x) => x.start)).toEqual([36, 32, 28, 24, 0]);
    for (const x of w) {
      expect([...x.items]).toEqual([...x.seq.subarray(x.start, x.start + x.items.length)]);
      expect(x.weights).toHaveLength(x.items.length - 1);
    }
    // The target of window 0's first position is item 37 (index 37): reward (37 % 3) - 1 = 0 -> weight 0.
    const r = rewards.get('u1')!;
    expect([...w[0]!.weights]).toEqual([...r.subarray(37, 41)].map((v) => Math.max(0, v)));
    expect(buildWindows(long, { maxlen: 4, maxWindowsPerUser: 4 }).map((x) => x.start)).toEqual([
      36, 32, 28, 24, 0,
    ]);
  });

  it('buckets play counts by log2 and counts plays over the whole sequence, not just the window', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 63, 64, 1000].map(playCountBucket)).toEqual([0, 1, 2, 2, 3, 3, 4, 6, 7, 7]);
    expect([...playCountBuckets([7, 3, 7, 7, 7])]).toEqual([1, 1, 2, 2, 3]);
    const w = buildWindows(new Map([['u', Int32Array.of(5, 5, 5, 1, 5)]]), {
      maxlen: 2,
      maxWindowsPerUser: 1,
    });
    expect([...w[0]!.items]).toEqual([5, 1, 5]);
    expect([...w[0]!.plays]).toEqual([2, 1, 3]); // the window's first 5 is the third play
  });

  it('history candidates: most played first, recency breaks ties, features per HISTORY_BIAS_FEATURES', () => {
    const F = HISTORY_BIAS_FEATURES.length;
    const c = historyCandidates([3, 5, 3, 9, 5, 5], 6, 2);
    expect(c.items).toEqual([5, 3, 9]);
    expect([...c.features.slice(0, F)].map((x) => Number(x.toFixed(4)))).toEqual([
      1,
      Number(Math.log(3).toFixed(4)),
      0,
      1,
      1,
    ]);
    expect([...c.features.slice(F, 2 * F)].map((x) => Number(x.toFixed(4)))).toEqual([
      1,
      Number(Math.log(2).toFixed(4)),
      Number(Math.log1p(3).toFixed(4)),
      0,
      0,
    ]);
    expect(historyCandidates([3, 5, 3, 9, 5, 5], 4, 2, 1).items).toEqual([3]); // prefix of 4, limit 1
  });

  it('the one-pass candidate run equals recounting every prefix (random sequences, small and large limits)', () => {
    const rng = createRng(9);
    for (let trial = 0; trial < 30; trial++) {
      const seq = Array.from({ length: 5 + rng.int(80) }, () => 1 + rng.int(1 + rng.int(30)));
      const limit = 1 + rng.int(12);
      const first = rng.int(seq.length);
      const runs = historyCandidatesRun(seq, first, seq.length, 7, limit);
      expect(runs).toHaveLength(seq.length - first + 1);
      runs.forEach((r, i) => {
        const direct = historyCandidates(seq, first + i, 7, limit);
        expect(r.items).toEqual(direct.items);
        expect([...r.features]).toEqual([...direct.features]);
      });
    }
  });

  it('history entries follow each target row, padded per row, and split with their rows', () => {
    const w = buildWindows(new Map([['u', Int32Array.of(4, 2, 4, 3, 4)]]), {
      maxlen: 3,
      maxWindowsPerUser: 2,
    });
    const sampler = new NegativeSampler(Float64Array.of(0, 1, 1, 1, 1));
    const b = makeBatch(w, { kind: 'none' }, sampler, createRng(1), { window: 3, limit: 2 });
    const M = b.rows.length;
    const { k } = b.history;
    expect(k).toBe(2);
    // Rows in order: window [2, 4, 3, 4] targets 4, 3, 4; window [4, 2] target 2.
    expect([...b.targets]).toEqual([4, 3, 4, 2]);
    const entries = (m: number) => [...b.history.items.slice(m * k, (m + 1) * k)];
    expect(entries(0)).toEqual([2, 4]); // prefix 4 2: one play each, the most recent first
    expect(entries(1)).toEqual([4, 2]); // prefix 4 2 4
    expect(entries(2)).toEqual([4, 3]); // prefix 4 2 4 3 (3 more recent than 2)
    expect(entries(3)).toEqual([4, 0]); // prefix 4, padded
    expect([...b.history.isTarget.slice(0, k)]).toEqual([0, 1]); // row 0's target is 4
    expect([...b.history.mask.slice(3 * k, 4 * k)]).toEqual([1, 0]);
    const parts = splitSeqBatch(b, 2, 'none');
    const joined = parts.flatMap((p) => [...p.batch.history.items]);
    expect(joined).toEqual([...b.history.items]);
    expect(parts.reduce((n, p) => n + p.batch.history.items.length / k, 0)).toBe(M);
  });

  it('carries rewards and early skips per target', () => {
    const w = buildWindows(new Map([['u', Int32Array.of(1, 2, 3)]]), {
      maxlen: 5,
      maxWindowsPerUser: 1,
      rewards: new Map([['u', Float32Array.of(9, 0.5, -2)]]),
      skips: new Map([['u', Uint8Array.of(0, 1, 0)]]),
    });
    expect([...w[0]!.weights]).toEqual([0, 0]); // target 2 is a skip; target 3 has a negative reward
    expect([...w[0]!.unlikely]).toEqual([1, 0]);
  });

  it('left-pads to the longest window and lists only real target rows', () => {
    const w = buildWindows(seqs, { maxlen: 3, maxWindowsPerUser: 5 });
    const sampler = new NegativeSampler(Float64Array.of(0, 1, 1, 1, 1, 1, 1, 1, 1, 1));
    const b = makeBatch([w[0]!, w[2]!], { kind: 'per-row', k: 2 }, sampler, createRng(1));
    expect(b.length).toBe(3);
    expect([...b.inputs]).toEqual([4, 5, 6, 0, 0, 8]);
    expect([...b.rows]).toEqual([0, 1, 2, 5]);
    expect([...b.targets]).toEqual([5, 6, 7, 9]);
    expect(b.negatives.length).toBe(8);
    for (let r = 0; r < 3; r++)
      for (let j = 0; j < 2; j++) expect([4, 5, 6, 7]).not.toContain(b.negatives[r * 2 + j]);
  });

  it('an epoch visits every window once, deterministically per seed', () => {
    const windows = buildWindows(
      new Map(
        Array.from({ length: 50 }, (_, u) => [
          `u${u}`,
          Int32Array.from({ length: 2 + (u % 9) }, (_, i) => 1 + i),
        ]),
      ),
      { maxlen: 4, maxWindowsPerUser: 3 },
    );
    const sampler = new NegativeSampler(Float64Array.of(0, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1));
    const run = (seed: number) => [
      ...epochBatches(
        windows,
        8,
        { kind: 'shared', k: 3, distribution: 'popularity' },
        sampler,
        createRng(seed),
      ),
    ];
    const a = run(3);
    expect(a.length).toBe(batchesPerEpoch(windows.length, 8));
    expect(a.reduce((s, b) => s + b.size, 0)).toBe(windows.length);
    expect(a.reduce((s, b) => s + b.rows.length, 0)).toBe(
      windows.reduce((s, w) => s + w.items.length - 1, 0),
    );
    expect(run(3)).toEqual(a);
    expect(run(4)).not.toEqual(a);
  });

  it('popularity sampling follows the counts', () => {
    const sampler = new NegativeSampler(Float64Array.of(0, 8, 0, 2));
    const rng = createRng(5);
    const seen = [0, 0, 0, 0];
    for (let i = 0; i < 2000; i++) seen[sampler.popular(rng)]!++;
    expect(seen[2]).toBe(0);
    expect(seen[1]! / 2000).toBeGreaterThan(0.75);
    expect(seen[1]! / 2000).toBeLessThan(0.85);
  });
});
