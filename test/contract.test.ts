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

// With artist embeddings (artist = track number mod 7), and the post-hoc heads fitted on 'auto' validation.
runRecommenderContract('SASRec with artists and heads', async () => {
  const train = syntheticTrain(5);
  const artists = new Map(train.vocabulary.ids.slice(1).map((t) => [t, `a${Number(t.slice(1)) % 7}`]));
  const model = await SASRec.fit(train, {
    dim: 16,
    blocks: 1,
    maxlen: 12,
    epochs: 2,
    batchSize: 32,
    seed: 7,
    artists,
    progress: false,
  });
  return { model, train };
});
