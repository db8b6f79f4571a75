// A faster BatchMatMul for the wasm backend: batched and transposed float32 products in WebAssembly SIMD.
//
// tfjs-backend-wasm 4.22 sends a matMul to XNNPACK only when it is a single, untransposed product; every
// other one (a batch of matrices, or a transposed operand) runs on a scalar C++ loop at about 1 GFLOP/s.
// Attention is all batched products ([B, L, d] x [B, d, L] forward, and four more in the backward pass),
// so on wasm they were about half of a training step. `installWasmKernels` (src/kernels/wasm.ts) replaces the backend's
// BatchMatMul kernel with one that runs those products in src/kernels/matmul.wat (a 4 x 8 register-blocked
// SIMD loop) and hands everything else, including the single untransposed products, to the original.
import * as tf from '@tensorflow/tfjs';
import { MATMUL_WASM_BASE64 } from './matmul-wasm.js';

/** The WebAssembly API this file needs (tsconfig has no DOM library, and @types/node declares little of it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}

interface MatMulExports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  packB(src: number, dst: number, k: number, n: number, nP: number, trans: number): void;
  gemm(
    a: number,
    sai: number,
    sap: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    nP: number,
    ldc: number,
  ): void;
}

/** Scratch memory past which a product goes to the original kernel instead (inputs + panel + output). */
const MAX_SCRATCH_BYTES = 512 * 1024 * 1024;

let kernel: MatMulExports | null | undefined;

function loadKernel(): MatMulExports | null {
  if (kernel !== undefined) return kernel;
  try {
    const bytes = Buffer.from(MATMUL_WASM_BASE64, 'base64');
    const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
    const instance = new wasm.Instance(new wasm.Module(bytes), {});
    kernel = instance.exports as unknown as MatMulExports;
  } catch {
    kernel = null; // no WebAssembly SIMD in this runtime: keep tfjs' kernel
  }
  return kernel;
}

/** The shape of one batched product, as the kernels see it: `batch` products of [m, k] x [k, n]. */
export interface MatMulShape {
  /** Matrices in `a` (1 broadcasts over the batch). */
  batchA: number;
  /** Matrices in `b` (1 broadcasts over the batch). */
  batchB: number;
  m: number;
  k: number;
  n: number;
  /** `a` holds each matrix as [k, m]. */
  transposeA: boolean;
  /** `b` holds each matrix as [n, k]. */
  transposeB: boolean;
  /**
   * For batch shapes that broadcast against each other (e.g. [3, 1] and [3]: 9 products): which matrix
   * of `a` and of `b` each output matrix multiplies. Without it, output i is `a[i] x b[i]` (or the single
   * matrix of a side whose batch is 1).
   */
  pairs?: { a: Int32Array; b: Int32Array };
}

/**
 * Output matrices of a product: a[i] x b[i], or one matrix of a side with every matrix of the other, or the
 * broadcast `pairs`. A side with no matrices (a batch of 0) makes none, even against a single matrix.
 */
function productCount(s: MatMulShape): number {
  if (s.pairs) return s.pairs.a.length;
  return s.batchA === 0 || s.batchB === 0 ? 0 : Math.max(s.batchA, s.batchB);
}

/** Bytes of scratch memory a product needs: both inputs, one packed panel of `b`, and the output. */
function scratchBytes(s: MatMulShape): number {
  const nP = Math.ceil(s.n / 8) * 8;
  const batch = productCount(s);
  return 4 * (s.batchA * s.m * s.k + s.batchB * s.k * s.n + s.k * nP + batch * s.m * s.n);
}

/**
 * Computes `batch` float32 matrix products `op(a[i]) x op(b[i])` with the SIMD kernel, into `out`
 * (row-major [batch, m, n]). Sums run over k in order, as a plain loop would, so results differ from
 * tfjs' kernels only by float rounding.
 *
 * @returns false, without writing `out`, when this runtime has no WebAssembly SIMD.
 * @example
 * ```ts
 * const out = new Float32Array(2 * 2);
 * simdMatMul(new Float32Array([1, 2, 3, 4]), new Float32Array([1, 0, 0, 1]), out,
 *   { batchA: 1, batchB: 1, m: 2, k: 2, n: 2, transposeA: false, transposeB: false });
 * // out = [1, 2, 3, 4]
 * ```
 */
export function simdMatMul(a: Float32Array, b: Float32Array, out: Float32Array, shape: MatMulShape): boolean {
  const wasm = loadKernel();
  if (wasm === null) return false;
  const { batchA, batchB, m, k, n, transposeA, transposeB, pairs } = shape;
  const batch = productCount(shape);
  if (batch === 0) return true; // an empty batch: nothing to compute
  const matrixA = (i: number) => (pairs ? pairs.a[i]! : batchA > 1 ? i : 0);
  const matrixB = (i: number) => (pairs ? pairs.b[i]! : batchB > 1 ? i : 0);
  const nP = Math.ceil(n / 8) * 8;
  // Layout in the kernel's memory: a, b, the packed panel of one matrix of b ([k, nP]), the output.
  const aOff = 0;
  const bOff = aOff + 4 * a.length;
  const panelOff = Math.ceil((bOff + 4 * b.length) / 16) * 16; // the panel's 16-byte rows stay aligned
  const outOff = panelOff + 4 * k * nP;
  const need = outOff + 4 * out.length;
  const have = wasm.memory.buffer.byteLength;
  if (need > have) wasm.memory.grow(Math.ceil((need - have) / 65536));
  const heap = new Float32Array(wasm.memory.buffer);
  heap.set(a, aOff / 4);
  heap.set(b, bOff / 4);
  // Element (i, p) of one matrix of a sits at i * sai + p * sap bytes from its start.
  const sai = 4 * (transposeA ? 1 : k);
  const sap = 4 * (transposeA ? m : 1);
  let packed = -1; // the matrix of b in the panel
  for (let i = 0; i < batch; i++) {
    const bi = matrixB(i);
    if (bi !== packed) {
      wasm.packB(bOff + bi * 4 * k * n, panelOff, k, n, nP, transposeB ? 1 : 0);
      packed = bi;
    }
    const aAt = aOff + matrixA(i) * 4 * m * k;
    wasm.gemm(aAt, sai, sap, panelOff, outOff + i * 4 * m * n, m, k, n, nP, n);
  }
  out.set(heap.subarray(outOff / 4, outOff / 4 + out.length));
  return true;
}

/** The slice of tfjs-backend-wasm's backend that the kernel uses. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

interface BatchMatMulArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: WasmBackendLike;
  attrs: { transposeA: boolean; transposeB: boolean };
}

/**
 * For each matrix of the broadcast batch shape of `outerA` and `outerB` (row-major), the matrix of `a` and
 * of `b` it multiplies; null when the shapes do not broadcast.
 */
function broadcastPairs(
  outerA: readonly number[],
  outerB: readonly number[],
): { a: Int32Array; b: Int32Array } | null {
  const rank = Math.max(outerA.length, outerB.length);
  const pad = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(outerA);
  const sb = pad(outerB);
  if (sa.some((d, i) => d !== 1 && sb[i] !== 1 && d !== sb[i])) return null;
  const outer = sa.map((d, i) => (d === 1 ? sb[i]! : d));
  const total = outer.reduce((x, y) => x * y, 1);
  const a = new Int32Array(total);
  const b = new Int32Array(total);
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    let ia = 0;
    let ib = 0;
    let strideA = 1;
    let strideB = 1;
    for (let d = rank - 1; d >= 0; d--) {
      const coord = rest % outer[d]!;
      rest = Math.floor(rest / outer[d]!);
      if (sa[d] !== 1) ia += coord * strideA;
      if (sb[d] !== 1) ib += coord * strideB;
      strideA *= sa[d]!;
      strideB *= sb[d]!;
    }
    a[flat] = ia;
    b[flat] = ib;
  }
  return { a, b };
}

/** The shape of a BatchMatMul call, or undefined when the SIMD kernel should leave it to the original. */
function routedShape(args: BatchMatMulArgs): MatMulShape | undefined {
  const { a, b } = args.inputs;
  const { transposeA, transposeB } = args.attrs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.shape.length < 2 || b.shape.length < 2)
    return undefined;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  if (k !== kB || m === 0 || n === 0 || k === 0) return undefined; // the original reports or handles these
  // Pairs a[i] with b[i] (or one matrix with all) when the batch shapes are the same or one side is a single
  // matrix; other batch shapes that broadcast ([3, 1] x [3]: 3 matrices a side, 9 products) get explicit
  // pairs, and those that do not broadcast go to the original, which reports them.
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const sameOuter = outerA.length === outerB.length && outerA.every((d, i) => d === outerB[i]);
  const pairs = sameOuter || batchA === 1 || batchB === 1 ? undefined : broadcastPairs(outerA, outerB);
  if (pairs === null) return undefined; // batch shapes that do not broadcast: the original reports it
  const shape: MatMulShape = { batchA, batchB, m, k, n, transposeA, transposeB, ...(pairs ? { pairs } : {}) };
  // A single untransposed product is XNNPACK's, which is as fast or faster.
  if (Math.max(batchA, batchB) === 1 && !transposeA && !transposeB) return undefined;
  if (scratchBytes(shape) > MAX_SCRATCH_BYTES) return undefined;
  return shape;
}

/**
 * The BatchMatMul kernel function: products the SIMD kernel takes run on it, every other one on `fallback`
 * (tfjs' own kernel).
 *
 * @example
 * ```ts
 * const kernel = tf.getKernel('BatchMatMul', 'wasm')!;
 * tf.registerKernel({ ...kernel, kernelFunc: (args) => batchMatMulKernel(args, kernel.kernelFunc) });
 * ```
 */
export function batchMatMulKernel(
  args: Parameters<tf.KernelFunc>[0],
  fallback: tf.KernelFunc,
): tf.TensorInfo {
  const call = args as unknown as BatchMatMulArgs;
  const shape = routedShape(call);
  if (shape === undefined || loadKernel() === null) return fallback(args) as tf.TensorInfo;
  const { a, b } = call.inputs;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = call.backend.makeOutput([...outer, shape.m, shape.n], 'float32');
  // Views into the backend's heap, taken after makeOutput (which may grow the heap and detach older views).
  simdMatMul(
    call.backend.typedArrayFromHeap(a),
    call.backend.typedArrayFromHeap(b),
    call.backend.typedArrayFromHeap(out),
    shape,
  );
  return out;
}

/**
 * Whether this runtime can run the SIMD kernel (WebAssembly SIMD; Node 16.4 and later).
 *
 * @example
 * ```ts
 * console.log(simdMatMulAvailable()); // true on Node 20
 * ```
 */
export function simdMatMulAvailable(): boolean {
  return loadKernel() !== null;
}
