// Versioned, atomic, checksummed model directories and the loader registry behind loadModel.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { Vocabulary } from '../data/dataset.js';
import { EncoreError, InvalidModelFileError, InvalidOptionError } from '../errors.js';
import type { Recommender } from './recommender.js';

/**
 * Format version written to `model.json`; bump when the layout changes.
 *
 * @example
 * ```ts
 * console.log(`this encore reads model format ${MODEL_FORMAT_VERSION}`);
 * ```
 */
export const MODEL_FORMAT_VERSION = 1;
const FORMAT = 'encore-model';

/** A named float32 array with its shape, as stored in `weights.bin`. */
export interface StoredArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Everything a model directory holds. */
export interface ModelContents {
  type: string;
  /** Model options / hyper-parameters (JSON). */
  config: Record<string, unknown>;
  vocabulary: Vocabulary;
  arrays: StoredArray[];
}

interface Manifest {
  format: string;
  formatVersion: number;
  type: string;
  config: Record<string, unknown>;
  arrays: { name: string; shape: number[]; offset: number; length: number }[];
  weightsBytes: number;
  sha256: { 'weights.bin': string; 'vocab.json': string };
  savedAt: string;
}

const sha = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');

/**
 * Writes a model directory atomically: everything goes to a temporary sibling folder, which is then
 * renamed over `dir` (a previous model at `dir` is replaced only once the new one is complete).
 * Layout: `model.json` (format version, type, config, array index, checksums), `vocab.json`, `weights.bin`.
 * `dir` must be a new path, an empty directory or an earlier save: anything else there would be replaced
 * with it, so it is refused.
 *
 * @throws {InvalidOptionError} naming `dir` when it is a file or a directory that holds anything but an
 *   encore model.
 * @example
 * ```ts
 * await writeModelDir('models/pop', { type: 'popularity', config: {}, vocabulary, arrays: [{ name: 'counts', shape: [n], data }] });
 * ```
 */
export async function writeModelDir(dir: string, contents: ModelContents): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new InvalidOptionError('dir', 'a directory path', dir);
  const target = path.resolve(dir);
  await checkReplaceable(dir, target);
  await fs.mkdir(path.dirname(target), { recursive: true });
  // Unique per call: two saves in one process and millisecond must not share a temporary folder.
  const unique = () => `${process.pid}-${Date.now()}-${randomBytes(6).toString('hex')}`;
  const tmp = `${target}.encore-tmp-${unique()}`;
  await fs.mkdir(tmp, { recursive: true });
  try {
    let offset = 0;
    const index = contents.arrays.map((a) => {
      const expected = a.shape.reduce((x, y) => x * y, 1);
      if (expected !== a.data.length) {
        throw new InvalidModelFileError(
          dir,
          `array ${a.name} has ${a.data.length} values but shape [${a.shape}]`,
        );
      }
      const entry = { name: a.name, shape: a.shape, offset, length: a.data.length };
      offset += a.data.length * 4;
      return entry;
    });
    const weights = new Uint8Array(offset);
    for (const [i, a] of contents.arrays.entries()) {
      weights.set(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength), index[i]!.offset);
    }
    const vocabBytes = new TextEncoder().encode(JSON.stringify(contents.vocabulary.ids));
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      type: contents.type,
      config: contents.config,
      arrays: index,
      weightsBytes: weights.byteLength,
      sha256: { 'weights.bin': sha(weights), 'vocab.json': sha(vocabBytes) },
      savedAt: new Date().toISOString(),
    };
    await fs.writeFile(path.join(tmp, 'weights.bin'), weights);
    await fs.writeFile(path.join(tmp, 'vocab.json'), vocabBytes);
    await fs.writeFile(path.join(tmp, 'model.json'), JSON.stringify(manifest, null, 2));
    // Swap in: move any old dir aside, rename the new one into place, then remove the old one.
    const old = `${target}.encore-old-${unique()}`;
    let hadOld = false;
    try {
      await fs.rename(target, old);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      await fs.rename(tmp, target);
    } catch (e) {
      // Another save to the same path put its complete model there in between: that one stands.
      if (hadOld) await fs.rm(old, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTEMPTY' || code === 'EEXIST')
        throw new EncoreError(
          `Another save to ${dir} finished first and its model is there; this save was not applied`,
          { cause: e },
        );
      throw e;
    }
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Checks, before any work, that a model can be saved to `dir`: a new path, an empty directory or an earlier
 * save (which a save replaces). The same check `save` makes, for callers that want to fail before training
 * (the CLI's `train --out`).
 *
 * @throws {InvalidOptionError} (`dir`) for a file, a path through a file, or a folder of other files.
 * @example
 * ```ts
 * await checkSaveTarget('models/sasrec'); // throws before a long fit would be wasted
 * ```
 */
export async function checkSaveTarget(dir: string): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new InvalidOptionError('dir', 'a directory path', dir);
  await checkReplaceable(dir, path.resolve(dir));
}

/**
 * Refuses a save target that holds anything but an encore model: saving replaces the whole directory, so
 * a folder of the user's own files (or a file) at that path would be lost.
 */
async function checkReplaceable(dir: string, target: string): Promise<void> {
  let stat: Stats;
  try {
    stat = await fs.stat(target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return; // a new path
    if (code === 'ENOTDIR')
      throw new InvalidOptionError(
        'dir',
        'a path whose parent folders are folders',
        dir,
        `A part of ${dir} above the model folder is a file, not a folder`,
      );
    throw e;
  }
  const expected = 'a new path, an empty directory or a directory saved by encore';
  const hint =
    'Saving replaces the whole directory, so it only overwrites an earlier save; choose another path';
  if (!stat.isDirectory()) throw new InvalidOptionError('dir', expected, dir, `${dir} is a file. ${hint}`);
  const entries = await fs.readdir(target);
  if (entries.length === 0) return;
  let format: unknown;
  try {
    format = (JSON.parse(await fs.readFile(path.join(target, 'model.json'), 'utf8')) as { format?: unknown })
      ?.format;
  } catch {
    format = undefined;
  }
  if (format !== FORMAT)
    throw new InvalidOptionError(
      'dir',
      expected,
      dir,
      `${dir} holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} and no encore model.json. ${hint}`,
    );
}

/**
 * Reads and verifies a model directory written by {@link writeModelDir}. Throws
 * {@link InvalidModelFileError} naming the problem for a missing, corrupted, truncated or
 * incompatible directory.
 *
 * @example
 * ```ts
 * const { type, config, vocabulary, arrays } = await readModelDir('models/pop');
 * ```
 */
export async function readModelDir(dir: string): Promise<ModelContents> {
  const read = async (name: string): Promise<Buffer> => {
    try {
      return await fs.readFile(path.join(dir, name));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InvalidModelFileError(
        dir,
        code === 'ENOENT' ? `${name} is missing` : `cannot read ${name} (${code})`,
        {
          cause: e,
        },
      );
    }
  };
  let manifest: Manifest;
  try {
    manifest = JSON.parse((await read('model.json')).toString('utf8')) as Manifest;
  } catch (e) {
    if (e instanceof InvalidModelFileError) throw e;
    throw new InvalidModelFileError(dir, 'model.json is not valid JSON (truncated or corrupted)', {
      cause: e,
    });
  }
  if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest))
    throw new InvalidModelFileError(
      dir,
      `model.json holds ${JSON.stringify(manifest)}, not a manifest object`,
    );
  if (manifest.format !== FORMAT) {
    throw new InvalidModelFileError(
      dir,
      `model.json has format ${JSON.stringify(manifest.format)}, expected "${FORMAT}"`,
    );
  }
  if (manifest.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new InvalidModelFileError(
      dir,
      `format version ${manifest.formatVersion} is not supported (this encore reads version ${MODEL_FORMAT_VERSION})`,
    );
  }
  checkManifest(dir, manifest);
  const weights = await read('weights.bin');
  if (weights.byteLength !== manifest.weightsBytes) {
    throw new InvalidModelFileError(
      dir,
      `weights.bin has ${weights.byteLength} bytes, expected ${manifest.weightsBytes} (truncated?)`,
    );
  }
  if (sha(weights) !== manifest.sha256['weights.bin']) {
    throw new InvalidModelFileError(dir, 'weights.bin checksum mismatch (corrupted)');
  }
  const vocabBytes = await read('vocab.json');
  if (sha(vocabBytes) !== manifest.sha256['vocab.json']) {
    throw new InvalidModelFileError(dir, 'vocab.json checksum mismatch (corrupted)');
  }
  const vocabulary = Vocabulary.fromIds(JSON.parse(vocabBytes.toString('utf8')) as string[]);
  const aligned = new Uint8Array(weights).buffer; // copy: Float32Array needs 4-byte alignment
  const arrays = manifest.arrays.map((a) => ({
    name: a.name,
    shape: a.shape,
    data: new Float32Array(aligned, a.offset, a.length),
  }));
  return { type: manifest.type, config: manifest.config, vocabulary, arrays };
}

/**
 * Checks the parts of a manifest that reading relies on (model.json carries the checksums of the other
 * files, not its own, so a hand-edited or damaged one must fail here with a named problem).
 */
function checkManifest(dir: string, m: Manifest): void {
  const bad = (problem: string) => {
    throw new InvalidModelFileError(dir, `model.json: ${problem}`);
  };
  if (typeof m.type !== 'string' || m.type === '') bad(`type is ${JSON.stringify(m.type)}, not a model type`);
  if (m.config === null || typeof m.config !== 'object' || Array.isArray(m.config))
    bad(`config is ${JSON.stringify(m.config)}, not an object`);
  if (!Number.isSafeInteger(m.weightsBytes) || m.weightsBytes < 0)
    bad(`weightsBytes is ${JSON.stringify(m.weightsBytes)}, not a byte count`);
  const sums = m.sha256 as Partial<Manifest['sha256']> | undefined;
  if (typeof sums?.['weights.bin'] !== 'string' || typeof sums['vocab.json'] !== 'string')
    bad('sha256 must give the checksums of weights.bin and vocab.json');
  if (!Array.isArray(m.arrays)) bad('arrays is missing');
  m.arrays.forEach((a, i) => {
    const ok =
      a !== null &&
      typeof a === 'object' &&
      typeof a.name === 'string' &&
      Array.isArray(a.shape) &&
      a.shape.every((d) => Number.isSafeInteger(d) && d >= 0) &&
      Number.isSafeInteger(a.offset) &&
      Number.isSafeInteger(a.length) &&
      a.offset >= 0 &&
      a.offset % 4 === 0 &&
      a.length === a.shape.reduce((x, y) => x * y, 1) &&
      a.offset + 4 * a.length <= m.weightsBytes;
    if (!ok)
      bad(
        `arrays[${i}] (${JSON.stringify(a)}) is not { name, shape, offset, length } inside the ${m.weightsBytes} bytes of weights.bin`,
      );
  });
}

/**
 * Finds a stored array by name or throws {@link InvalidModelFileError}.
 *
 * @example
 * ```ts
 * const contents = await readModelDir('models/pop');
 * const counts = getArray(contents, 'counts').data; // Float32Array
 * ```
 */
export function getArray(contents: ModelContents, name: string, dir = '(model)'): StoredArray {
  const a = contents.arrays.find((x) => x.name === name);
  if (!a)
    throw new InvalidModelFileError(
      dir,
      `weights.bin has no array named ${name} for model type ${contents.type}`,
    );
  return a;
}

type Loader = (contents: ModelContents, dir: string) => Promise<Recommender> | Recommender;
const loaders = new Map<string, Loader>();

/**
 * Registers how to restore a model type from its directory. Built-in models register themselves;
 * call it for your own Recommender so {@link loadModel} can restore it.
 *
 * @example
 * ```ts
 * registerModelType('my-model', (contents) => MyModel.fromContents(contents));
 * ```
 */
export function registerModelType(type: string, loader: Loader): void {
  loaders.set(type, loader);
}

/**
 * Restores any saved model (SASRec or a baseline) with identical scores.
 *
 * @example
 * ```ts
 * const model = await loadModel('models/sasrec');
 * console.log(await model.recommend(['t1', 't2'], { k: 5 }));
 * ```
 */
export async function loadModel(dir: string): Promise<Recommender> {
  const contents = await readModelDir(dir);
  const loader = loaders.get(contents.type);
  if (!loader) {
    throw new InvalidModelFileError(
      dir,
      `unknown model type ${JSON.stringify(contents.type)} (known: ${[...loaders.keys()].join(', ') || 'none registered'})`,
    );
  }
  return loader(contents, dir);
}
