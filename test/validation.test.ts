// Bad arguments at every public entry are typed errors that name the option: misspelt option names,
// things that are not what the function takes, and damaged model manifests.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initBackend, tf } from '../src/backend.js';
import { blend } from '../src/blend/blend.js';
import { discoverWeekly } from '../src/blend/discover-weekly.js';
import { evaluateBlend } from '../src/blend/evaluate-blend.js';
import { tasteMatch } from '../src/blend/taste-match.js';
import { Dataset } from '../src/data/dataset.js';
import { bestAchievableHitRate, generateWorld, truthCases } from '../src/data/generate.js';
import { loadListens, loadTracks, parseTimestamp, saveListens } from '../src/data/loaders.js';
import { holdOutRecent, leaveOneOut, temporalSplit } from '../src/data/splits.js';
import type { Listen } from '../src/data/types.js';
import {
  describe as describeValue,
  EncoreError,
  InvalidDataError,
  InvalidModelFileError,
  InvalidOptionError,
} from '../src/errors.js';
import { compare, formatComparison } from '../src/eval/compare.js';
import { evaluateExpected } from '../src/eval/expected.js';
import { evaluate } from '../src/eval/metrics.js';
import { formatTable } from '../src/eval/table.js';
import { ItemKNN, ItemTransition, Popularity } from '../src/models/baselines.js';
import { loadModel, registerModelType, writeModelDir } from '../src/models/persist.js';
import { scoreBatchSize, topK } from '../src/models/recommender.js';
import { historyFeatures } from '../src/models/repeat.js';
import { resolveLearningRate, SASRec } from '../src/models/sasrec.js';
import { buildReport } from '../src/report/report.js';
import { simulateBanditLogs } from '../src/rewards/bandit-sim.js';
import { computeRewards } from '../src/rewards/hook.js';
import { rewards } from '../src/rewards/hooks.js';
import { fitTabularRewardModel, ope } from '../src/rewards/ope.js';
import { rerank, type Scorer, scorers } from '../src/rewards/rerank.js';
import { RewardModel } from '../src/rewards/reward-model.js';
import { createBelief } from '../src/sim/progressive-belief.js';
import { createSimWorld, simulate } from '../src/sim/simulator.js';
import { resolveLoss } from '../src/train/losses.js';
import { resigned } from './helpers/manifest.js';
import { useWasmWorkdir } from './helpers/workdir.js';

const under = useWasmWorkdir('encore-validation-');
const bad = <T>(v: unknown) => v as T;

const listens: Listen[] = ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'd'].flatMap((t, i) => [
  { userId: 'u1', trackId: t, timestamp: 1_000 * i },
  { userId: 'u2', trackId: t, timestamp: 1_000 * i + 1 },
]);
const train = Dataset.fromListens(listens);
const cases = [{ userId: 'u1', history: ['a', 'b'], target: 'c' }];
const tinyWorld = generateWorld({ users: 3, artists: 36, meanListensPerUser: 5, days: 3 });

/** The option an InvalidOptionError names, or the error itself when it is something else. */
async function optionOf(call: () => unknown): Promise<unknown> {
  try {
    await call();
  } catch (e) {
    return e instanceof InvalidOptionError ? e.option : e;
  }
  return 'no error';
}

describe('misspelt option names are errors, not silently ignored defaults', () => {
  const cases_: [string, () => unknown, string][] = [
    ['Popularity.fit', () => Popularity.fit(train, bad({ halflifeDays: 30 })), 'halflifeDays'],
    ['ItemTransition.fit', () => ItemTransition.fit(train, bad({ smooth: 1 })), 'smooth'],
    ['ItemKNN.fit', () => ItemKNN.fit(train, bad({ neighbors: 5 })), 'neighbors'],
    ['SASRec.fit', () => SASRec.fit(train, bad({ epoch: 1 })), 'epoch'],
    ['Dataset.fromListens', () => Dataset.fromListens(listens, bad({ minUserListen: 2 })), 'minUserListen'],
    ['evaluate', async () => evaluate(await Popularity.fit(train), cases, bad({ ks: [1] })), 'ks'],
    ['loadListens', () => loadListens('data/listens.csv', bad({ onInvalidRows: 'skip' })), 'onInvalidRows'],
    ['loadTracks', () => loadTracks('data/tracks.csv', bad({ column: {} })), 'column'],
    ['generateWorld', () => generateWorld(bad({ user: 20 })), 'user'],
    ['createSimWorld', () => createSimWorld(bad({ listener: 5 })), 'listener'],
    ['initBackend', () => initBackend(bad({ verbos: false })), 'verbos'],
    ['temporalSplit', () => temporalSplit(train, bad({ at: 5, when: 6 })), 'when'],
    ['holdOutRecent', () => holdOutRecent(train, bad({ share: 0.5 })), 'share'],
    [
      'discoverWeekly',
      async () => discoverWeekly(await Popularity.fit(train), ['a'], bad({ maxPerArtists: 1 })),
      'maxPerArtists',
    ],
    ['tasteMatch', () => tasteMatch([['a'], ['b']], bad({ track: [] })), 'track'],
    ['evaluateBlend', () => evaluateBlend(['a'], { x: ['a'] }, bad({ K: 1 })), 'K'],
    ['formatComparison', () => formatComparison([], bad({ K: 10 })), 'K'],
    ['rerank', () => rerank([], bad({ objectives: [[scorers.relevance(), 1]], K: 1 })), 'K'],
    ['scorers.diversity', () => scorers.diversity(bad({ tracks: [], windw: 3 })), 'windw'],
    [
      'ope.ips',
      () => ope.ips(simulateBanditLogs({ n: 10 }).logs, () => [1, 0, 0, 0, 0, 0], bad({ bootstraps: 5 })),
      'bootstraps',
    ],
    [
      'fitTabularRewardModel',
      () => fitTabularRewardModel(simulateBanditLogs({ n: 10 }).logs, bad({ priors: 1 })),
      'priors',
    ],
    ['simulateBanditLogs', () => simulateBanditLogs(bad({ rounds: 500 })), 'rounds'],
    ['rewards.completion', () => rewards.completion(bad({ credit: {} })), 'credit'],
    ['rewards.skipPenalty', () => rewards.skipPenalty(bad({ level: {} })), 'level'],
    ['rewards.saveBonus', () => rewards.saveBonus(bad({ bonuses: 1 })), 'bonuses'],
    ['rewards.repeatBonus', () => rewards.repeatBonus(bad({ withinDay: 3 })), 'withinDay'],
    ['rewards.diversityBonus', () => rewards.diversityBonus(bad({ windows: 3 })), 'windows'],
    ['rewards.returnBonus', () => rewards.returnBonus(bad({ day: 3 })), 'day'],
    ['RewardModel.fit', () => RewardModel.fit(train, bad({ epoch: 1 })), 'epoch'],
    ['createBelief', () => createBelief([[1], [0]], bad({ day: 1 })), 'day'],
    ['buildReport', () => buildReport(bad({ title: 'x', sections: [], generated: '' })), 'generated'],
    [
      'bestAchievableHitRate',
      () => bestAchievableHitRate(tinyWorld.truth, cases, 10, bad({ know: 'mood' })),
      'know',
    ],
    [
      'simulate',
      async () =>
        simulate({
          world: createSimWorld({ listeners: 3 }),
          policy: await Popularity.fit(train),
          ...bad<object>({ dayz: 1 }),
        }),
      'dayz',
    ],
    [
      'evaluateExpected',
      async () => evaluateExpected(await Popularity.fit(train), tinyWorld.truth, cases, bad({ K: 5 })),
      'K',
    ],
    [
      'blend',
      () =>
        blend(
          [
            { id: 'x', history: ['a'] },
            { id: 'y', history: ['b'] },
          ],
          bad({ sizes: 5 }),
        ),
      'sizes',
    ],
  ];
  for (const [where, call, option] of cases_) {
    it(`${where} rejects \`${option}\``, async () => {
      expect(await optionOf(call)).toBe(option);
    });
  }

  it('says which options exist', async () => {
    await expect(ItemKNN.fit(train, bad({ neighbors: 5 }))).rejects.toThrow(
      /The `neighbors` option must be a known ItemKNN option \(window, shrink, neighbours, historyWindow, decay, backoff\), got "neighbors"/,
    );
  });
});

describe('arguments of the wrong kind are named', () => {
  it('fit, splits and evaluate take a Dataset and Recommenders', async () => {
    expect(await optionOf(() => SASRec.fit(bad(undefined)))).toBe('train');
    expect(await optionOf(() => SASRec.fit(bad(listens)))).toBe('train');
    expect(await optionOf(() => ItemKNN.fit(bad(listens)))).toBe('train');
    expect(await optionOf(() => leaveOneOut(bad(undefined)))).toBe('dataset');
    expect(await optionOf(() => temporalSplit(bad(listens), { at: 5 }))).toBe('dataset');
    expect(await optionOf(() => evaluate(bad(undefined), cases))).toBe('model');
    expect(await optionOf(() => evaluate(bad({}), cases))).toBe('model');
    expect(await optionOf(() => evaluateExpected(bad({}), tinyWorld.truth, cases))).toBe('model');
    expect(
      await optionOf(async () => evaluateExpected(await Popularity.fit(train), tinyWorld.truth, bad('x'))),
    ).toBe('cases');
    expect(await optionOf(() => compare(bad([null]), cases))).toBe('models[0]');
    const pop = await Popularity.fit(train);
    expect(await optionOf(() => compare(bad([pop, undefined]), cases))).toBe('models[1]');
    expect(await optionOf(() => evaluate(pop, cases, bad({ train: {} })))).toBe('train');
    expect(await optionOf(() => evaluate(pop, cases, bad({ itemCounts: 5 })))).toBe('itemCounts');
    expect(await optionOf(() => evaluate(pop, cases, bad({ itemCounts: { a: -5 } })))).toBe(
      'itemCounts["a"]',
    );
  });

  it("SASRec's validation cases are checked like evaluate's", async () => {
    const option = await optionOf(() =>
      SASRec.fit(
        train,
        bad({ validation: [{ userId: 'x' }], dim: 8, blocks: 1, maxlen: 4, epochs: 1, progress: false }),
      ),
    );
    expect(option).toBe('validation[0].history');
  });

  it('SASRec refuses validation cases it cannot read before training, and leaks nothing', async () => {
    const before = tf.memory().numTensors;
    const unreadable = [{ userId: 'u1', history: ['a', 'b'], target: 'brand-new-track' }];
    let epochs = 0;
    const option = await optionOf(() =>
      SASRec.fit(train, {
        validation: unreadable,
        dim: 8,
        blocks: 1,
        maxlen: 4,
        epochs: 5,
        progress: false,
        onEpochEnd: () => {
          epochs++;
        },
      }),
    );
    expect(option).toBe('validation');
    expect(epochs).toBe(0); // refused up front, not after training
    expect(tf.memory().numTensors).toBe(before);
    // Unknown ids in the validation histories are the fit's own scoring, not counted against the caller.
    const withUnknown = [{ userId: 'u1', history: ['a', 'zzz'], target: 'b' }];
    const model = await SASRec.fit(train, {
      validation: withUnknown,
      dim: 8,
      blocks: 1,
      maxlen: 4,
      epochs: 1,
      progress: false,
    });
    expect(model.unknownSkipped).toBe(0);
    model.dispose();
  });

  it('a file argument must be a path', async () => {
    expect(await optionOf(() => loadListens(bad(undefined)))).toBe('file');
    expect(await optionOf(() => loadTracks(bad(42)))).toBe('file');
  });

  it('error messages show short arrays and invalid dates as they are', () => {
    expect(describeValue([5, 0])).toBe('[5, 0]');
    expect(describeValue(['a', Number.NaN])).toBe('["a", NaN]');
    expect(describeValue(Array.from({ length: 11 }, (_, i) => i))).toBe('an array of length 11');
    expect(describeValue(new Date(Number.NaN))).toBe('Invalid Date');
    expect(describeValue(new Date(0))).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('CSV headers', () => {
  it('a column named twice is an error naming it, not a silent pick of the first', async () => {
    const file = under('twice.csv');
    await writeFile(file, 'user_id,track_id,timestamp,user_id\nu1,a,1,u2\n');
    const err = await loadListens(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidDataError);
    expect((err as Error).message).toMatch(/names column `user_id` twice/);
    expect((err as InvalidDataError).issues[0]).toMatchObject({ line: 1, column: 'user_id' });
  });
});

describe('damaged model manifests are InvalidModelFileErrors naming the problem', () => {
  const edits: [string, (m: Record<string, unknown>) => unknown, RegExp][] = [
    ['null', () => null, /not a manifest object/],
    ['no arrays', (m) => ({ ...m, arrays: undefined }), /arrays is missing/],
    ['no checksums', (m) => ({ ...m, sha256: undefined }), /sha256/],
    [
      'an array past the end',
      (m) => ({ ...m, arrays: [{ ...(m.arrays as object[])[0], offset: 1 << 20 }] }),
      /arrays\[0\]/,
    ],
    ['no config', (m) => ({ ...m, config: null }), /config is null/],
  ];
  for (const [what, edit, message] of edits) {
    it(what, async () => {
      const dir = under(`m-${what.replace(/ /g, '-')}`);
      await (await Popularity.fit(train)).save(dir);
      const manifest = JSON.parse(await readFile(`${dir}/model.json`, 'utf8')) as Record<string, unknown>;
      await writeFile(`${dir}/model.json`, JSON.stringify(edit(manifest)));
      const err = await loadModel(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidModelFileError);
      expect((err as Error).message).toMatch(message);
    });
  }

  it("a SASRec config that fit would refuse (dim: 'x') is named, not a tensor-shape error", async () => {
    const dir = under('sasrec-bad-dim');
    const model = await SASRec.fit(train, {
      dim: 8,
      blocks: 1,
      maxlen: 4,
      epochs: 1,
      validation: 'none',
      progress: false,
    });
    await model.save(dir);
    model.dispose();
    const manifest = JSON.parse(await readFile(`${dir}/model.json`, 'utf8')) as {
      config: Record<string, unknown>;
    };
    manifest.config.dim = 'x';
    await writeFile(`${dir}/model.json`, JSON.stringify(resigned(manifest)));
    const err = await loadModel(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidModelFileError);
    expect((err as Error).message).toMatch(/config: The `dim` option/);
  });

  it('a Popularity config is checked too', async () => {
    const dir = under('pop-bad-config');
    await (await Popularity.fit(train)).save(dir);
    const manifest = JSON.parse(await readFile(`${dir}/model.json`, 'utf8')) as {
      config: Record<string, unknown>;
    };
    manifest.config = { halfLifeDays: -3 };
    await writeFile(`${dir}/model.json`, JSON.stringify(resigned(manifest)));
    await expect(loadModel(dir)).rejects.toThrow(/`halfLifeDays`/);
  });
});

describe('smaller entry points', () => {
  const objectives: [Scorer, number][] = [[(cands) => cands.map(() => 1), 1]];
  it('rerank checks each recommendation and refuses a track listed twice', async () => {
    expect(await optionOf(() => rerank(bad([{}]), { objectives }))).toBe('recommendations[0]');
    const twice = [
      { trackId: 'a', score: 2 },
      { trackId: 'a', score: 1 },
    ];
    expect(await optionOf(() => rerank(twice, { objectives }))).toBe('recommendations[1].trackId');
    expect(await optionOf(() => rerank(twice.slice(1), { objectives, history: 'aaa' as never }))).toBe(
      'history',
    );
  });

  it('rerank normalises a full catalogue of scores (no spread into Math.min)', async () => {
    const many = Array.from({ length: 200_000 }, (_, i) => ({ trackId: `t${i}`, score: i % 997 }));
    const out = await rerank(many, { objectives: [[scorers.relevance(), 1]], k: 3 });
    expect(out).toHaveLength(3);
    for (const r of out) expect(Number(r.trackId.slice(1)) % 997).toBe(996);
  });

  it('saveListens to a directory names the file', async () => {
    expect(await optionOf(() => saveListens(under(), listens))).toBe('file');
  });

  it('concurrent saves to one path leave one complete model and nothing else behind', async () => {
    const models = [
      await Popularity.fit(train),
      await ItemTransition.fit(train),
      await ItemKNN.fit(train, { window: 2 }),
    ];
    for (let t = 0; t < 10; t++) {
      const dir = under(`same-${t}`);
      const settled = await Promise.allSettled(models.map((m) => m.save(dir)));
      expect(settled.some((r) => r.status === 'fulfilled')).toBe(true);
      for (const r of settled)
        if (r.status === 'rejected') expect(String(r.reason)).toMatch(/Another save to .* finished first/);
      const loaded = await loadModel(dir);
      expect(models.map((m) => m.type)).toContain(loaded.type);
    }
    const left = (await readdir(under())).filter((f) => /encore-(tmp|old)/.test(f));
    expect(left).toEqual([]);
  });

  it('a model saved under a file names `dir`; a disposed model says it was disposed', async () => {
    const file = under('a-file.txt');
    await writeFile(file, 'x');
    const pop = await Popularity.fit(train);
    expect(await optionOf(() => pop.save(`${file}/model`))).toBe('dir');
    const model = await SASRec.fit(train, { dim: 8, blocks: 1, maxlen: 4, epochs: 1, progress: false });
    model.dispose();
    for (const use of [() => model.save(under('disposed')), () => model.recommend(['a'], { k: 1 })]) {
      const err = await use().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(EncoreError);
      expect(err).not.toBeInstanceOf(InvalidDataError);
      expect(String(err)).toMatch(/disposed/);
    }
  });

  it('blend candidates: not a string, not empty', async () => {
    const members = [
      { id: 'x', history: ['a'] },
      { id: 'y', history: ['b'] },
    ];
    expect(await optionOf(() => blend(members, bad({ candidates: 'abc' })))).toBe('candidates');
    expect(await optionOf(() => blend(members, { candidates: [] }))).toBe('candidates');
    expect(await optionOf(() => blend(members, { seed: Number.NaN }))).toBe('seed');
  });

  it("tasteMatch and evaluateBlend take track ids, and held-out lists only for the Blend's members", async () => {
    expect(await optionOf(() => tasteMatch(bad([['a'], [5]])))).toBe('histories[1][0]');
    expect(await optionOf(() => evaluateBlend(['a'], bad({ x: [1], y: ['b'] })))).toBe('heldOut.x[0]');
    const members = [
      { id: 'x', history: ['a'] },
      { id: 'y', history: ['b'] },
    ];
    const result = await blend(members, { size: 2 });
    expect(await optionOf(() => evaluateBlend(result, { x: ['a'], y: ['b'], z: ['c'] }))).toBe('heldOut.z');
  });

  it('writeModelDir refuses what would not load back as written; registerModelType guards the built-ins', async () => {
    const vocabulary = train.vocabulary;
    const good = {
      type: 'mine',
      config: { a: 1 },
      vocabulary,
      arrays: [{ name: 'w', shape: [2], data: new Float32Array(2) }],
    };
    const dir = under('mine');
    const cases_: [unknown, string][] = [
      [null, 'contents'],
      [{ ...good, type: '' }, 'contents.type'],
      [{ ...good, vocabulary: ['', 'a'] }, 'contents.vocabulary'],
      [{ ...good, config: { a: Number.NaN } }, 'contents.config.a'],
      [{ ...good, config: { a: [1, Number.POSITIVE_INFINITY] } }, 'contents.config.a[1]'],
      [{ ...good, config: new Map() }, 'contents.config'],
      [{ ...good, arrays: [good.arrays[0], good.arrays[0]] }, 'contents.arrays[1].name'],
      [
        { ...good, arrays: [{ name: 'w', shape: [2], data: new Float64Array(2) }] },
        'contents.arrays[0].data',
      ],
      [
        { ...good, arrays: [{ name: 'w', shape: [-1], data: new Float32Array(2) }] },
        'contents.arrays[0].shape',
      ],
    ];
    for (const [contents, option] of cases_)
      expect(await optionOf(() => writeModelDir(dir, bad(contents)))).toBe(option);
    expect(await readdir(path.dirname(dir))).not.toContain(path.basename(dir)); // nothing written
    await writeModelDir(dir, good);
    expect(await optionOf(() => registerModelType('popularity', () => bad(null)))).toBe('type');
    expect(await optionOf(() => registerModelType('', () => bad(null)))).toBe('type');
    expect(await optionOf(() => registerModelType('x', bad(5)))).toBe('loader');
    const pop = await Popularity.fit(train);
    await pop.save(under('pop-saved'));
    pop.dispose();
    const back = await loadModel(under('pop-saved'));
    expect(back).toBeInstanceOf(Popularity); // the refused loader did not replace the built-in one
    back.dispose();
  });

  it('helpers name what they were given: topK, parseTimestamp, ground truth, tables, evaluateBlend', async () => {
    const scores = new Float32Array([0, 0.5, 0.9]);
    for (const k of [-1, 1.5, Number.NaN, '2']) expect(await optionOf(() => topK(scores, bad(k)))).toBe('k');
    expect(topK(scores, 0)).toEqual([]);
    expect(await optionOf(() => parseTimestamp(bad(1000)))).toBe('text');
    expect(await optionOf(() => parseTimestamp('1700000000', bad('sec')))).toBe('unit');
    const model = await Popularity.fit(train);
    expect(await optionOf(() => evaluateExpected(model, bad(null), cases))).toBe('truth');
    expect(await optionOf(() => bestAchievableHitRate(bad(tinyWorld), truthCases(tinyWorld), 10))).toBe(
      'truth',
    );
    expect(await optionOf(() => truthCases(bad(null)))).toBe('world');
    expect(await optionOf(() => formatComparison(bad({})))).toBe('rows');
    expect(await optionOf(() => formatComparison(bad([{ name: 'x' }])))).toBe('rows[0]');
    expect(await optionOf(() => formatTable(bad({}), []))).toBe('columns');
    expect(await optionOf(() => formatTable([{ key: 'a' }], bad([null])))).toBe('rows[0]');
    expect(await optionOf(() => formatTable(bad([null]), []))).toBe('columns[0]');
    expect(await optionOf(() => evaluateBlend(bad({}), { a: ['t3'] }))).toBe('result');
    expect(await optionOf(() => evaluateBlend(['a'], bad(new Map([['x', ['a']]]))))).toBe('heldOut');
    expect(await optionOf(() => evaluateBlend(['a'], bad([['a']])))).toBe('heldOut');
    expect(await optionOf(() => holdOutRecent(train, { fraction: bad('0.2') }))).toBe('fraction');
    expect(await optionOf(() => resolveLoss(bad('mse'), 10))).toBe('loss');
    expect(await optionOf(() => resolveLoss('auto', -1))).toBe('numItems');
    expect(await optionOf(() => resolveLearningRate(bad('fast'), false))).toBe('learningRate');
    expect(await optionOf(() => resolveLearningRate(Number.NaN, false))).toBe('learningRate');
    expect(await optionOf(() => scoreBatchSize(Number.NaN))).toBe('tracks');
    expect(await optionOf(() => historyFeatures([1, 2], 0))).toBe('window');
    const inf = (await Popularity.fit(train, { halfLifeDays: Number.POSITIVE_INFINITY }).catch(
      (e) => e,
    )) as Error;
    expect(inf.message).toMatch(/finite number > 0/);
    const empty = (await Popularity.fit(Dataset.fromListens([])).catch((e) => e)) as Error;
    expect(empty.message).toMatch(/got "a Dataset with no listens"|got a Dataset with no listens/);
    // Scores are float32: a backoff of 1e300 made every ItemKNN score Infinity (the ranking lost).
    expect(await optionOf(() => ItemKNN.fit(train, { backoff: 1e300 }))).toBe('backoff');
    expect(await optionOf(() => ItemKNN.fit(train, { shrink: 1e300 }))).toBe('shrink');
    expect(await optionOf(() => ItemTransition.fit(train, { smoothing: Number.MAX_VALUE }))).toBe(
      'smoothing',
    );
    const knn = await ItemKNN.fit(train, { backoff: 1e6 });
    expect((await knn.recommend(['a'], { k: 2 })).every((r) => Number.isFinite(r.score))).toBe(true);
    knn.dispose();
    model.dispose();
  });

  it('a tracks catalogue is checked entry by entry wherever it is an option', async () => {
    const model = await Popularity.fit(train);
    const members = [
      { id: 'x', history: ['a'] },
      { id: 'y', history: ['b'] },
    ];
    const ok = { trackId: 'a', title: 'A', artistId: 'r', artist: 'R' };
    for (const [entry, where] of [
      [null, 'tracks[1]'],
      [{}, 'tracks[1]'],
      [{ trackId: 'b', artistId: 7 }, 'tracks[1]'],
    ] as const) {
      const tracks = bad<never>([ok, entry]);
      expect(await optionOf(() => tasteMatch([['a'], ['b']], { tracks }))).toBe(where);
      expect(await optionOf(() => discoverWeekly(model, ['a'], { tracks }))).toBe(where);
      expect(await optionOf(() => blend(members, { model, tracks }))).toBe(where);
      expect(await optionOf(() => scorers.diversity({ tracks }))).toBe(where);
      expect(await optionOf(() => rewards.diversityBonus({ tracks }))).toBe(where);
    }
    const map = bad<never>(new Map([['a', null]]));
    expect(await optionOf(() => scorers.diversity({ tracks: map }))).toBe('tracks.get("a")');
    expect(await optionOf(() => tasteMatch([['a'], ['b']], { tracks: map }))).toBe('tracks');
    model.dispose();
  });

  it('computeRewards takes a hook function, and the simulator a finite seed', async () => {
    expect(await optionOf(() => computeRewards(train, bad(5)))).toBe('hook');
    expect(await optionOf(() => computeRewards(bad(listens), () => 1))).toBe('dataset');
    expect(await optionOf(() => createSimWorld({ seed: Number.NaN }))).toBe('seed');
  });
});
