// Picks the TensorFlow.js backend (native tfjs-node, wasm, or cpu), reports it once, and provides the
// gather-with-custom-gradient embedding lookup every model uses.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkKnownOptions, InvalidOptionError } from './errors.js';
import { installWasmKernels, wasmKernelsInstalled } from './kernels/wasm.js';

/** Name of a TensorFlow.js backend encore can run on. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

/** What {@link initBackend} chose. */
export interface BackendInfo {
  /** The backend in use. */
  name: BackendName;
  /** Whether WebAssembly SIMD is on (wasm only). */
  simd: boolean;
  /** Threads the backend computes with (1 for wasm in Node: Node has no wasm threads). */
  threads: number;
  /**
   * Whether encore's wasm kernels run (wasm only; on unless `ENCORE_WASM_KERNELS=0`): batched and transposed
   * matrix products in WebAssembly SIMD, 5-10x faster than tfjs-backend-wasm's on attention's shapes, and a
   * clone that shares memory instead of copying it.
   */
  encoreKernels: boolean;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /** Force a backend. Defaults to `ENCORE_BACKEND` from the environment, else the fastest available. */
  backend?: BackendName;
  /** Print which backend runs (once per process). Default true unless `ENCORE_QUIET=1`. */
  verbose?: boolean;
}

/** The keys of {@link InitBackendOptions}, checked so that a misspelt option is an error. */
const INIT_BACKEND_KEYS: Record<keyof InitBackendOptions, true> = { backend: true, verbose: true };

const BACKENDS: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;
let announced = false;
/** Why an installed tfjs-node failed to load (undefined when it loaded, or is not installed). */
let nativeFailure: string | undefined;

const require = createRequire(import.meta.url);

async function tryNative(): Promise<boolean> {
  try {
    // tfjs-node registers the 'tensorflow' backend on import. It is an optional dependency.
    const name = '@tensorflow/tfjs-node';
    await import(/* @vite-ignore */ name);
    return tf.findBackend('tensorflow') !== undefined && (await tf.setBackend('tensorflow'));
  } catch (e) {
    // Not installed is the normal case on machines without it; installed but broken (its native library
    // missing or built for another Node) is worth saying, with the fix.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND')
      nativeFailure = String((e as Error).message ?? e).split('\n')[0];
    return false;
  }
}

async function tryWasm(): Promise<boolean> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(`${path.join(dir, 'dist')}${path.sep}`);
    if (!(await tf.setBackend('wasm'))) return false;
    if (process.env.ENCORE_WASM_KERNELS !== '0') installWasmKernels();
    return true;
  } catch {
    return false;
  }
}

async function select(name: BackendName): Promise<boolean> {
  if (name === 'tensorflow') return tryNative();
  if (name === 'wasm') return tryWasm();
  return tf.setBackend('cpu');
}

/**
 * Initialises TensorFlow.js once per process and reports which backend runs.
 *
 * Picks tfjs-node's native `tensorflow` backend when `@tensorflow/tfjs-node` is installed, else `wasm`
 * (with SIMD), else `cpu`. `ENCORE_BACKEND=tensorflow|wasm|cpu` or `options.backend` overrides the choice;
 * a forced backend that cannot start is an error, not a silent fallback. Calling it again with another
 * backend switches backends.
 *
 * @example
 * ```ts
 * import { initBackend } from 'encore';
 * const { name, simd, threads } = await initBackend();
 * console.log(name); // 'wasm' on a machine without @tensorflow/tfjs-node
 * ```
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  checkKnownOptions(options, Object.keys(INIT_BACKEND_KEYS), 'initBackend');
  const env = process.env.ENCORE_BACKEND;
  const forced = options.backend ?? (env ? (env as BackendName) : undefined);
  if (forced !== undefined && !BACKENDS.includes(forced)) {
    const opt = options.backend !== undefined ? 'backend' : 'ENCORE_BACKEND';
    throw new InvalidOptionError(opt, `one of ${BACKENDS.join(', ')}`, forced);
  }
  if (current && (forced === undefined || forced === current.name) && tf.getBackend() === current.name) {
    return current;
  }
  if (pending && forced === undefined) return pending;
  pending = (async () => {
    let name: BackendName | undefined;
    if (forced) {
      if (!(await select(forced))) {
        throw new InvalidOptionError(
          options.backend !== undefined ? 'backend' : 'ENCORE_BACKEND',
          'a backend that can start on this machine',
          forced,
          forced === 'tensorflow'
            ? nativeFailure !== undefined
              ? `@tensorflow/tfjs-node is installed but did not load (${nativeFailure}); \`npm rebuild @tensorflow/tfjs-node\` usually fixes it (on npm 12 or later, first \`npm install-scripts approve @tensorflow/tfjs-node\`), or use wasm or cpu`
              : 'Install @tensorflow/tfjs-node, or use wasm or cpu'
            : undefined,
        );
      }
      name = forced;
    } else {
      for (const candidate of BACKENDS) {
        if (await select(candidate)) {
          name = candidate;
          break;
        }
      }
    }
    await tf.ready();
    const chosen = name ?? 'cpu';
    const info: BackendInfo = {
      name: chosen,
      simd: chosen === 'wasm' ? tf.env().getBool('WASM_HAS_SIMD_SUPPORT') : false,
      threads: chosen === 'wasm' ? await wasmThreads() : chosen === 'cpu' ? 1 : navigatorCores(),
      encoreKernels: chosen === 'wasm' && wasmKernelsInstalled(),
    };
    current = info;
    const verbose = options.verbose ?? process.env.ENCORE_QUIET !== '1';
    if (verbose && !announced) {
      announced = true;
      const detail =
        info.name === 'wasm' ? ` (SIMD ${info.simd ? 'on' : 'off'}, ${info.threads} thread)` : '';
      process.stderr.write(`encore: TensorFlow.js backend ${info.name}${detail}\n`);
      if (info.name !== 'tensorflow' && nativeFailure !== undefined) {
        process.stderr.write(
          `encore: @tensorflow/tfjs-node is installed but did not load (${nativeFailure}), so ${info.name} runs instead; \`npm rebuild @tensorflow/tfjs-node\` usually fixes it (on npm 12 or later, first \`npm install-scripts approve @tensorflow/tfjs-node\`: npm skips install scripts package.json's allowScripts does not approve)\n`,
        );
      } else if (info.name !== 'tensorflow') {
        process.stderr.write(
          'encore: hint: `npm install @tensorflow/tfjs-node` gives the native backend, which trains several times faster\n',
        );
      }
    }
    return info;
  })();
  try {
    return await pending;
  } finally {
    pending = undefined;
  }
}

/**
 * The backend encore initialised, initialising it now if nothing has yet. `SASRec.fit`, `loadModel` and
 * `RewardModel.fit` call it, so a script that never calls `initBackend` still runs on the fastest backend
 * (and with encore's wasm kernels) rather than on the plain `cpu` backend tfjs would start by itself. A
 * backend already set in TensorFlow.js (`tf.setBackend`, or tensors made before) is kept, as
 * `initBackend({ backend })` keeps it; otherwise it picks as {@link initBackend} does.
 *
 * @example
 * ```ts
 * const { name } = await ensureBackend(); // 'wasm' here unless a backend was chosen before
 * ```
 */
export async function ensureBackend(): Promise<BackendInfo> {
  const set = tf.engine().backendName as string | undefined; // undefined until tfjs has a backend
  // The backend encore set, unless the user switched since (`tf.setBackend`): then the one now running.
  if (current && (set === undefined || set === current.name)) return current;
  if (set !== undefined && (BACKENDS as readonly string[]).includes(set))
    return initBackend({ backend: set as BackendName });
  return initBackend();
}

async function wasmThreads(): Promise<number> {
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    return wasm.getThreadsCount();
  } catch {
    return 1;
  }
}

/** The cores Node may use (`navigator` exists only from Node 21; encore supports Node 20). */
function navigatorCores(): number {
  return Math.max(1, os.availableParallelism());
}

/**
 * The backend currently initialised by {@link initBackend}, or undefined before the first call.
 *
 * @example
 * ```ts
 * await initBackend();
 * console.log(backendInfo()?.name);
 * ```
 */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/**
 * Embedding lookup `table[ids]` with a scatter-based gradient.
 *
 * `tf.gather`'s own gradient needs the `UnsortedSegmentSum` kernel, which the wasm backend lacks and the
 * cpu backend runs once per row of the table. This lookup's gradient is a single `scatterND` of the
 * upstream gradient into a zero table (duplicate ids add up), the same result as the reference.
 *
 * @param table `[rows, dim]` float table.
 * @param ids int32 ids of any shape `S`.
 * @returns `[...S, dim]` rows.
 *
 * @example
 * ```ts
 * const table = tf.variable(tf.randomNormal([10, 4]));
 * const rows = embeddingLookup(table, tf.tensor2d([[1, 2], [2, 0]], [2, 2], 'int32')); // [2, 2, 4]
 * ```
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor): tf.Tensor {
  const idShape = ids.shape;
  const [rows, dim] = table.shape;
  const flat = ids.reshape([-1]).toInt();
  const lookup = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const tt = args[0] as tf.Tensor2D;
    const ii = args[1] as tf.Tensor1D;
    const save = args[2] as tf.GradSaveFunc;
    save([ii]);
    return {
      // [n, dim]. The JS copy reads the whole table back from the wasm heap, so only for tables of at most
      // JS_GATHER_MAX_VALUES values; bigger ones (large catalogues) use the kernel.
      value:
        tf.getBackend() === 'wasm' && rows * dim <= JS_GATHER_MAX_VALUES
          ? gatherRows(tt, ii)
          : tf.gather(tt, ii),
      gradFunc: (dy, saved) => {
        const [savedIds] = saved as [tf.Tensor1D];
        const indices = savedIds.reshape([-1, 1]); // [n, 1]
        const dTable = tf.scatterND(indices, dy as tf.Tensor2D, [rows, dim]); // [rows, dim]
        return [dTable, tf.zerosLike(savedIds)];
      },
    };
  });
  const out = lookup(table, flat) as tf.Tensor;
  return out.reshape([...idShape, dim]);
}

/**
 * `table[ids]` copied row by row in JS: on the wasm backend about 4x faster than its `GatherV2` kernel
 * (measured 5.7 vs 22 ms for 6,400 rows of 64).
 */
const JS_GATHER_MAX_VALUES = 2 ** 22; // 16 MiB of float32

function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const [rows, dim] = table.shape;
  const t = table.dataSync() as Float32Array;
  const ix = ids.dataSync() as Int32Array;
  const out = new Float32Array(ix.length * dim);
  for (let r = 0; r < ix.length; r++) {
    const id = ix[r]!;
    if (!(id >= 0 && id < rows))
      throw new RangeError(`embeddingLookup: id ${id} is outside the table's ${rows} rows`);
    out.set(t.subarray(id * dim, id * dim + dim), r * dim);
  }
  return tf.tensor2d(out, [ix.length, dim]);
}

export { tf };

/**
 * A copy of `table` with rows `rows` replaced by `values` (`tf.tensorScatterUpdate`), leaving `table` as it
 * was. The cpu backend's `TensorScatterUpdate` kernel writes into its input's storage, which every tensor
 * made from the same array shares (and which `dataSync` hands out), so there the table is copied first.
 *
 * @param table `[n, d]`. @param rows distinct row indices `[R]`. @param values `[R, d]` new rows.
 * @returns `[n, d]`, a new tensor.
 *
 * @example
 * ```ts
 * const next = scatterRows(table, Int32Array.of(0, 7), tf.zeros([2, 64])); // rows 0 and 7 zeroed
 * ```
 */
export function scatterRows(table: tf.Tensor2D, rows: Int32Array, values: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const base =
      tf.getBackend() === 'cpu'
        ? tf.tensor2d(Float32Array.from(table.dataSync() as Float32Array), table.shape)
        : table;
    return tf.tensorScatterUpdate(base, tf.tensor2d(rows, [rows.length, 1], 'int32'), values);
  });
}
