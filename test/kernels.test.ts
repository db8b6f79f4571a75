// Tests of the WebAssembly SIMD BatchMatMul kernel: the committed bytes match the .wat source, products match a
// float64 reference on random shapes (both transposes, broadcasting, tails of rows and columns), and on wasm
// tf.matMul and its gradients go through the kernel and agree with the cpu backend.
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { assembleMatMulWasm, matMulWasmSource } from '../src/kernels/make-wasm.js';
import { type MatMulShape, simdMatMul } from '../src/kernels/matmul.js';
import { installWasmKernels, uninstallWasmKernels, wasmKernelsInstalled } from '../src/kernels/wasm.js';
import { createRng } from '../src/util/random.js';

function randomArray(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
}

/** op(a[i]) x op(b[i]) in float64, row-major [batch, m, n]. */
function reference(a: Float32Array, b: Float32Array, s: MatMulShape): Float64Array {
  const batch = Math.max(s.batchA, s.batchB);
  const out = new Float64Array(batch * s.m * s.n);
  for (let bi = 0; bi < batch; bi++) {
    const ao = (s.batchA > 1 ? bi : 0) * s.m * s.k;
    const bo = (s.batchB > 1 ? bi : 0) * s.k * s.n;
    for (let i = 0; i < s.m; i++) {
      for (let j = 0; j < s.n; j++) {
        let sum = 0;
        for (let p = 0; p < s.k; p++) {
          const av = s.transposeA ? a[ao + p * s.m + i]! : a[ao + i * s.k + p]!;
          const bv = s.transposeB ? b[bo + j * s.k + p]! : b[bo + p * s.n + j]!;
          sum += av * bv;
        }
        out[bi * s.m * s.n + i * s.n + j] = sum;
      }
    }
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('SIMD matMul kernel', () => {
  it('src/kernels/matmul-wasm.ts is the assembled src/kernels/matmul.wat (run npm run wasm after editing it)', async () => {
    const committed = await readFile(new URL('../src/kernels/matmul-wasm.ts', import.meta.url), 'utf8');
    expect(committed).toBe(matMulWasmSource(await assembleMatMulWasm()));
  });

  it('matches a float64 reference on random shapes, transposes and broadcasts', () => {
    fc.assert(
      fc.property(
        fc.record({
          batch: fc.integer({ min: 1, max: 5 }),
          broadcast: fc.constantFrom('none', 'a', 'b'),
          m: fc.integer({ min: 1, max: 19 }),
          k: fc.integer({ min: 1, max: 21 }),
          n: fc.integer({ min: 1, max: 27 }),
          transposeA: fc.boolean(),
          transposeB: fc.boolean(),
          seed: fc.integer({ min: 0, max: 1000 }),
        }),
        (r) => {
          const shape: MatMulShape = {
            batchA: r.broadcast === 'a' ? 1 : r.batch,
            batchB: r.broadcast === 'b' ? 1 : r.batch,
            m: r.m,
            k: r.k,
            n: r.n,
            transposeA: r.transposeA,
            transposeB: r.transposeB,
          };
          const a = randomArray(shape.batchA * r.m * r.k, r.seed);
          const b = randomArray(shape.batchB * r.k * r.n, r.seed + 1);
          const out = new Float32Array(Math.max(shape.batchA, shape.batchB) * r.m * r.n).fill(Number.NaN);
          expect(simdMatMul(a, b, out, shape)).toBe(true);
          expect(maxAbsDiff(out, reference(a, b, shape))).toBeLessThan(1e-5);
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('keeps exact zeros, infinities and NaN where a plain loop would', () => {
    const shape: MatMulShape = {
      batchA: 1,
      batchB: 1,
      m: 5,
      k: 3,
      n: 9,
      transposeA: false,
      transposeB: false,
    };
    const a = new Float32Array(15);
    a[0] = Number.POSITIVE_INFINITY; // row 0 has +Inf at k 0
    a[4] = Number.NaN; // row 1 has NaN at k 1
    const b = new Float32Array(27).fill(1);
    const out = new Float32Array(45);
    simdMatMul(a, b, out, shape);
    expect([...out.subarray(0, 9)]).toEqual(new Array(9).fill(Number.POSITIVE_INFINITY));
    expect(out.subarray(9, 18).every(Number.isNaN)).toBe(true);
    expect([...out.subarray(18)]).toEqual(new Array(27).fill(0));
  });
});

describe("encore's wasm kernels in the backend", () => {
  beforeAll(async () => {
    await initBackend({ backend: 'wasm', verbose: false });
  });
  afterAll(() => {
    installWasmKernels();
  });

  /** f on wasm and on cpu, as flat arrays. */
  async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<[number[], number[]]> {
    const run = () => tf.tidy(() => [f()].flat().flatMap((t) => [...t.dataSync()]));
    const wasm = run();
    await tf.setBackend('cpu');
    try {
      return [wasm, run()];
    } finally {
      await tf.setBackend('wasm');
    }
  }

  it('is installed by initBackend, and tf.matMul goes through it with the same results as cpu', async () => {
    expect(wasmKernelsInstalled()).toBe(true);
    const a = [...randomArray(3 * 2 * 11 * 16, 1)];
    const b = [...randomArray(3 * 2 * 13 * 16, 2)];
    const before = tf.memory().numTensors;
    const [wasm, cpu] = await onBoth(() => {
      const x = tf.tensor4d(a, [3, 2, 11, 16]); // [B, h, L, dh]
      const y = tf.tensor4d(b, [3, 2, 13, 16]);
      const single = tf.tensor2d(a.slice(0, 11 * 16), [11, 16]);
      return [
        tf.matMul(x, y, false, true), // [3, 2, 11, 13]: attention scores
        tf.matMul(x, x, true, false), // [3, 2, 16, 16]
        tf.matMul(single, y.reshape([6, 13, 16]), false, true), // broadcast a: [6, 11, 13]
        tf.matMul(single, single, false, true), // one transposed product: [11, 11]
        tf.matMul(single, single.transpose()), // one plain product: XNNPACK's
      ];
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(maxAbsDiff(wasm, cpu)).toBeLessThan(1e-5);
  });

  it('broadcasts batch shapes on both sides ([3, 1] x [3] is 9 products), which tfjs-backend-wasm gets wrong', async () => {
    const sa = [3, 1, 2, 4];
    const sb = [3, 4, 5];
    const a = randomArray(3 * 2 * 4, 6);
    const b = randomArray(3 * 4 * 5, 7);
    const out = tf.tidy(() => tf.matMul(tf.tensor(a, sa), tf.tensor(b, sb)));
    expect(out.shape).toEqual([3, 3, 2, 5]);
    const got = out.dataSync();
    out.dispose();
    // Output [i, j] multiplies a[i, 0] by b[j].
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const want = reference(a.subarray(i * 8, i * 8 + 8), b.subarray(j * 20, j * 20 + 20), {
          batchA: 1,
          batchB: 1,
          m: 2,
          k: 4,
          n: 5,
          transposeA: false,
          transposeB: false,
        });
        expect(maxAbsDiff(got.subarray((i * 3 + j) * 10, (i * 3 + j) * 10 + 10), want)).toBeLessThan(1e-5);
      }
  });

  it('gives the gradients of attention that cpu gives', async () => {
    const q = [...randomArray(2 * 7 * 8, 3)];
    const k = [...randomArray(2 * 7 * 8, 4)];
    const w = [...randomArray(2 * 7 * 8, 5)];
    const [wasm, cpu] = await onBoth(() => {
      const qt = tf.tensor3d(q, [2, 7, 8]);
      const kt = tf.tensor3d(k, [2, 7, 8]);
      const wt = tf.tensor3d(w, [2, 7, 8]);
      const attention = (x: tf.Tensor3D, y: tf.Tensor3D) =>
        tf
          .matMul(tf.softmax(tf.matMul(x, y, false, true)), y)
          .mul(wt)
          .sum(); // scalar
      const grads = tf.grads((x, y) => attention(x as tf.Tensor3D, y as tf.Tensor3D))([qt, kt]);
      return [attention(qt, kt), ...grads];
    });
    expect(maxAbsDiff(wasm, cpu)).toBeLessThan(1e-5);
  });

  it('clones by sharing memory, and the clone outlives the original and is untouched by its reassignment', () => {
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, 2, 3]);
    const y = x.clone();
    const v = tf.tidy(() => tf.variable(x.clone()));
    tf.tidy(() => v.assign(tf.zeros([3])));
    x.dispose();
    expect([...y.dataSync()]).toEqual([1, 2, 3]);
    expect([...v.dataSync()]).toEqual([0, 0, 0]);
    const s = tf.tidy(() => tf.tensor1d(['a', 'b'], 'string').clone());
    expect(s.dataSync()).toEqual(['a', 'b']);
    tf.dispose([y, v, s]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('hands int32 products and empty ones to tfjs, and can be taken out and put back', () => {
    const empty = tf.tidy(() => tf.matMul(tf.zeros([2, 3, 0]), tf.zeros([2, 0, 4])).shape);
    expect(empty).toEqual([2, 3, 4]);
    // A batch of no matrices against one matrix is no product at all (it wrote past its memory before).
    const before = tf.memory().numTensors;
    for (const [a, b, ta, tb] of [
      [[0, 300, 300], [300, 300], false, true],
      [[0, 300, 300], [1, 300, 300], true, false],
      [[300, 300], [0, 300, 300], false, true],
    ] as const) {
      const shape = tf.tidy(() => tf.matMul(tf.zeros([...a]), tf.zeros([...b]), ta, tb).shape);
      expect(shape).toEqual([0, 300, 300]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => tf.tidy(() => tf.matMul(tf.ones([2, 2, 2], 'int32'), tf.ones([2, 2, 2], 'int32')))).toThrow(
      /float32/,
    );
    uninstallWasmKernels();
    expect(wasmKernelsInstalled()).toBe(false);
    const plain = tf.tidy(() => [...tf.matMul(tf.ones([2, 2, 3]), tf.ones([2, 3, 2])).dataSync()]);
    expect(plain).toEqual(new Array(8).fill(3));
    expect(installWasmKernels()).toBe(true);
    expect(installWasmKernels()).toBe(true);
    expect(wasmKernelsInstalled()).toBe(true);
  });
});
