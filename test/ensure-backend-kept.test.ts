// ensureBackend keeps a backend TensorFlow.js already has (own process: see ensure-backend.test.ts).
import { describe, expect, it } from 'vitest';
import { backendInfo, ensureBackend, initBackend, tf } from '../src/backend.js';
import { Dataset } from '../src/data/dataset.js';
import { generateWorld } from '../src/data/generate.js';
import { RewardModel } from '../src/rewards/reward-model.js';

describe('ensureBackend', () => {
  it('keeps a backend set with tf.setBackend before the first fit', async () => {
    await tf.setBackend('cpu');
    const train = Dataset.fromListens(generateWorld({ users: 20, seed: 3 }).listens);
    const model = await RewardModel.fit(train, { epochs: 1 });
    model.dispose();
    expect(tf.getBackend()).toBe('cpu');
    expect(backendInfo()?.name).toBe('cpu');
  });

  it('reports the backend now running after a later tf.setBackend, not the one it set before', async () => {
    await initBackend({ backend: 'wasm' });
    await tf.setBackend('cpu');
    expect((await ensureBackend()).name).toBe('cpu');
    expect(backendInfo()?.name).toBe('cpu');
    expect((await initBackend({ backend: 'wasm' })).threads).toBeGreaterThanOrEqual(1);
  });
});
