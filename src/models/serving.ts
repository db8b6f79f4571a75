// Serving on every core: a Recommender that splits each batch between this thread and worker threads,
// each holding its own copy of the model (saved once, loaded by each worker with loadModel).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { backendInfo, tf } from '../backend.js';
import type { Vocabulary } from '../data/dataset.js';
import { checkKnownOptions, EncoreError, InvalidOptionError } from '../errors.js';
import { resolveWorkers } from '../train/parallel.js';
import { WorkerHandle, workerEntry } from '../util/workers.js';
import { loadModel } from './persist.js';
import {
  checkHistories,
  type Recommendation,
  type Recommender,
  type RecommendOptions,
  recommendSettings,
} from './recommender.js';

/** Options of {@link ServingPool.start}. */
export interface ServingPoolOptions {
  /**
   * Threads in total, this one included: an integer >= 1. Default: the number of cores
   * (`os.availableParallelism()`), or 1 on the native `tensorflow` backend, which threads by itself.
   */
  workers?: number;
  /**
   * Modules (URLs or absolute paths) each worker imports before it loads the model: where a custom model
   * type calls `registerModelType`. The built-in types need none.
   */
  register?: readonly string[];
}

/** What a serving worker answers (see `serving-worker.ts`). */
export type ServingAnswer =
  | { type: 'ready' }
  | { type: 'error'; message: string; stack?: string }
  | { type: 'recommendations'; recs: Recommendation[][]; unknown: number }
  | { type: 'scores'; scores: Float32Array; width: number; unknown: number };

/**
 * Histories per thread below which splitting a batch costs more (messages, copies) than it saves: a batch
 * of n histories uses at most `floor(n / MIN_HISTORIES_PER_THREAD)` threads.
 *
 * @example
 * ```ts
 * await pool.recommendBatch(histories.slice(0, 15)); // 15 < 2 * 8: answered on this thread alone
 * ```
 */
export const MIN_HISTORIES_PER_THREAD = 8;

/**
 * A {@link Recommender} that serves a model on several threads: `recommendBatch` and `scoreAll` split
 * their histories between this thread and `workers - 1` worker threads, each with its own copy of the
 * model on its own backend (wasm runs one core per thread), and return exactly what the model returns,
 * in order. `recommend` and `score` (one history) run on this thread. Worth it for big batches on wasm;
 * `bench/perf.ts` times SASRec's `recommendBatch` of 256 listeners with and without a pool.
 *
 * The workers load a snapshot of the model taken by {@link ServingPool.start} (saved to a temporary
 * folder with `model.save` and read back with `loadModel`, which restores identical scores). The pool
 * takes the model over: `close()` (or `dispose()`) ends the workers and disposes the model, so use the
 * model through the pool from then on. Calls that split are served one at a time, in the order made.
 *
 * @example
 * ```ts
 * const pool = await ServingPool.start(model, { workers: 2 });
 * try {
 *   const recs = await pool.recommendBatch(histories, { k: 10 }); // what model.recommendBatch returns
 *   const result = await evaluate(pool, split.test);              // scoring split across the threads
 * } finally {
 *   await pool.close(); // ends the workers and disposes the model
 * }
 * ```
 */
export class ServingPool implements Recommender {
  readonly type: string;
  readonly vocabulary: Vocabulary;
  private closed = false;
  private remoteUnknown = 0;
  /** The calls that use the workers run one after another (a worker answers one request at a time). */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly model: Recommender,
    private readonly handles: WorkerHandle<ServingAnswer>[],
  ) {
    this.type = model.type;
    this.vocabulary = model.vocabulary;
  }

  /**
   * Saves `model` to a temporary folder, starts the workers (each loads the model from there; about a
   * second), removes the folder and returns the pool. With `workers: 1` (or on the native backend by
   * default) no worker starts and the pool calls the model directly.
   *
   * @throws {InvalidOptionError} naming `workers` or `register`, or `model` when it is not a Recommender.
   * @example
   * ```ts
   * const pool = await ServingPool.start(model, { workers: 2 });
   * ```
   */
  static async start(model: Recommender, options: ServingPoolOptions = {}): Promise<ServingPool> {
    const workers = checkPoolOptions(options);
    if (!model || typeof model.scoreAll !== 'function' || typeof model.save !== 'function')
      throw new InvalidOptionError('model', 'a Recommender (with scoreAll and save)', model);
    if (workers <= 1) return new ServingPool(model, []);
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'encore-serving-'));
    try {
      const dir = path.join(tmp, 'model');
      await model.save(dir);
      return new ServingPool(model, await startWorkers(dir, workers, options.register ?? []));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Loads a saved model (`loadModel(dir)`) on this thread and in each worker, straight from `dir`: no
   * temporary copy. Otherwise as {@link ServingPool.start}.
   *
   * @throws {InvalidModelFileError} when `dir` does not hold a valid model; as `start` for the options.
   * @example
   * ```ts
   * const pool = await ServingPool.load('models/sasrec');
   * const result = await evaluate(pool, split.test);
   * await pool.close();
   * ```
   */
  static async load(dir: string, options: ServingPoolOptions = {}): Promise<ServingPool> {
    const workers = checkPoolOptions(options);
    const register = options.register ?? [];
    for (const m of register) await import(m);
    const model = await loadModel(dir);
    try {
      return new ServingPool(model, workers <= 1 ? [] : await startWorkers(dir, workers, register));
    } catch (e) {
      model.dispose();
      throw e;
    }
  }

  /** Threads serving a batch, this one included. */
  get size(): number {
    return this.handles.length + 1;
  }

  /** Unknown ids skipped so far, on this thread and in the workers. */
  get unknownSkipped(): number {
    return this.model.unknownSkipped + this.remoteUnknown;
  }

  /** `model.recommend`, on this thread. */
  async recommend(history: readonly string[], options: RecommendOptions = {}): Promise<Recommendation[]> {
    this.checkOpen();
    return this.model.recommend(history, options);
  }

  /** `model.score`, on this thread. */
  async score(history: readonly string[], trackIds: readonly string[]): Promise<number[]> {
    this.checkOpen();
    return this.model.score(history, trackIds);
  }

  /**
   * `model.recommendBatch(histories, options)`, split across the threads. Options are checked here, before
   * any thread starts, with the model's own errors.
   */
  async recommendBatch(
    histories: readonly (readonly string[])[],
    options: RecommendOptions = {},
  ): Promise<Recommendation[][]> {
    this.checkOpen();
    checkHistories(histories);
    const { k, excludeHistory, exclude } = recommendSettings(options, this.vocabulary.size);
    const settings = { k, excludeHistory, exclude: [...exclude] }; // plain data, for the workers
    return this.split(
      histories,
      (part) => this.model.recommendBatch(part, settings),
      { type: 'recommendBatch', options: settings },
      (answer) => {
        if (answer.type !== 'recommendations')
          throw new EncoreError(`Serving worker answered ${answer.type}`);
        return answer.recs;
      },
    );
  }

  /** `model.scoreAll(histories)`, split across the threads. */
  async scoreAll(histories: readonly (readonly string[])[]): Promise<Float32Array[]> {
    this.checkOpen();
    checkHistories(histories);
    return this.split(
      histories,
      (part) => this.model.scoreAll(part),
      { type: 'scoreAll' },
      (answer) => {
        if (answer.type !== 'scores') throw new EncoreError(`Serving worker answered ${answer.type}`);
        const { scores, width } = answer;
        return Array.from({ length: scores.length / width }, (_, r) =>
          scores.subarray(r * width, (r + 1) * width),
        );
      },
    );
  }

  /** `model.save(dir)`. */
  async save(dir: string): Promise<void> {
    return this.model.save(dir);
  }

  /**
   * Ends the workers and disposes the model, once the calls in flight have finished. Later calls are
   * errors. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await Promise.all(this.handles.map((h) => h.worker.terminate().catch(() => 0)));
    this.model.dispose();
  }

  /** {@link ServingPool.close} without waiting for it. */
  dispose(): void {
    void this.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new EncoreError('This ServingPool is closed: start a new one to serve on workers');
  }

  /**
   * Runs `local` on this thread's share of `histories` and `request` on each worker's, and puts the
   * answers back in the order of `histories`. Histories are dealt out by length (the longest first, in
   * turn), so each thread gets a similar share of the work.
   */
  private async split<T>(
    histories: readonly (readonly string[])[],
    local: (part: (readonly string[])[]) => Promise<T[]>,
    request: Record<string, unknown>,
    read: (answer: ServingAnswer) => T[],
  ): Promise<T[]> {
    const threads = Math.max(1, Math.min(this.size, Math.floor(histories.length / MIN_HISTORIES_PER_THREAD)));
    if (threads === 1) return local([...histories]);
    const order = histories
      .map((_, i) => i)
      .sort((a, b) => histories[b]!.length - histories[a]!.length || a - b);
    const shares: number[][] = Array.from({ length: threads }, () => []);
    for (const [r, i] of order.entries()) shares[r % threads]!.push(i);
    const parts = shares.map((share) => share.map((i) => histories[i]!));
    return this.exclusive(async () => {
      // Every remote promise is awaited, on the error paths too, so that none rejects unhandled and no
      // worker is still busy with this call when the next one starts.
      const remote = parts
        .slice(1)
        .map((part, w) => this.handles[w]!.request({ ...request, histories: part }));
      let mine: T[];
      try {
        mine = await local(parts[0]!);
      } catch (e) {
        await Promise.allSettled(remote);
        throw e;
      }
      const answers = await Promise.all(remote);
      const out: T[] = new Array(histories.length);
      shares[0]!.forEach((i, r) => {
        out[i] = mine[r]!;
      });
      answers.forEach((answer, w) => {
        const rows = read(answer);
        if ('unknown' in answer) this.remoteUnknown += answer.unknown;
        shares[w + 1]!.forEach((i, r) => {
          out[i] = rows[r]!;
        });
      });
      return out;
    });
  }

  /** Runs `task` after every earlier call that used the workers has finished. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }
}

/** Checks {@link ServingPoolOptions}; returns the number of threads. */
function checkPoolOptions(options: ServingPoolOptions): number {
  checkKnownOptions(options, ['workers', 'register'], 'ServingPool');
  const register = options.register ?? [];
  if (!Array.isArray(register) || register.some((m) => typeof m !== 'string'))
    throw new InvalidOptionError('register', 'an array of module URLs or absolute paths (strings)', register);
  return resolveWorkers(options.workers, undefined, 'workers');
}

/** Starts `workers - 1` serving workers that load the model saved in `dir`, and waits until all are ready. */
async function startWorkers(
  dir: string,
  workers: number,
  register: readonly string[],
): Promise<WorkerHandle<ServingAnswer>[]> {
  const backend = backendInfo()?.name ?? (tf.getBackend() as 'wasm' | 'cpu' | 'tensorflow');
  const url = workerEntry(import.meta.url, 'serving-worker');
  const handles: WorkerHandle<ServingAnswer>[] = [];
  try {
    for (let i = 1; i < workers; i++) {
      const worker = new Worker(url, {
        workerData: { backend, dir: path.resolve(dir), register: [...register] },
        env: { ...process.env, ENCORE_QUIET: '1' },
      });
      worker.unref(); // an unclosed pool never keeps the process alive
      handles.push(new WorkerHandle<ServingAnswer>(worker, 'Serving worker'));
    }
    await Promise.all(handles.map((h) => h.whenReady()));
  } catch (e) {
    await Promise.all(handles.map((h) => h.worker.terminate().catch(() => 0)));
    throw e;
  }
  return handles;
}
