// Tests of backend selection and of embeddingLookup's scatter gradient against a one-hot matmul reference, per backend.
import { afterAll, describe, expect, it } from 'vitest';
import { type BackendName, embeddingLookup, initBackend, tf } from '../src/backend.js';
import { InvalidOptionError } from '../src/errors.js';
import { createRng } from '../src/util/random.js';

const ROWS = 7;
const DIM = 4;
// duplicate ids (2 three times, 5 twice) and padding 0, in a [2, 4] batch
const IDS = [
  [2, 5, 2, 0],
  [6, 2, 5, 1],
];

function values(n: number, seed: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/** Loss sum(lookup(table, ids) * w) and its gradient w.r.t. the table, by embeddingLookup and by one-hot matmul. */
function gradients(): {
  out: number[];
  ref: number[];
  grad: number[];
  refGrad: number[];
  analytic: number[];
} {
  return tf.tidy(() => {
    const table = tf.tensor2d(values(ROWS * DIM, 1), [ROWS, DIM]); // [rows, dim]
    const ids = tf.tensor2d(IDS, [2, 4], 'int32'); // [2, 4]
    const w = tf.tensor3d(values(2 * 4 * DIM, 2), [2, 4, DIM]); // [2, 4, dim]
    const oneHot = tf.oneHot(ids.reshape([-1]), ROWS).toFloat(); // [8, rows]
    const viaLookup = (t: tf.Tensor) => embeddingLookup(t as tf.Tensor2D, ids); // [2, 4, dim]
    const viaMatmul = (t: tf.Tensor) => tf.matMul(oneHot, t as tf.Tensor2D).reshape([2, 4, DIM]); // [2, 4, dim]
    const grad = tf.grad((t: tf.Tensor) => viaLookup(t).mul(w).sum())(table); // [rows, dim]
    const refGrad = tf.grad((t: tf.Tensor) => viaMatmul(t).mul(w).sum())(table); // [rows, dim]
    // analytic: dL/dtable[r] = sum of w at every position whose id is r
    const wv = w.arraySync() as number[][][];
    const analytic = new Array<number>(ROWS * DIM).fill(0);
    for (let b = 0; b < IDS.length; b++) {
      for (let p = 0; p < IDS[b]!.length; p++) {
        const id = IDS[b]![p]!;
        for (let d = 0; d < DIM; d++) analytic[id * DIM + d]! += wv[b]![p]![d]!;
      }
    }
    return {
      out: [...viaLookup(table).dataSync()],
      ref: [...viaMatmul(table).dataSync()],
      grad: [...grad.dataSync()],
      refGrad: [...refGrad.dataSync()],
      analytic,
    };
  });
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a).toHaveLength(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

const notes: string[] = [];
afterAll(() => {
  if (notes.length > 0) console.log(notes.join('\n'));
});

describe.each(['cpu', 'wasm', 'tensorflow'] as BackendName[])('embeddingLookup on %s', (name) => {
  it('matches the one-hot matmul gradient (duplicate ids add up) without leaking tensors', async (ctx) => {
    let info: Awaited<ReturnType<typeof initBackend>>;
    try {
      info = await initBackend({ backend: name, verbose: false });
    } catch (e) {
      if (name === 'tensorflow' && e instanceof InvalidOptionError) {
        notes.push('backend.test: tensorflow backend skipped (@tensorflow/tfjs-node is not installed here)');
        ctx.skip();
        return;
      }
      throw e;
    }
    expect(info.name).toBe(name);
    expect(tf.getBackend()).toBe(name);
    expect(typeof info.simd).toBe('boolean');
    expect(Number.isInteger(info.threads) && info.threads >= 1).toBe(true);
    if (name !== 'wasm') expect(info.simd).toBe(false);

    const before = tf.memory().numTensors;
    const r = gradients();
    expect(tf.memory().numTensors).toBe(before);

    expect(maxAbsDiff(r.out, r.ref)).toBeLessThan(1e-6);
    expect(maxAbsDiff(r.grad, r.refGrad)).toBeLessThan(1e-6);
    expect(maxAbsDiff(r.grad, r.analytic)).toBeLessThan(1e-6);
    // rows never looked up get zero gradient; row 2 (three lookups) gets a non-trivial sum
    for (const row of [3, 4]) expect(r.grad.slice(row * DIM, row * DIM + DIM)).toEqual([0, 0, 0, 0]);
    expect(Math.abs(r.grad[2 * DIM]!)).toBeGreaterThan(0);
  });
});

describe('initBackend', () => {
  it('rejects an unknown backend from options or from ENCORE_BACKEND', async () => {
    const err = await initBackend({ backend: 'bogus' as BackendName }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect((err as InvalidOptionError).option).toBe('backend');
    expect((err as Error).message).toContain('"bogus"');

    const saved = process.env.ENCORE_BACKEND;
    process.env.ENCORE_BACKEND = 'bogus';
    try {
      const envErr = await initBackend().catch((e: unknown) => e);
      expect(envErr).toBeInstanceOf(InvalidOptionError);
      expect((envErr as InvalidOptionError).option).toBe('ENCORE_BACKEND');
      expect((envErr as Error).message).toMatch(/tensorflow, wasm, cpu/);
    } finally {
      if (saved === undefined) delete process.env.ENCORE_BACKEND;
      else process.env.ENCORE_BACKEND = saved;
    }
  });

  it('returns the same info when called again for the running backend', async () => {
    const a = await initBackend({ backend: 'cpu', verbose: false });
    const b = await initBackend({ backend: 'cpu', verbose: false });
    expect(b).toEqual(a);
    expect(a.encoreKernels).toBe(false); // they are wasm's
    expect(Object.keys(a).sort()).toEqual(['encoreKernels', 'name', 'simd', 'threads']);
  });
});
