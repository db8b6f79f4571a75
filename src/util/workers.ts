// Worker-thread plumbing shared by the gradient pool (training) and the serving pool: how to start a
// worker from sources or from the build, and one request at a time to it.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';

/**
 * What a worker posts back: `ready` once after it started, `error` when it failed (starting or answering),
 * or an answer to the request in flight.
 *
 * @example
 * ```ts
 * const msg: WorkerMessage = { type: 'ready' };
 * ```
 */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string; stack?: string }
  | { type: string };

/**
 * The entry of worker `name` that sits next to the module at `callerUrl`: `name.js` when built, else
 * (sources under tsx or vitest) a tiny ES module that loads `name.ts` through tsx's `tsImport` (Node 20
 * ignores `--import tsx` in workers).
 *
 * @example
 * ```ts
 * const url = workerEntry(import.meta.url, 'worker'); // ./worker.js, or a loader of ./worker.ts
 * ```
 */
export function workerEntry(callerUrl: string, name: string): URL {
  if (!callerUrl.endsWith('.ts')) return new URL(`./${name}.js`, callerUrl);
  const tsxDir = path.dirname(createRequire(callerUrl).resolve('tsx/package.json'));
  const api = pathToFileURL(path.join(tsxDir, 'dist', 'esm', 'api', 'index.mjs')).href;
  const target = new URL(`./${name}.ts`, callerUrl).href;
  const code = `import { tsImport } from ${JSON.stringify(api)};\nawait tsImport(${JSON.stringify(target)}, ${JSON.stringify(api)});\n`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/**
 * One worker thread that answers one request at a time. A failure (an `error` message, a crash, an exit)
 * rejects the request in flight and every later one, with an error that starts with `label`.
 *
 * @example
 * ```ts
 * const handle = new WorkerHandle(new Worker(url), 'Serving worker');
 * await handle.whenReady();
 * const answer = await handle.request({ type: 'scoreAll', histories });
 * ```
 */
export class WorkerHandle<M extends WorkerMessage = WorkerMessage> {
  private pending: { resolve: (v: M) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private ready: Promise<void>;

  constructor(
    readonly worker: Worker,
    readonly label: string,
  ) {
    let markReady: () => void = () => {};
    let failReady: (e: Error) => void = () => {};
    this.ready = new Promise((res, rej) => {
      markReady = res;
      failReady = rej;
    });
    // Observed here as well: when a later worker of a pool fails to start, this handle's start is never
    // awaited, and closing the pool would otherwise reject it unhandled. Callers that await whenReady()
    // still get the rejection.
    this.ready.catch(() => {});
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'ready') return markReady();
      if (msg.type === 'error') {
        const { message, stack } = msg as { message: string; stack?: string };
        const e = new Error(`${label} failed: ${message}`);
        if (stack) e.stack = stack;
        this.fail(e);
        failReady(e);
        return;
      }
      const p = this.pending;
      this.pending = undefined;
      p?.resolve(msg as M);
    });
    worker.on('error', (e) => {
      this.fail(e);
      failReady(e);
    });
    worker.on('exit', (code) => {
      const e = new Error(`${label} exited (code ${code})`);
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

  /** Resolves once the worker posted `ready`; rejects if it failed first. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Posts `message` (transferring `transfer`) and resolves with the worker's answer. */
  request(message: unknown, transfer: ArrayBuffer[] = []): Promise<M> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }
}
