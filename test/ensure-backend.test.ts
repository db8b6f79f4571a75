// ensureBackend: a script that never calls initBackend still trains on the fastest backend (own process:
// vitest runs each test file in a fresh fork, so no backend is set here before the first fit).
import { describe, expect, it } from 'vitest';
import { backendInfo, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { generateWorld } from '../src/data/generate.js';
import { SASRec } from '../src/models/sasrec.js';

describe('ensureBackend', () => {
  it('SASRec.fit without initBackend picks the fastest backend, not tfjs default cpu', async () => {
    expect(backendInfo()).toBeUndefined();
    expect(tf.engine().backendName).toBeUndefined();
    const train = Dataset.fromListens(generateWorld({ users: 20, seed: 3 }).listens);
    const model = await SASRec.fit(train, {
      dim: 8,
      blocks: 1,
      epochs: 1,
      progress: false,
      validation: 'none',
    });
    model.dispose();
    const info = backendInfo();
    expect(info?.name).toBe(tf.getBackend());
    expect(['tensorflow', 'wasm']).toContain(info?.name);
  });
});
