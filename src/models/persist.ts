// Versioned, atomic, checksummed model directories and the loader registry behind loadModel.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Vocabulary } from '../data/dataset.js';
import { InvalidModelFileError } from '../errors.js';
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
 *
 * @example
 * ```ts
 * await writeModelDir('models/pop', { type: 'popularity', config: {}, vocabulary, arrays: [{ name: 'counts', shape: [n], data }] });
 * ```
 */
export async function writeModelDir(dir: string, contents: ModelContents): Promise<void> {
  const target = path.resolve(dir);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.encore-tmp-${process.pid}-${Date.now()}`;
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
    const old = `${target}.encore-old-${process.pid}-${Date.now()}`;
    let hadOld = false;
    try {
      await fs.rename(target, old);
      hadOld = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await fs.rename(tmp, target);
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
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
