// SASRec training quality: learning-rate warmup, gradients against a plain-autodiff reference, warmup option checks.
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { InvalidOptionError } from '../src/errors.js';
import { SASRec } from '../src/models/sasrec.js';
import { buildWindows, makeBatch, NegativeSampler } from '../src/train/batches.js';
import { createOptimizer, disposeGradient, type TrainableModel, train } from '../src/train/trainer.js';
import { createRng } from '../src/util/random.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu', verbose: false });
});

/** A one-variable model whose gradient is always +1 per element. */
function constantGradModel(): TrainableModel<null> & { w: tf.Variable } {
  const w = tf.tidy(() => tf.variable(tf.zeros([3]), true, 'warmup-test-w'));
  return {
    w,
    variables: { w },
    computeGradients: () => ({ loss: 0, grads: { w: tf.ones([3]) } }),
    getWeights: () => ({ w: w.dataSync() as Float32Array }),
    setWeights: () => {},
  };
}

describe('learning-rate warmup', () => {
  it('scales Adam updates linearly over warmupSteps, then uses the full rate', () => {
    const before = tf.memory().numTensors;
    const model = constantGradModel();
    const opt = createOptimizer(model, { learningRate: 0.1, warmupSteps: 4 });
    const deltas: number[] = [];
    let prev = 0;
    for (let s = 0; s < 6; s++) {
      opt.apply(model.computeGradients(null).grads);
      const now = model.w.dataSync()[0]!;
      deltas.push(prev - now);
      prev = now;
    }
    // Adam with a constant gradient moves each weight by (almost exactly) the learning rate per step.
    expect(deltas.map((d) => Number(d.toFixed(4)))).toEqual([0.025, 0.05, 0.075, 0.1, 0.1, 0.1]);
    opt.dispose();
    model.w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a bad warmupSteps before any work', async () => {
    const ds = Dataset.fromListens([
      { userId: 'u', trackId: 'a', timestamp: 1 },
      { userId: 'u', trackId: 'b', timestamp: 2 },
    ]);
    await expect(SASRec.fit(ds, { warmupSteps: -1 })).rejects.toThrow(InvalidOptionError);
    await expect(SASRec.fit(ds, { warmupSteps: 1.5 })).rejects.toThrow(/warmupSteps/);
  });
});

describe('Adam', () => {
  it('gives the same weights as tf.train.adam bit for bit, and leaves no tensors behind', () => {
    const before = tf.memory().numTensors;
    const rng = createRng(3);
    const init = {
      a: Float32Array.from({ length: 12 }, () => rng.normal()),
      b: Float32Array.from({ length: 5 }, () => rng.normal()),
    };
    const vars = () =>
      tf.tidy(() => ({ a: tf.variable(tf.tensor(init.a, [4, 3])), b: tf.variable(tf.tensor(init.b)) }));
    const mine = vars();
    const ref = vars();
    const model: TrainableModel<null> = {
      variables: mine,
      computeGradients: () => ({ loss: 0, grads: {} }),
      getWeights: () => ({}),
      setWeights: () => {},
    };
    const opt = createOptimizer(model, { learningRate: 0.01, beta2: 0.98 });
    const adam = tf.train.adam(0.01, 0.9, 0.98, 1e-8);
    for (let step = 0; step < 5; step++) {
      const ga = Float32Array.from({ length: 12 }, () => rng.normal());
      const gb = Float32Array.from({ length: 5 }, () => rng.normal());
      opt.apply({ a: tf.tensor(ga, [4, 3]), b: tf.tensor(gb) });
      tf.tidy(() =>
        adam.applyGradients([
          { name: ref.a.name, tensor: tf.tensor(ga, [4, 3]) },
          { name: ref.b.name, tensor: tf.tensor(gb) },
        ]),
      );
    }
    expect(Array.from(mine.a.dataSync())).toEqual(Array.from(ref.a.dataSync()));
    expect(Array.from(mine.b.dataSync())).toEqual(Array.from(ref.b.dataSync()));
    expect(Array.from(mine.a.dataSync())).not.toEqual(Array.from(init.a));
    opt.dispose();
    adam.dispose();
    tf.dispose([mine.a, mine.b, ref.a, ref.b]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('learning-rate decay on plateau', () => {
  it('halves the step after each epoch without validation improvement, and only then', async () => {
    const before = tf.memory().numTensors;
    const model = constantGradModel();
    const scores = [0.1, 0.2, 0.15, 0.12, 0.3];
    const steps: number[] = [];
    let prev = 0;
    await train(model, {
      epochs: 5,
      learningRate: 0.1,
      plateauDecay: 0.5,
      batches: () => [null],
      batchesPerEpoch: 1,
      validate: async () => {
        const now = model.w.dataSync()[0]!;
        steps.push(Number((prev - now).toFixed(4)));
        prev = now;
        return scores[steps.length - 1]!;
      },
      patience: 10,
      maxSeconds: Number.POSITIVE_INFINITY,
    });
    // Epochs 3 and 4 do not improve on 0.2: the rate halves after each of them.
    expect(steps).toEqual([0.1, 0.1, 0.1, 0.05, 0.025]);
    model.w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a plateauDecay outside (0, 1]', async () => {
    const ds = Dataset.fromListens([
      { userId: 'u', trackId: 'a', timestamp: 1 },
      { userId: 'u', trackId: 'b', timestamp: 2 },
    ]);
    await expect(SASRec.fit(ds, { plateauDecay: 0 })).rejects.toThrow(/plateauDecay/);
    await expect(SASRec.fit(ds, { plateauDecay: 1.5 })).rejects.toThrow(InvalidOptionError);
  });
});

describe('weight averaging (ema)', () => {
  /** A one-variable model with a constant gradient, so Adam moves w by -learningRate per step. */
  function averagedModel(): TrainableModel<null> & { w: tf.Variable } {
    const w = tf.tidy(() => tf.variable(tf.zeros([2]), true, 'ema-test-w'));
    return {
      w,
      variables: { w },
      computeGradients: () => ({ loss: 0, grads: { w: tf.ones([2]) } }),
      getWeights: () => ({ w: Float32Array.from(w.dataSync()) }),
      setWeights: (x) => tf.tidy(() => w.assign(tf.tensor(x.w!, [2]))),
    };
  }
  /** The moving average after each step of the raw trajectory -0.1, -0.2, ... (decay min(ema, (1+t)/(10+t))). */
  function expectedAverages(steps: number, ema: number): number[] {
    const out: number[] = [];
    let avg = 0;
    for (let t = 0; t < steps; t++) {
      const d = Math.min(ema, (1 + t) / (10 + t));
      avg = d * avg + (1 - d) * -0.1 * (t + 1);
      out.push(avg);
    }
    return out;
  }

  it('validates and keeps the averaged weights while training goes on from the raw ones', async () => {
    const before = tf.memory().numTensors;
    const model = averagedModel();
    const validated: number[] = [];
    const raw: number[] = [];
    const result = await train(model, {
      epochs: 3,
      learningRate: 0.1,
      ema: 0.9,
      batches: () => [null, null, null, null],
      batchesPerEpoch: 4,
      // Higher w scores better, so epoch 1 (the least negative average) is the best.
      validate: async () => {
        validated.push(model.w.dataSync()[0]!);
        return validated.at(-1)!;
      },
      onEpochEnd: () => {
        raw.push(model.w.dataSync()[0]!);
      },
      patience: 5,
      maxSeconds: Number.POSITIVE_INFINITY,
    });
    const avg = expectedAverages(12, 0.9);
    validated.forEach((v, e) => {
      expect(v).toBeCloseTo(avg[4 * e + 3]!, 5);
    });
    // Training was not moved by the averaging: the raw weights took 4 steps of 0.1 per epoch.
    raw.forEach((v, e) => {
      expect(v).toBeCloseTo(-0.4 * (e + 1), 5);
    });
    expect(result.bestEpoch).toBe(1);
    expect(model.w.dataSync()[0]!).toBeCloseTo(avg[3]!, 5);
    model.w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('returns the average of the last step without validation, and rejects an ema outside [0, 1)', async () => {
    const before = tf.memory().numTensors;
    const model = averagedModel();
    await train(model, {
      epochs: 2,
      learningRate: 0.1,
      ema: 0.5,
      batches: () => [null, null, null],
      batchesPerEpoch: 3,
      patience: 1,
      maxSeconds: Number.POSITIVE_INFINITY,
    });
    expect(model.w.dataSync()[1]!).toBeCloseTo(expectedAverages(6, 0.5)[5]!, 5);
    model.w.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const ds = Dataset.fromListens([
      { userId: 'u', trackId: 'a', timestamp: 1 },
      { userId: 'u', trackId: 'b', timestamp: 2 },
    ]);
    await expect(SASRec.fit(ds, { ema: 1 })).rejects.toThrow(/ema/);
    await expect(SASRec.fit(ds, { ema: -0.1 })).rejects.toThrow(InvalidOptionError);
  });
});

describe('minimum steps per epoch', () => {
  /** 12 listeners with 30 listens each: with maxlen 10 and batch 8, one pass is a handful of steps. */
  const listens: Listen[] = [];
  for (let u = 0; u < 12; u++)
    for (let i = 0; i < 30; i++)
      listens.push({ userId: `u${u}`, trackId: `t${(u + i * 3) % 17}`, timestamp: i });
  const validation = [{ userId: 'u0', history: ['t0', 't3', 't6'], target: 't9' }];
  const opts = { dim: 8, blocks: 1, maxlen: 10, batchSize: 8, epochs: 2, progress: false, validation };
  const stepsOf = (m: SASRec) => m.trainResult!.history.map((h) => h.steps);

  it('makes an epoch as many passes as it takes to reach minStepsPerEpoch steps when validating', async () => {
    const ds = Dataset.fromListens(listens);
    const one = await SASRec.fit(ds, { ...opts, minStepsPerEpoch: 1 });
    const pass = stepsOf(one)[0]!;
    one.dispose();
    expect(pass).toBeGreaterThan(1);
    const before = tf.memory().numTensors;
    const model = await SASRec.fit(ds, { ...opts, minStepsPerEpoch: 2 * pass + 1 });
    // Three passes are the fewest that reach 2 * pass + 1 steps.
    expect(stepsOf(model)).toEqual([3 * pass, 3 * pass]);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Without validation there is nothing to act on: an epoch stays one pass.
    const plain = await SASRec.fit(ds, { ...opts, validation: 'none', minStepsPerEpoch: 2 * pass + 1 });
    expect(stepsOf(plain)).toEqual([pass, pass]);
    plain.dispose();
  });

  it('cuts an epoch short at the first batch past maxSeconds, then validates and stops', async () => {
    const ds = Dataset.fromListens(listens);
    const one = await SASRec.fit(ds, { ...opts, minStepsPerEpoch: 1, epochs: 1 });
    const pass = stepsOf(one)[0]!;
    one.dispose();
    expect(pass).toBeGreaterThan(1);
    const before = tf.memory().numTensors;
    // A budget spent by the first step: one step is taken (never none), then the epoch ends mid-pass.
    const quick = await SASRec.fit(ds, { ...opts, minStepsPerEpoch: 10 * pass, maxSeconds: 1e-3 });
    expect(stepsOf(quick)).toEqual([1]);
    expect(quick.trainResult).toMatchObject({ epochs: 1, stoppedBy: 'maxSeconds' });
    expect(quick.trainResult!.history[0]!.valNdcg10).toBeTypeOf('number');
    quick.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects a minStepsPerEpoch that is not an integer >= 1', async () => {
    const ds = Dataset.fromListens(listens);
    await expect(SASRec.fit(ds, { minStepsPerEpoch: 0 })).rejects.toThrow(/minStepsPerEpoch/);
    await expect(SASRec.fit(ds, { minStepsPerEpoch: 2.5 })).rejects.toThrow(InvalidOptionError);
  });
});

describe('SASRec gradients', () => {
  it('match a plain-autodiff reference of the same forward pass (tf.gather, tf.matMul, tf.logSumExp)', async () => {
    // With playCounts: the play-count embedding is part of the input.
    const rng = createRng(3);
    const listens: Listen[] = [];
    for (let u = 0; u < 30; u++) {
      const n = 3 + rng.int(10);
      for (let i = 0; i < n; i++) listens.push({ userId: `u${u}`, trackId: `t${rng.int(12)}`, timestamp: i });
    }
    const ds = Dataset.fromListens(listens);
    const d = 8;
    const maxlen = 6;
    const heads = 2;
    const model = await SASRec.fit(ds, {
      dim: d,
      blocks: 2,
      heads,
      maxlen,
      dropout: 0,
      epochs: 1,
      validation: 'none',
      progress: false,
      workers: 1,
      seed: 5,
      playCounts: true,
      lastBias: false, // the reference below is the plain softmax (the biases have their own tests)
      historyBias: false,
    });
    const windows = buildWindows(ds.sequences, { maxlen, maxWindowsPerUser: 3 });
    const batch = makeBatch(
      windows.slice(0, 16),
      { kind: 'none' },
      new NegativeSampler(ds.itemCounts),
      createRng(1),
    );
    const before = tf.memory().numTensors;
    const { loss, grads } = model.computeGradients(batch);
    const V = model.variables;
    const { size: B, length: L } = batch;
    const ln = (x: tf.Tensor, n: string) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(
        tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-8))), V[`${n}.g`]!),
        V[`${n}.b`]!,
      );
    };
    const lin = (x: tf.Tensor, n: string) =>
      tf.add(tf.matMul(x as tf.Tensor2D, V[`${n}.w`]! as tf.Tensor2D), V[`${n}.b`]!);
    // Independent forward pass: right-aligned positions, pre-LN blocks, causal + key-padding mask, full softmax.
    const reference = () => {
      const ids = tf.tensor2d(batch.inputs, [B, L], 'int32');
      const mask = tf.cast(tf.notEqual(ids, 0), 'float32').reshape([B, L, 1]);
      const pos = tf.slice(V.pos_emb!, [maxlen - L, 0], [L, d]);
      const plays = tf.gather(V.play_emb!, tf.tensor2d(batch.plays, [B, L], 'int32')); // play-count embedding
      let x: tf.Tensor = tf.mul(
        tf.add(tf.add(tf.mul(tf.gather(V.item_emb!, ids), Math.sqrt(d)), pos), plays),
        mask,
      );
      const allowed = tf.logicalAnd(
        tf.linalg
          .bandPart(tf.ones([L, L]), -1, 0)
          .cast('bool')
          .reshape([1, 1, L, L]),
        tf.notEqual(ids, 0).reshape([B, 1, 1, L]),
      );
      const attn = (qi: tf.Tensor, kv: tf.Tensor, b: string) => {
        const sp = (t: tf.Tensor) => t.reshape([B, L, heads, d / heads]).transpose([0, 2, 1, 3]);
        const q = sp(lin(qi.reshape([B * L, d]), `${b}.q`));
        const k = sp(lin(kv.reshape([B * L, d]), `${b}.k`));
        const v = sp(lin(kv.reshape([B * L, d]), `${b}.v`));
        const s = tf.div(tf.matMul(q, k, false, true), Math.sqrt(d / heads)); // [B, h, L, L]
        const masked = tf.where(tf.broadcastTo(allowed, s.shape), s, tf.fill(s.shape, -1e9));
        const c = tf
          .matMul(tf.softmax(masked), v)
          .transpose([0, 2, 1, 3])
          .reshape([B * L, d]);
        return lin(c, `${b}.o`).reshape([B, L, d]);
      };
      const ffn = (t: tf.Tensor, b: string) =>
        lin(tf.relu(lin(t.reshape([B * L, d]), `${b}.f1`)), `${b}.f2`).reshape([B, L, d]);
      for (let b = 0; b < 2; b++) {
        const q = ln(x, `b${b}.ln1`);
        x = tf.add(q, attn(q, x, `b${b}`));
        x = ln(x, `b${b}.ln2`);
        x = tf.mul(tf.add(x, ffn(x, `b${b}`)), mask);
      }
      const h = tf.gather(ln(x, 'lnf').reshape([B * L, d]), tf.tensor1d(batch.rows, 'int32'));
      const items = tf.slice(V.item_emb!, [1, 0], [-1, -1]); // padding row 0 is never a candidate
      const logits = tf.matMul(h, items, false, true);
      const lp = tf.sub(logits, tf.logSumExp(logits, 1, true));
      const target = tf.oneHot(
        tf.tensor1d(
          batch.targets.map((t) => t - 1),
          'int32',
        ),
        logits.shape[1]!,
      );
      return tf.neg(tf.mean(tf.sum(tf.mul(lp, target), 1))) as tf.Scalar;
    };
    const names = Object.keys(V);
    const ref = tf.variableGrads(
      reference,
      names.map((n) => V[n]!),
    );
    expect(loss).toBeCloseTo(ref.value.dataSync()[0]!, 5);
    // Key biases get (numerically) zero gradient: softmax ignores a constant added to every score.
    for (const n of names.filter((x) => !x.endsWith('.k.b'))) {
      const a = (grads[n] as tf.Tensor).dataSync(); // full softmax: dense gradients
      const b = ref.grads[V[n]!.name]!.dataSync();
      let num = 0;
      let den = 0;
      for (let i = 0; i < a.length; i++) {
        num += (a[i]! - b[i]!) ** 2;
        den += b[i]! ** 2;
      }
      expect(Math.sqrt(num / Math.max(den, 1e-20)), n).toBeLessThan(1e-4);
    }
    for (const g of Object.values(grads)) disposeGradient(g);
    for (const g of Object.values(ref.grads)) g.dispose();
    ref.value.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
