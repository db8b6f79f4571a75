// encore's replacements for two tfjs-backend-wasm kernels, installed by initBackend when it starts wasm.
//
// - BatchMatMul: batched and transposed products on a WebAssembly SIMD loop (src/kernels/matmul.ts), 5-10x
//   faster than the backend's scalar loop on attention's shapes; single untransposed products stay XNNPACK's.
// - Identity: shares the input's memory (reference-counted), as tfjs' cpu and webgl backends do, where the
//   wasm backend copied it. Autodiff clones every tensor a gradient needs, so training copied each layer's
//   activations once more per step (7% of a BCE step on the perf bench's settings). Nothing in the wasm
//   backend writes into a tensor's memory after the kernel that made it returns, so sharing is safe (Reshape
//   already shares the same way).
//
// `ENCORE_WASM_KERNELS=0` keeps tfjs' own kernels.
import * as tf from '@tensorflow/tfjs';
import { batchMatMulKernel, simdMatMulAvailable } from './matmul.js';

/** The slice of tfjs-backend-wasm's backend that the Identity kernel uses. */
interface RefCountingBackend {
  incRef(dataId: object): void;
}

/** tfjs' own kernels, kept while encore's are installed. */
const originals = new Map<string, tf.KernelConfig>();

function batchMatMul(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  return batchMatMulKernel(args, (originals.get('BatchMatMul') as tf.KernelConfig).kernelFunc);
}

function identity(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const x = args.inputs.x as tf.TensorInfo;
  if (x.dtype === 'string')
    return (originals.get('Identity') as tf.KernelConfig).kernelFunc(args) as tf.TensorInfo;
  (args.backend as unknown as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

const KERNELS: Record<string, tf.KernelFunc> = {
  BatchMatMul: batchMatMul as unknown as tf.KernelFunc,
  Identity: identity as unknown as tf.KernelFunc,
};

/**
 * Replaces the wasm backend's `BatchMatMul` and `Identity` kernels with encore's (see the top of this file).
 * {@link initBackend} calls it when it starts wasm, unless `ENCORE_WASM_KERNELS=0`. Calling it again does
 * nothing.
 *
 * @returns whether encore's kernels are installed (false where WebAssembly SIMD is missing).
 * @example
 * ```ts
 * await tf.setBackend('wasm');
 * installWasmKernels(); // true on Node 20
 * ```
 */
export function installWasmKernels(): boolean {
  if (!simdMatMulAvailable()) return false;
  for (const [name, kernelFunc] of Object.entries(KERNELS)) {
    const current = tf.getKernel(name, 'wasm');
    if (current === undefined) return false;
    if (current.kernelFunc === kernelFunc) continue;
    originals.set(name, current);
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...current, kernelFunc });
  }
  return true;
}

/**
 * Whether the wasm backend runs encore's kernels.
 *
 * @example
 * ```ts
 * console.log(wasmKernelsInstalled()); // true after initBackend() chose wasm
 * ```
 */
export function wasmKernelsInstalled(): boolean {
  return Object.entries(KERNELS).every(([name, f]) => tf.getKernel(name, 'wasm')?.kernelFunc === f);
}

/**
 * Puts tfjs' own kernels back (for comparisons and benchmarks).
 *
 * @example
 * ```ts
 * uninstallWasmKernels(); // tf.matMul on wasm runs tfjs' kernel again
 * ```
 */
export function uninstallWasmKernels(): void {
  for (const [name, kernelFunc] of Object.entries(KERNELS)) {
    const original = originals.get(name);
    if (original === undefined || tf.getKernel(name, 'wasm')?.kernelFunc !== kernelFunc) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(original);
  }
}
