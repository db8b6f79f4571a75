// Runs the shared Recommender contract against every model encore ships.
import { beforeAll } from 'vitest';
import { initBackend } from '../src/backend.js';
import { ItemKNN, ItemTransition, Popularity } from '../src/models/baselines.js';
import { SASRec } from '../src/models/sasrec.js';
import { runRecommenderContract, syntheticTrain } from './helpers/contract.js';

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

runRecommenderContract('Popularity', async () => {
  const train = syntheticTrain(1);
  return { model: await Popularity.fit(train), train };
});

runRecommenderContract('ItemTransition', async () => {
  const train = syntheticTrain(2);
  return { model: await ItemTransition.fit(train), train };
});

runRecommenderContract('ItemKNN', async () => {
  const train = syntheticTrain(3);
  return { model: await ItemKNN.fit(train, { window: 3 }), train };
});

// Tiny settings: the contract checks behaviour, not accuracy. Cold start is popularity, like the baselines.
runRecommenderContract('SASRec', async () => {
  const train = syntheticTrain(4);
  const model = await SASRec.fit(train, {
    dim: 16,
    blocks: 1,
    maxlen: 12,
    epochs: 3,
    batchSize: 32,
    seed: 7,
    validation: 'none',
    progress: false,
  });
  return { model, train };
});
