// Saving a model directory: readers never see a gap while a save swaps folders, and a failed save keeps
// the earlier one.
import { promises as fs } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Dataset } from '../src/data/dataset.js';
import type { Listen } from '../src/data/types.js';
import { InvalidModelFileError } from '../src/errors.js';
import { ItemTransition, Popularity } from '../src/models/baselines.js';
import { loadModel, readModelDir } from '../src/models/persist.js';
import type { Recommender } from '../src/models/recommender.js';

const T0 = 1_700_000_000_000;
const listens: Listen[] = [];
for (let u = 0; u < 8; u++)
  for (let p = 0; p < 30; p++)
    listens.push({ userId: `u${u}`, trackId: `t${(u * 3 + p) % 17}`, timestamp: T0 + (u * 30 + p) * 60_000 });
const train = Dataset.fromListens(listens);

let root = '';
const under = (...names: string[]) => path.join(root, ...names);
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'encore-persist-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** What a save leaves beside the model folder `name` (temporary or moved-aside folders). */
const leftovers = async (name: string) =>
  (await readdir(root)).filter((f) => f.startsWith(`${name}.encore-`));

/**
 * Test seam: writeModelDir renames through `fs.rename` on node's `promises` object, looked up at call time,
 * so spying on it injects failures or pauses into a save. `onSwap` runs instead of the rename that moves the
 * finished temporary folder onto the model folder; the spy records every rename so a test can check the
 * seam was really used.
 */
function interceptFinalRename(onSwap: (from: string, to: string, real: typeof fs.rename) => Promise<void>) {
  const real = fs.rename.bind(fs);
  const calls: [string, string][] = [];
  vi.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
    calls.push([String(from), String(to)]);
    if (String(from).includes('.encore-tmp-')) return onSwap(String(from), String(to), real);
    return real(from, to);
  });
  return calls;
}

const eio = () => Object.assign(new Error('EIO: simulated I/O error, rename'), { code: 'EIO' });

/** Loads `dir` in a loop until `until` settles; returns how many loads worked and every failure. */
async function loadWhile(dir: string, until: Promise<unknown>) {
  let done = false;
  void until.finally(() => {
    done = true;
  });
  let loads = 0;
  const failures: string[] = [];
  while (!done) {
    try {
      const m = await loadModel(dir);
      expect(['popularity', 'item-transition']).toContain(m.type);
      loads++;
    } catch (e) {
      failures.push(String(e));
    }
  }
  return { loads, failures };
}

describe('saving while others load', () => {
  it('a reader loading in a loop during repeated saves never fails', async () => {
    // Two models with different weights, so a reader that mixed files of two saves would fail its checksums.
    const models: Recommender[] = [await Popularity.fit(train), await ItemTransition.fit(train)];
    const dir = under('loop');
    await models[0]!.save(dir);
    const saves = (async () => {
      for (let i = 0; i < 40; i++) await models[i % 2]!.save(dir);
    })();
    const { loads, failures } = await loadWhile(dir, saves);
    await saves;
    expect(failures).toEqual([]);
    expect(loads).toBeGreaterThan(0);
    expect(await leftovers('loop')).toEqual([]);
  });

  it('a load that runs while the model folder is moved aside reads the earlier save', async () => {
    const pop = await Popularity.fit(train);
    const dir = under('gap');
    await (await ItemTransition.fit(train)).save(dir);
    const seen: string[] = [];
    const calls = interceptFinalRename(async (from, to, real) => {
      // The old folder is aside and the new one not yet in place: the gap a reader used to fall into.
      await expect(fs.stat(to)).rejects.toMatchObject({ code: 'ENOENT' });
      seen.push((await loadModel(dir)).type);
      seen.push((await readModelDir(dir)).type);
      await real(from, to);
    });
    await pop.save(dir);
    expect(calls.some(([, to]) => to === dir)).toBe(true);
    expect(seen).toEqual(['item-transition', 'item-transition']);
    expect((await loadModel(dir)).type).toBe('popularity');
    expect(await leftovers('gap')).toEqual([]);
  });

  it('concurrent saves with readers leave one complete model and nothing else behind', async () => {
    const models: Recommender[] = [await Popularity.fit(train), await ItemTransition.fit(train)];
    for (let t = 0; t < 5; t++) {
      const name = `same-${t}`;
      const dir = under(name);
      await models[1]!.save(dir);
      const saving = Promise.allSettled([...models, ...models].map((m) => m.save(dir)));
      const { failures } = await loadWhile(dir, saving);
      const settled = await saving;
      expect(failures).toEqual([]);
      expect(settled.some((r) => r.status === 'fulfilled')).toBe(true);
      for (const r of settled)
        if (r.status === 'rejected') expect(String(r.reason)).toMatch(/Another save to .* finished first/);
      expect(['popularity', 'item-transition']).toContain((await loadModel(dir)).type);
      expect(await leftovers(name)).toEqual([]);
    }
  });
});

describe('a save that starts while another swaps the folder', () => {
  it('is not refused when the folder or its model.json vanishes during the pre-save check', async () => {
    const pop = await Popularity.fit(train);
    const real = { readdir: fs.readdir.bind(fs), readFile: fs.readFile.bind(fs) };
    // Another save moves the folder aside just as the check lists it.
    const gone = under('check-gone');
    await pop.save(gone);
    vi.spyOn(fs, 'readdir').mockImplementationOnce(async (p, ...rest) => {
      if (String(p) === gone) await fs.rename(gone, `${gone}.aside`);
      return (real.readdir as (...a: unknown[]) => Promise<never>)(p, ...rest);
    });
    await pop.save(gone);
    vi.restoreAllMocks();
    expect((await loadModel(gone)).type).toBe('popularity');
    // Another save swaps the folder between the listing and the read of model.json.
    const swapped = under('check-swapped');
    await pop.save(swapped);
    const spy = vi.spyOn(fs, 'readFile').mockImplementationOnce(async (p, ...rest) => {
      await fs.rename(swapped, `${swapped}.aside`);
      try {
        return await (real.readFile as (...a: unknown[]) => Promise<never>)(p, ...rest);
      } finally {
        await fs.rename(`${swapped}.aside`, swapped);
      }
    });
    await (await ItemTransition.fit(train)).save(swapped);
    expect(spy.mock.calls[0]?.[0]).toBe(path.join(swapped, 'model.json'));
    vi.restoreAllMocks();
    expect((await loadModel(swapped)).type).toBe('item-transition');
  });
});

describe('a save whose final rename fails', () => {
  it('puts the earlier save back and reports the error', async () => {
    const dir = under('eio');
    await (await ItemTransition.fit(train)).save(dir);
    const calls = interceptFinalRename(async () => {
      throw eio();
    });
    await expect((await Popularity.fit(train)).save(dir)).rejects.toThrow(/EIO: simulated/);
    expect(calls.some(([from, to]) => from.includes('.encore-tmp-') && to === dir)).toBe(true);
    vi.restoreAllMocks();
    expect((await loadModel(dir)).type).toBe('item-transition');
    expect(await leftovers('eio')).toEqual([]);
  });

  it('keeps the earlier save where readers find it when it cannot be moved back either', async () => {
    const dir = under('eio2');
    await (await ItemTransition.fit(train)).save(dir);
    const real = fs.rename.bind(fs);
    vi.spyOn(fs, 'rename').mockImplementation(async (from, to) => {
      if (String(from).includes('.encore-tmp-') || String(from).includes('.encore-old-')) throw eio();
      return real(from, to);
    });
    const err = await (await Popularity.fit(train)).save(dir).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    vi.restoreAllMocks();
    expect(String(err)).toMatch(/could not be moved back .* kept at .*eio2\.encore-old-/);
    expect((err as Error).cause).toMatchObject({ code: 'EIO' });
    const kept = await leftovers('eio2');
    expect(kept).toEqual([expect.stringMatching(/^eio2\.encore-old-/)]);
    // The model folder is gone, but loading still finds the earlier save.
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await loadModel(dir)).type).toBe('item-transition');
    // A later save works and takes its place.
    await (await Popularity.fit(train)).save(dir);
    expect((await loadModel(dir)).type).toBe('popularity');
  });
});

describe('reading a model folder', () => {
  it('reads a moved-aside earlier save, the newest first, only when the folder is missing', async () => {
    const dir = under('aside');
    await (await Popularity.fit(train)).save(dir);
    await fs.rename(dir, `${dir}.encore-old-1-${Date.now() - 5000}-aaaaaaaaaaaa`);
    await (await ItemTransition.fit(train)).save(dir);
    await fs.rename(dir, `${dir}.encore-old-1-${Date.now()}-bbbbbbbbbbbb`);
    expect((await readModelDir(dir)).type).toBe('item-transition');
    expect((await loadModel(dir)).type).toBe('item-transition');
    // A folder that is there but damaged is reported, not replaced by a leftover.
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'model.json'), '{');
    await expect(readModelDir(dir)).rejects.toThrow(/model.json is not valid JSON/);
  });

  it('still names a missing folder when no save is in progress', async () => {
    const err = await readModelDir(under('never-saved')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidModelFileError);
    expect(String(err)).toMatch(/never-saved: no such directory/);
    // A file where the folder should be, and a folder without a model, each say so.
    await fs.writeFile(under('a-file'), 'x');
    await expect(readModelDir(under('a-file'))).rejects.toThrow(/a-file: not a directory/);
    await fs.mkdir(under('empty-folder'));
    await expect(readModelDir(under('empty-folder'))).rejects.toThrow(/empty-folder: model.json is missing/);
  });
});

describe('what a model directory must hold', () => {
  const sha = async (file: string) =>
    (await import('node:crypto'))
      .createHash('sha256')
      .update(await fs.readFile(file))
      .digest('hex');

  it("refuses an edit to model.json's options or fitted parameters (its own checksum)", async () => {
    const dir = under('edited');
    const model = await ItemTransition.fit(train);
    await model.save(dir);
    const text = await fs.readFile(path.join(dir, 'model.json'), 'utf8');
    const manifest = JSON.parse(text) as { config: { smoothing: number } };
    expect(manifest.config.smoothing).toBeGreaterThan(0);
    manifest.config.smoothing *= 2;
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 2));
    await expect(loadModel(dir)).rejects.toThrow(/do not match their checksum/);
    await expect(loadModel(dir)).rejects.toBeInstanceOf(InvalidModelFileError);
    // Reformatting alone (same keys, same values) still loads.
    manifest.config.smoothing /= 2;
    await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest));
    const back = await loadModel(dir);
    expect(await back.score(['t1'], ['t2'])).toEqual(await model.score(['t1'], ['t2']));
  });

  it('refuses to save over a model folder that also holds files of the user, and keeps them', async () => {
    const dir = under('with-notes');
    const model = await Popularity.fit(train);
    await model.save(dir);
    await fs.writeFile(path.join(dir, 'NOTES.md'), 'mine');
    await expect(model.save(dir)).rejects.toThrow(/`dir`.*NOTES\.md/s);
    expect(await fs.readFile(path.join(dir, 'NOTES.md'), 'utf8')).toBe('mine');
    await fs.rm(path.join(dir, 'NOTES.md'));
    await model.save(dir); // a plain earlier save is replaced as before
  });

  it('names `dir` when loadModel is given something that is not a path', async () => {
    for (const dir of [undefined, null, 42, {}, ''])
      await expect(loadModel(dir as never)).rejects.toThrow(/`dir`/);
  });

  it('refuses a vocab.json whose checksum matches but whose contents are not track ids', async () => {
    for (const [name, vocab, problem] of [
      ['vocab-json', '[""', /not valid JSON/],
      ['vocab-object', '{}', /not an array of track ids/],
      ['vocab-number', '["", 7]', /vocab\.json\[1\] is 7/],
      ['vocab-twice', '["", "t1", "t1"]', /lists "t1" twice/],
    ] as const) {
      const dir = under(name);
      await (await Popularity.fit(train)).save(dir);
      await fs.writeFile(path.join(dir, 'vocab.json'), vocab);
      const manifest = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
      manifest.sha256['vocab.json'] = await sha(path.join(dir, 'vocab.json'));
      await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest));
      const e = await loadModel(dir).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InvalidModelFileError);
      expect((e as Error).message).toMatch(problem);
    }
  });
});
