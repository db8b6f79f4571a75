// Artist side information: resolving track -> artist, and SASRec's artist embeddings.
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { tf } from '../src/backend.js';
import { Dataset, Vocabulary } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { InvalidModelFileError, InvalidOptionError } from '../src/errors.js';
import { artistIndex } from '../src/models/artists.js';
import { loadModel } from '../src/models/persist.js';
import {
  AUTO_LEARNING_RATE,
  AUTO_LEARNING_RATE_ARTISTS,
  resolveLearningRate,
  SASRec,
  type SASRecOptions,
} from '../src/models/sasrec.js';
import { createRng } from '../src/util/random.js';
import { resigned } from './helpers/manifest.js';
import { useWasmWorkdir } from './helpers/workdir.js';

const under = useWasmWorkdir('encore-artists-');

describe('artistIndex', () => {
  const vocab = Vocabulary.from(['t1', 't2', 't3', 't4']);

  it('numbers artists in vocabulary order from a Map or from track records, 0 for none', () => {
    const fromMap = artistIndex(
      vocab,
      new Map([
        ['t3', 'b'],
        ['t1', 'a'],
        ['t2', 'b'],
        ['other', 'c'],
      ]),
    );
    const order = vocab.ids.slice(1);
    expect(order).toHaveLength(4);
    const expected = new Int32Array(5);
    const numbers = new Map<string, number>();
    const artistOf: Record<string, string> = { t1: 'a', t2: 'b', t3: 'b' };
    order.forEach((t, k) => {
      const a = artistOf[t];
      if (a === undefined) return;
      if (!numbers.has(a)) numbers.set(a, numbers.size + 1);
      expected[k + 1] = numbers.get(a)!;
    });
    expect(Array.from(fromMap.of)).toEqual(Array.from(expected));
    expect(fromMap.count).toBe(2);
    expect(fromMap.tracksWithArtist).toBe(3); // t4 has none; 'other' is not in the vocabulary
    const fromRecords = artistIndex(vocab, [
      { trackId: 't1', artistId: 'a' },
      { trackId: 't2', artistId: 'b' },
      { trackId: 't3', artistId: 'b' },
      { trackId: 't1', artistId: 'a' }, // a repeat that agrees is fine
    ]);
    expect(fromRecords).toEqual(fromMap);
  });

  it('names the entry of a bad or conflicting artist, and refuses a source that covers no track', () => {
    const conflict = () =>
      artistIndex(vocab, [
        { trackId: 't1', artistId: 'a' },
        { trackId: 't1', artistId: 'z' },
      ]);
    expect(conflict).toThrow(InvalidOptionError);
    expect(conflict).toThrow(/artists\[1\].*already given artist a/);
    // A blank artist (a catalogue row without one) is no artist, not an error.
    const blank = artistIndex(vocab, [
      { trackId: 't1', artistId: '' },
      { trackId: 't2', artistId: 'a' },
    ]);
    expect(Array.from(blank.of)).toEqual([0, 0, 1, 0, 0]);
    expect(() => artistIndex(vocab, [{ trackId: 't1', artistId: '' }])).toThrow(/none of the 4 tracks/);
    expect(() => artistIndex(vocab, [{ trackId: 't1' } as never])).toThrow(/artists\[0\]/);
    expect(() => artistIndex(vocab, new Map([['t1', 5 as never]]))).toThrow(/artists\.get\("t1"\)/);
    expect(() => artistIndex(vocab, 'a' as never)).toThrow(/Map from track id/);
    expect(() => artistIndex(vocab, new Map([['nope', 'a']]))).toThrow(/none of the 4 tracks/);
  });
});

/**
 * 20 artists of 40 tracks each; every listener plays runs of 5-10 tracks by one artist, each track drawn
 * at random from the artist's 40, so a track is heard only a few times but an artist often: the next track
 * is "some track by the same artist", which artist embeddings share across tracks.
 */
function artistRuns(users: number, seed: number): { listens: Listen[]; artists: Map<string, string> } {
  const rng = createRng(seed);
  const listens: Listen[] = [];
  const artists = new Map<string, string>();
  for (let a = 0; a < 20; a++) for (let k = 0; k < 40; k++) artists.set(`a${a}-${k}`, `artist${a}`);
  for (let u = 0; u < users; u++) {
    let t = 0;
    while (t < 30) {
      const a = rng.int(20);
      const run = 5 + rng.int(6);
      for (let k = 0; k < run && t < 30; k++, t++)
        listens.push({ userId: `u${u}`, trackId: `a${a}-${rng.int(40)}`, timestamp: t * 60_000 });
    }
  }
  return { listens, artists };
}

const FAST: SASRecOptions = { dim: 16, blocks: 1, maxlen: 8, batchSize: 32, epochs: 2, progress: false };

/** Share of the top 10 (history included) that is by the artist of the last listen, over `histories`. */
async function sameArtistShare(
  model: SASRec,
  histories: string[][],
  artists: Map<string, string>,
): Promise<number> {
  let same = 0;
  for (const h of histories) {
    const recs = await model.recommend(h, { k: 10, excludeHistory: false });
    same += recs.filter((r) => artists.get(r.trackId) === artists.get(h[h.length - 1]!)).length / 10;
  }
  return same / histories.length;
}

/** The weights of a model fitted with `options`, the model disposed. */
async function startingWeights(ds: Dataset, options: SASRecOptions) {
  const model = await SASRec.fit(ds, options);
  const weights = model.getWeights();
  model.dispose();
  return weights;
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), a.length === b.length ? 0 : Infinity);

describe('SASRec with artist embeddings', () => {
  it('learns "same artist next" across rarely heard tracks, saves and loads it, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const { listens, artists } = artistRuns(120, 1);
    const ds = Dataset.fromListens(listens);
    // The transformer alone (no post-hoc heads): its embeddings are what is compared.
    const opts: SASRecOptions = { ...FAST, epochs: 10, validation: 'none' };
    const withArtists = await SASRec.fit(ds, { ...opts, artists });
    const plain = await SASRec.fit(ds, opts);
    expect(withArtists.artistInfo).toEqual({ artists: 20, tracksWithArtist: ds.vocabulary.size });
    expect(plain.artistInfo).toBeUndefined();
    const histories = artistRuns(40, 99).listens.reduce<string[][]>((acc, l, i) => {
      if (i % 30 === 0) acc.push([]);
      const h = acc[acc.length - 1]!;
      if (h.length < 6) h.push(l.trackId);
      return acc;
    }, []);
    const shareWith = await sameArtistShare(withArtists, histories, artists);
    const sharePlain = await sameArtistShare(plain, histories, artists);
    expect(shareWith).toBeGreaterThan(0.5);
    expect(shareWith).toBeGreaterThan(sharePlain + 0.2);
    // Saved with the model: identical scores after loading.
    await withArtists.save(under('m'));
    const loaded = (await loadModel(under('m'))) as SASRec;
    expect(loaded.artistInfo).toEqual(withArtists.artistInfo);
    const ids = ['a0-1', 'a0-2', 'a3-5', 'a19-39'];
    expect(await loaded.score(histories[0]!, ids)).toEqual(await withArtists.score(histories[0]!, ids));
    loaded.dispose();
    withArtists.dispose();
    plain.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('is the same model for the same seed, and off with artistEmbeddings: false', async () => {
    const { listens, artists } = artistRuns(30, 2);
    const ds = Dataset.fromListens(listens);
    const opts: SASRecOptions = { ...FAST, epochs: 1, artists, validation: 'none' };
    const a = await SASRec.fit(ds, opts);
    const b = await SASRec.fit(ds, opts);
    expect(b.getWeights().artist_emb).toEqual(a.getWeights().artist_emb);
    expect(Array.from(a.getWeights().artist_emb!).some((x) => x !== 0)).toBe(true); // it was trained
    a.dispose();
    b.dispose();
    const off = await SASRec.fit(ds, { ...opts, artistEmbeddings: false });
    expect(off.artistInfo).toBeUndefined();
    expect(off.getWeights().artist_emb).toBeUndefined();
    off.dispose();
    // The zero-initialised artist table draws nothing from the seeded stream: with a vanishing step size
    // the other weights stay at their start, which is the same with and without artists.
    const { artists: _, ...still }: SASRecOptions = { ...opts, learningRate: 1e-12, warmupSteps: 0 };
    const startWith = await startingWeights(ds, { ...still, artists });
    const startWithout = await startingWeights(ds, still);
    for (const name of ['item_emb', 'pos_emb', 'b0.q.w', 'b0.f2.w'])
      expect(maxAbsDiff(startWith[name]!, startWithout[name]!), name).toBeLessThan(1e-6);
    await expect(SASRec.fit(ds, { ...opts, artistEmbeddings: 'yes' as never })).rejects.toThrow(
      /artistEmbeddings/,
    );
    await expect(SASRec.fit(ds, { ...opts, artists: new Map([['zz', 'a']]) })).rejects.toThrow(
      InvalidOptionError,
    );
  });

  it("resolves learningRate 'auto' to 1e-3 with artist embeddings and 2e-3 without, and records it", async () => {
    expect(resolveLearningRate('auto', true)).toBe(1e-3);
    expect(resolveLearningRate('auto', false)).toBe(2e-3);
    expect(resolveLearningRate(5e-4, true)).toBe(5e-4);
    const { listens, artists } = artistRuns(30, 4);
    const ds = Dataset.fromListens(listens);
    const opts: SASRecOptions = { ...FAST, epochs: 1, validation: 'none' };
    const rateOf = async (o: SASRecOptions) => {
      const model = await SASRec.fit(ds, o);
      const rate = model.config.learningRate;
      if (o.artists && o.artistEmbeddings !== false) {
        // The saved config holds the resolved rate, so a reloaded model reports what it was trained with.
        const where = under(`rate-${rate}`);
        await model.save(where);
        const back = await loadModel(where);
        expect((back as SASRec).config.learningRate).toBe(rate);
        back.dispose();
      }
      model.dispose();
      return rate;
    };
    expect(await rateOf({ ...opts, artists })).toBe(AUTO_LEARNING_RATE_ARTISTS);
    expect(await rateOf(opts)).toBe(AUTO_LEARNING_RATE);
    expect(await rateOf({ ...opts, artists, artistEmbeddings: false })).toBe(AUTO_LEARNING_RATE);
    expect(await rateOf({ ...opts, artists, learningRate: 3e-3 })).toBe(3e-3);
    await expect(SASRec.fit(ds, { ...opts, learningRate: 'fast' as never })).rejects.toThrow(
      /`learningRate`.*'auto' or a finite number > 0.*fast/s,
    );
  });

  it('embeds the artists the training listens name, unless told otherwise', async () => {
    const { listens, artists } = artistRuns(30, 5);
    const named = listens.map((l) => ({ ...l, artistId: artists.get(l.trackId)! }));
    const plain = Dataset.fromListens(listens);
    const carrying = Dataset.fromListens(named);
    expect(carrying.artists()).toEqual(new Map([...artists].filter(([t]) => carrying.vocabulary.has(t))));
    expect(plain.artists()).toBeUndefined();
    const opts: SASRecOptions = { ...FAST, epochs: 1, validation: 'none' };
    const before = tf.memory().numTensors;
    // The same model as passing the same artists explicitly, learning rate 'auto' included.
    const auto = await SASRec.fit(carrying, opts);
    const explicit = await SASRec.fit(plain, { ...opts, artists });
    expect(auto.artistInfo).toEqual({ artists: 20, tracksWithArtist: carrying.vocabulary.size });
    expect(auto.config.learningRate).toBe(AUTO_LEARNING_RATE_ARTISTS);
    expect(auto.getWeights()).toEqual(explicit.getWeights());
    // Explicit artists win over the listens'; artistEmbeddings: false trains without any.
    const other = new Map([...artists].map(([t]) => [t, 'one artist']));
    const overridden = await SASRec.fit(carrying, { ...opts, artists: other });
    expect(overridden.artistInfo).toEqual({ artists: 1, tracksWithArtist: carrying.vocabulary.size });
    const off = await SASRec.fit(carrying, { ...opts, artistEmbeddings: false });
    expect(off.artistInfo).toBeUndefined();
    expect(off.config.learningRate).toBe(AUTO_LEARNING_RATE);
    for (const m of [auto, explicit, overridden, off]) m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a saved model whose artist map is malformed', async () => {
    const { listens, artists } = artistRuns(30, 3);
    const model = await SASRec.fit(Dataset.fromListens(listens), {
      ...FAST,
      epochs: 1,
      artists,
      validation: 'none',
    });
    const where = under('bad');
    await model.save(where);
    model.dispose();
    const file = `${where}/model.json`;
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.config.artistCount = 2.5;
    await writeFile(file, JSON.stringify(resigned(json)));
    await expect(loadModel(where)).rejects.toThrow(InvalidModelFileError);
    await expect(loadModel(where)).rejects.toThrow(/artistCount is 2.5/);
    json.config.artistCount = 3; // fewer than the saved indices use
    await writeFile(file, JSON.stringify(resigned(json)));
    await expect(loadModel(where)).rejects.toThrow(
      /artist_of\[\d+\] is \d+, not an artist index in \[0, 3\]/,
    );
  });
});
