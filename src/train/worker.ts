// Worker-thread entry of the gradient pool: builds a model replica, then answers gradient requests.
import { parentPort, workerData } from 'node:worker_threads';
import { type BackendName, initBackend } from '../backend.js';
import type { ReplicaSpec } from './parallel.js';
import { type TrainableModel, toDenseGradient } from './trainer.js';

interface StepRequest {
  type: 'step';
  id: number;
  weights?: Record<string, Float32Array>;
  batch: unknown;
}

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread (see startGradientPool)');

const { backend, replica } = workerData as { backend: BackendName; replica: ReplicaSpec };

function report(e: unknown): void {
  const err = e instanceof Error ? e : new Error(String(e));
  port!.postMessage({ type: 'error', message: err.message, stack: err.stack });
}

try {
  await initBackend({ backend, verbose: false });
  const mod = (await import(replica.moduleUrl)) as Record<string, (init: unknown) => TrainableModel<unknown>>;
  const factory = mod[replica.exportName];
  if (typeof factory !== 'function')
    throw new Error(`${replica.moduleUrl} has no export ${replica.exportName}`);
  const model = factory(replica.init);
  port.on('message', (msg: StepRequest) => {
    try {
      if (msg.weights) model.setWeights(msg.weights);
      const { loss, grads } = model.computeGradients(msg.batch);
      const out: Record<string, Float32Array> = {};
      const transfer: ArrayBuffer[] = [];
      for (const [name, grad] of Object.entries(grads)) {
        const g = toDenseGradient(grad, model.variables[name]!.shape);
        const raw = g.dataSync() as Float32Array;
        const data = backend === 'wasm' ? raw : raw.slice(); // the cpu backend hands out its own storage
        g.dispose();
        out[name] = data;
        transfer.push(data.buffer as ArrayBuffer);
      }
      port.postMessage({ type: 'grads', id: msg.id, loss, grads: out }, transfer);
    } catch (e) {
      report(e);
    }
  });
  port.postMessage({ type: 'ready' });
} catch (e) {
  report(e);
}
