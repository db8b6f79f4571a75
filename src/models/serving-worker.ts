// Worker-thread entry of the serving pool: loads the model saved by ServingPool.start, then answers
// recommendBatch and scoreAll requests for its share of each batch.
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendName, initBackend } from '../backend.js';
import type { RecommendOptions } from './recommender.js';
import type { ServingAnswer } from './serving.js';

type Request =
  | { type: 'recommendBatch'; histories: string[][]; options: RecommendOptions }
  | { type: 'scoreAll'; histories: string[][] };

const port = parentPort;
if (!port) throw new Error('serving-worker.ts must run in a worker thread (see ServingPool.start)');

const { backend, dir, register } = workerData as { backend: BackendName; dir: string; register: string[] };

function report(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  port!.postMessage({ type: 'error', message: err.message, stack: err.stack } satisfies ServingAnswer);
}

try {
  await initBackend({ backend, verbose: false });
  // The package entry registers every built-in model type with loadModel; `register` adds custom ones.
  const { loadModel } = await import('../index.js');
  for (const m of register) await import(m);
  const model = await loadModel(dir);
  port.on('message', async (msg: Request) => {
    try {
      const before = model.unknownSkipped;
      if (msg.type === 'recommendBatch') {
        const recs = await model.recommendBatch(msg.histories, msg.options);
        const answer: ServingAnswer = {
          type: 'recommendations',
          recs,
          unknown: model.unknownSkipped - before,
        };
        port.postMessage(answer);
      } else {
        const rows = await model.scoreAll(msg.histories);
        // One fresh buffer for all rows: a model's rows may be views of one shared (or wasm) buffer,
        // which cannot be transferred row by row.
        const width = model.vocabulary.size + 1;
        const scores = new Float32Array(rows.length * width);
        for (const [r, row] of rows.entries()) scores.set(row, r * width);
        const answer: ServingAnswer = {
          type: 'scores',
          scores,
          width,
          unknown: model.unknownSkipped - before,
        };
        port.postMessage(answer, [scores.buffer]);
      }
    } catch (e) {
      report(e);
    }
  });
  port.postMessage({ type: 'ready' } satisfies ServingAnswer);
} catch (e) {
  report(e);
}
