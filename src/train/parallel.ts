// Data-parallel gradients over worker_threads: split a batch, compute slices on replicas, average exactly.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { backendInfo, tf } from '../backend.js';
import { InvalidOptionError } from '../errors.js';
import type { NegativeSpec, SeqBatch } from './batches.js';
import { disposeGradient, type Gradient, type TrainableModel, toDenseGradient } from './trainer.js';

/**
 * Which sequences of the full batch a slice holds, so that a slice draws exactly the dropout masks the
 * full batch would have drawn for those sequences (see `Rng.skip`).
 *
 * @example
 * ```ts
 * const part: BatchPart = { start: 64, count: 64, total: 128 }; // the second half of a 128-sequence batch
 * ```
 */
export interface BatchPart {
  /** First sequence of the slice in the full batch. */
  start: number;
  /** Sequences in the slice. */
  count: number;
  /** Sequences in the full batch. */
  total: number;
}

/**
 * A {@link SeqBatch}, possibly one slice of a larger batch.
 *
 * @example
 * ```ts
 * const [first] = splitSeqBatch(batch, 2, 'none'); // first.part = { start: 0, count: 64, total: 128 }
 * ```
 */
export interface SeqBatchSlice extends SeqBatch {
  /** Set on slices made by {@link splitSeqBatch}. */
  part?: BatchPart;
}

/**
 * How a worker builds its model replica: `(await import(moduleUrl))[exportName](init)` must return a
 * {@link TrainableModel}. `init` must be structured-cloneable.
 *
 * @example
 * ```ts
 * const spec: ReplicaSpec = { moduleUrl: import.meta.url, exportName: 'createSASRecReplica', init: { config, vocabularyIds } };
 * ```
 */
export interface ReplicaSpec {
  moduleUrl: string;
  exportName: string;
  init: unknown;
}

/**
 * Splits a batch into up to `parts` slices of consecutive sequences (sizes differ by at most one), keeping
 * the padded length. Each slice's `weight` is its share of target rows, so that
 * `sum(weight_i * grad(loss_i)) = grad(loss)` for losses that average over target rows.
 *
 * @example
 * ```ts
 * const slices = splitSeqBatch(batch, 2, 'none'); // [{ batch, weight }, { batch, weight }], weights sum to 1
 * ```
 */
export function splitSeqBatch(
  batch: SeqBatch,
  parts: number,
  negatives: NegativeSpec['kind'],
): { batch: SeqBatchSlice; weight: number }[] {
  const B = batch.size;
  const L = batch.length;
  const M = batch.rows.length;
  const n = Math.max(1, Math.min(parts, B));
  if (n === 1) return [{ batch, weight: 1 }];
  // Per-row negatives (k per target row) are sliced with their rows; shared ones go to every slice.
  const perRow = negatives === 'per-row' && M > 0 ? batch.negatives.length / M : 0;
  const out: { batch: SeqBatchSlice; weight: number }[] = [];
  let m0 = 0;
  for (let p = 0; p < n; p++) {
    const start = Math.floor((p * B) / n);
    const end = Math.floor(((p + 1) * B) / n);
    let m1 = m0;
    while (m1 < M && batch.rows[m1]! < end * L) m1++;
    const rows = new Int32Array(m1 - m0);
    for (let m = m0; m < m1; m++) rows[m - m0] = batch.rows[m]! - start * L;
    const slice: SeqBatchSlice = {
      size: end - start,
      length: L,
      inputs: batch.inputs.slice(start * L, end * L),
      plays: batch.plays.slice(start * L, end * L),
      rows,
      targets: batch.targets.slice(m0, m1),
      weights: batch.weights.slice(m0, m1),
      unlikely: batch.unlikely.slice(m0, m1),
      negatives: perRow > 0 ? batch.negatives.slice(m0 * perRow, m1 * perRow) : batch.negatives.slice(),
      seed: batch.seed,
      history: sliceHistory(batch.history, m0, m1),
      part: { start, count: end - start, total: B },
    };
    out.push({ batch: slice, weight: M > 0 ? (m1 - m0) / M : 1 / n });
    m0 = m1;
  }
  return out;
}

/** The history entries of target rows `[m0, m1)`. */
function sliceHistory(h: SeqBatch['history'], m0: number, m1: number): SeqBatch['history'] {
  const F = h.items.length > 0 ? h.features.length / h.items.length : 0;
  return {
    k: h.k,
    items: h.items.slice(m0 * h.k, m1 * h.k),
    mask: h.mask.slice(m0 * h.k, m1 * h.k),
    isTarget: h.isTarget.slice(m0 * h.k, m1 * h.k),
    features: h.features.slice(m0 * h.k * F, m1 * h.k * F),
  };
}

/** Multiply-adds per step below which worker threads cost more (messages, weight copies) than they save. */
export const MIN_PARALLEL_MACS_PER_STEP = 5e7;
/** Steps per fit below which starting workers (~0.3-1 s) does not pay off. */
export const MIN_PARALLEL_STEPS = 16;
/**
 * Multiply-adds per step, per weight, below which workers lose: every step copies all the weights to each
 * worker and sums their dense gradients, whose cost grows with the weights, not with the work. Measured on 2
 * cores with wasm (`bench/loss-cost.ts --workers 1|2`, sampled softmax with 1,024 negatives, seconds per
 * step one worker -> two): 2,000 tracks 0.198 -> 0.135 (about 1,350 multiply-adds per weight), 20,000 tracks
 * 0.193 -> 0.175 (225), 100,000 tracks 0.245 -> 0.284 (48), 400,000 tracks 0.375 -> 0.864 (12); full softmax
 * (about 2,400 per weight) gained at every size.
 */
export const MIN_PARALLEL_MACS_PER_WEIGHT = 200;

/**
 * Number of gradient threads to use. An explicit `requested` is used as given (validated); the default is
 * `os.availableParallelism()` when the job is big enough to gain from it (`macsPerStep` >=
 * {@link MIN_PARALLEL_MACS_PER_STEP}, at least {@link MIN_PARALLEL_MACS_PER_WEIGHT} times `weights`, the
 * number of weights each step copies to every worker, and `steps` >= {@link MIN_PARALLEL_STEPS}), else 1. Always 1 on the
 * native `tensorflow` backend (it threads by itself). The default depends only on the job, never on the
 * machine's current load, so runs stay reproducible.
 *
 * @example
 * ```ts
 * resolveWorkers(undefined, { macsPerStep: 1e9, steps: 500 }); // 2 on a two-core machine with wasm
 * resolveWorkers(undefined, { macsPerStep: 1e5, steps: 500 }); // 1: too small a model
 * resolveWorkers(undefined, { macsPerStep: 3e8, steps: 500, weights: 2.6e7 }); // 1: copying 26M weights a step costs more
 * ```
 */
export function resolveWorkers(
  requested: number | undefined,
  job: { macsPerStep: number; steps: number; weights?: number } = {
    macsPerStep: Number.POSITIVE_INFINITY,
    steps: Number.POSITIVE_INFINITY,
  },
  option = 'workers',
): number {
  if (requested !== undefined && (!Number.isInteger(requested) || requested < 1)) {
    throw new InvalidOptionError(option, 'an integer >= 1', requested);
  }
  if ((backendInfo()?.name ?? tf.getBackend()) === 'tensorflow') return 1;
  if (requested !== undefined) return requested;
  if (job.macsPerStep < MIN_PARALLEL_MACS_PER_STEP || job.steps < MIN_PARALLEL_STEPS) return 1;
  if (job.macsPerStep < MIN_PARALLEL_MACS_PER_WEIGHT * (job.weights ?? 0)) return 1;
  return defaultWorkers();
}

/** `os.availableParallelism()` (or the CPU count on runtimes without it). */
export function defaultWorkers(): number {
  const osWithParallelism = os as typeof os & { availableParallelism?: () => number };
  return Math.max(1, osWithParallelism.availableParallelism?.() ?? os.cpus().length);
}

/**
 * Computes each batch's loss and gradients across this thread and `workers - 1` worker threads.
 *
 * @example
 * ```ts
 * const pool = await startGradientPool(model, { workers: 2, replica, split: (b, n) => splitSeqBatch(b, n, 'none') });
 * try { const { loss, grads } = await pool.computeGradients(batch); } finally { await pool.close(); }
 * ```
 */
export interface GradientPool<B> {
  /** Threads computing (this one included). */
  readonly size: number;
  /** Same contract as {@link TrainableModel.computeGradients}, with the current weights of the local model. */
  computeGradients(batch: B): Promise<{ loss: number; grads: Record<string, tf.Tensor> }>;
  /** Milliseconds spent so far: `compute` (this thread's slice), `wait` (for workers), `sync` (weights out, gradients in). */
  readonly timings: { compute: number; wait: number; sync: number; steps: number };
  /** Terminates the workers. Safe to call twice. */
  close(): Promise<void>;
}

/** Options of {@link startGradientPool}. */
export interface GradientPoolOptions<B> {
  /** Threads in total, this one included (>= 2 to start any worker). */
  workers: number;
  /** How each worker builds its replica. */
  replica: ReplicaSpec;
  /** Splits a batch into weighted slices (see {@link splitSeqBatch}). */
  split: (batch: B, parts: number) => { batch: B; weight: number }[];
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'grads'; id: number; loss: number; grads: Record<string, Float32Array> }
  | { type: 'error'; message: string; stack?: string };

/**
 * The worker's entry: `worker.js` next to this file when built, else (sources under tsx or vitest) a tiny
 * ES module that loads `worker.ts` through tsx's `tsImport` (Node 20 ignores `--import tsx` in workers).
 */
function workerEntry(): URL {
  if (!import.meta.url.endsWith('.ts')) return new URL('./worker.js', import.meta.url);
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const target = new URL('./worker.ts', import.meta.url).href;
  const code = `import { tsImport } from ${JSON.stringify(api)};\nawait tsImport(${JSON.stringify(target)}, ${JSON.stringify(api)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

class WorkerHandle {
  private pending: { resolve: (v: FromWorker) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private ready: Promise<void>;

  constructor(readonly worker: Worker) {
    let markReady: () => void = () => {};
    let failReady: (e: Error) => void = () => {};
    this.ready = new Promise((res, rej) => {
      markReady = res;
      failReady = rej;
    });
    // Observed here as well: when a later worker of the pool fails to start, this handle's start is never
    // awaited, and close() ending its worker would otherwise reject it unhandled. Callers that await
    // whenReady() still get the rejection.
    this.ready.catch(() => {});
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'ready') return markReady();
      if (msg.type === 'error') {
        const e = new Error(`Training worker failed: ${msg.message}`);
        if (msg.stack) e.stack = msg.stack;
        this.fail(e);
        failReady(e);
        return;
      }
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(msg);
    });
    worker.on('error', (e) => {
      this.fail(e);
      failReady(e);
    });
    worker.on('exit', (code) => {
      const e = new Error(`Training worker exited (code ${code})`);
      this.fail(e);
      failReady(e);
    });
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(this.failure);
  }

  whenReady(): Promise<void> {
    return this.ready;
  }

  request(message: unknown): Promise<FromWorker> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message);
    });
  }
}

/**
 * Starts `workers - 1` worker threads, each with a replica of `model` built from `replica`, on the same
 * backend as this thread. Returns undefined when `workers <= 1`. Every call of `computeGradients` sends
 * the local model's current weights with each slice, computes the first slice here, and returns the
 * row-weighted sum of all slices' gradients (the full-batch gradient up to float rounding). The caller
 * applies the optimizer to the local model.
 *
 * @example
 * ```ts
 * const pool = await startGradientPool(model, { workers: 2, replica: model.replicaSpec(), split: (b, n) => splitSeqBatch(b, n, 'none') });
 * ```
 */
export async function startGradientPool<B>(
  model: TrainableModel<B>,
  options: GradientPoolOptions<B>,
): Promise<GradientPool<B> | undefined> {
  if (options.workers <= 1) return undefined;
  const backend = backendInfo()?.name ?? (tf.getBackend() as 'wasm' | 'cpu' | 'tensorflow');
  const url = workerEntry();
  const handles: WorkerHandle[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(handles.map((h) => h.worker.terminate().catch(() => 0)));
  };
  try {
    for (let i = 1; i < options.workers; i++) {
      const worker = new Worker(url, {
        workerData: { backend, replica: options.replica },
        env: { ...process.env, ENCORE_QUIET: '1' },
      });
      worker.unref(); // an unclosed pool never keeps the process alive
      handles.push(new WorkerHandle(worker));
    }
    await Promise.all(handles.map((h) => h.whenReady()));
  } catch (e) {
    await close();
    throw e;
  }
  const timings = { compute: 0, wait: 0, sync: 0, steps: 0 };
  let nextId = 0;
  return {
    size: options.workers,
    timings,
    async computeGradients(batch) {
      if (closed) throw new Error('The gradient pool is closed');
      const slices = options.split(batch, options.workers);
      const t0 = performance.now();
      const weights = slices.length > 1 ? model.getWeights() : undefined;
      const remote = slices
        .slice(1)
        .map((s, i) => handles[i]!.request({ type: 'step', id: nextId++, weights, batch: s.batch }));
      const t1 = performance.now();
      // From here on every promise in `remote` must be awaited, on the error paths too: one left alone
      // rejects unhandled (and ends the process) once close() terminates its worker, after the caller
      // has already handled the real error. Waiting for all of them also means no worker is still busy
      // with this step when we return, so a later call cannot be answered with this step's gradients.
      let local: { loss: number; grads: Record<string, Gradient> } | undefined;
      // Row-sparse gradients are summed densely here (row-sparse updates are a one-thread path).
      const localGrads: Record<string, tf.Tensor> = {};
      try {
        local = model.computeGradients(slices[0]!.batch);
        for (const [name, g] of Object.entries(local.grads))
          localGrads[name] = toDenseGradient(g, model.variables[name]!.shape);
      } catch (e) {
        for (const [name, g] of Object.entries(local?.grads ?? {}))
          if (!(name in localGrads)) disposeGradient(g);
        for (const g of Object.values(localGrads)) g.dispose();
        await Promise.allSettled(remote);
        throw e;
      }
      const t2 = performance.now();
      let results: FromWorker[];
      try {
        results = await Promise.all(remote);
      } catch (e) {
        for (const g of Object.values(localGrads)) g.dispose();
        await Promise.allSettled(remote);
        throw e;
      }
      const t3 = performance.now();
      const w0 = slices[0]!.weight;
      let loss = local.loss * w0;
      const grads: Record<string, tf.Tensor> = {};
      tf.tidy(() => {
        for (const [name, g] of Object.entries(localGrads)) {
          let sum = w0 === 1 ? g.clone() : tf.mul(g, w0);
          results.forEach((r, i) => {
            if (r.type !== 'grads') return;
            const arr = r.grads[name];
            if (arr) sum = tf.add(sum, tf.mul(tf.tensor(arr, g.shape), slices[i + 1]!.weight));
          });
          grads[name] = tf.keep(sum);
        }
      });
      for (const g of Object.values(localGrads)) g.dispose();
      results.forEach((r, i) => {
        if (r.type === 'grads') loss += r.loss * slices[i + 1]!.weight;
      });
      const t4 = performance.now();
      timings.sync += t1 - t0 + (t4 - t3);
      timings.compute += t2 - t1;
      timings.wait += t3 - t2;
      timings.steps++;
      return { loss, grads };
    },
    close,
  };
}
