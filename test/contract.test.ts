// Runs the shared Recommender contract against every model encore ships.
import { beforeAll } from 'vitest';
import { initBackend } from '../src/backend.js';
import { ItemKNN, ItemTransition, Popularity } from '../src/models/baselines.js';
import { runRecommenderContract, syntheticTrain } from './helpers/contract.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
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

// SASRec: wired in below once src/models/sasrec.ts exists (engineer C).
