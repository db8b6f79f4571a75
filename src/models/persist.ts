// Versioned, atomic, checksummed model directories and the loader registry behind loadModel.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Vocabulary } from '../data/dataset.js';
import { EncoreError, InvalidModelFileError, InvalidOptionError } from '../errors.js';
import { checkNotInterrupted, trackTemp } from '../util/fs.js';
import type { Recommender } from './recommender.js';

/**
 * Format version written to `model.json`; bump when the layout changes. Version 2 (2026-11-28) added the
 * checksum of model.json's own contents; a version 1 directory is refused with a message saying so (re-save
 * it from the code that trained it).
 *
 * @example
 * ```ts
 * console.log(`this encore reads model format ${MODEL_FORMAT_VERSION}`);
 * ```
 */
export const MODEL_FORMAT_VERSION = 2;
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
  /** `model` covers model.json's own `type`, `config`, `arrays` and `weightsBytes` (see {@link manifestBody}). */
  sha256: { 'weights.bin': string; 'vocab.json': string; model: string };
  savedAt: string;
}

const sha = (buf: Uint8Array) => createHash('sha256').update(buf).digest('hex');

/**
 * What model.json's own checksum covers: everything that decides the scores (the type, the options and
 * fitted post-hoc parameters in `config`, where each array sits in weights.bin), serialised as saved.
 * JSON keeps key order and round-trips numbers exactly, so a re-read manifest gives the same text.
 */
const manifestBody = (m: Pick<Manifest, 'type' | 'config' | 'arrays' | 'weightsBytes'>): Uint8Array =>
  new TextEncoder().encode(
    JSON.stringify({ type: m.type, config: m.config, arrays: m.arrays, weightsBytes: m.weightsBytes }),
  );

/** The three files a model directory holds; saving over a folder with anything else is refused. */
const MODEL_FILES: readonly string[] = ['model.json', 'vocab.json', 'weights.bin'];

/** Suffix of the temporary folder a save writes, beside the model folder. */
const TMP_MARK = '.encore-tmp-';
/** Suffix of the folder a save moves the previous model to while it renames the new one into place. */
const OLD_MARK = '.encore-old-';
/** `<pid>-<ms>-<random>`, unique per call: two saves in one process and millisecond must not share a folder. */
const unique = () => `${process.pid}-${Date.now()}-${randomBytes(6).toString('hex')}`;

/**
 * Checks what a save would write before anything is written, so that a save never succeeds with a
 * directory that loads differently (or not at all): JSON cannot hold NaN or Infinity (they become null),
 * two arrays of one name would leave the second unreachable, and only Float32Array data is stored.
 */
function checkContents(contents: unknown): asserts contents is ModelContents {
  if (contents === null || typeof contents !== 'object')
    throw new InvalidOptionError('contents', '{ type, config, vocabulary, arrays }', contents);
  const { type, config, vocabulary, arrays } = contents as Partial<ModelContents>;
  if (typeof type !== 'string' || type === '')
    throw new InvalidOptionError('contents.type', 'a non-empty model type name', type);
  if (!(vocabulary instanceof Vocabulary))
    throw new InvalidOptionError(
      'contents.vocabulary',
      "a Vocabulary (the Dataset's `vocabulary`)",
      vocabulary,
    );
  if (!isPlainObject(config))
    throw new InvalidOptionError('contents.config', 'a plain object of JSON values', config);
  checkJson(config, 'contents.config');
  if (!Array.isArray(arrays))
    throw new InvalidOptionError('contents.arrays', 'an array of { name, shape, data }', arrays);
  const names = new Set<string>();
  arrays.forEach((a: Partial<StoredArray> | null, i) => {
    const at = `contents.arrays[${i}]`;
    if (a === null || typeof a !== 'object') throw new InvalidOptionError(at, '{ name, shape, data }', a);
    if (typeof a.name !== 'string' || a.name === '' || names.has(a.name))
      throw new InvalidOptionError(`${at}.name`, 'a non-empty name not used by another array', a.name);
    names.add(a.name);
    if (!Array.isArray(a.shape) || !a.shape.every((n) => Number.isInteger(n) && n >= 0))
      throw new InvalidOptionError(`${at}.shape`, 'an array of non-negative integers', a.shape);
    if (!(a.data instanceof Float32Array))
      throw new InvalidOptionError(`${at}.data`, 'a Float32Array', a.data);
  });
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Throws unless `value` survives JSON unchanged: finite numbers, strings, booleans, null, arrays, plain objects. */
function checkJson(value: unknown, at: string): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkJson(v, `${at}[${i}]`);
    return;
  }
  if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) if (v !== undefined) checkJson(v, `${at}.${k}`);
    return;
  }
  throw new InvalidOptionError(
    at,
    'a JSON value (a finite number, string, boolean, null, array or plain object)',
    value,
  );
}

/**
 * Writes a model directory atomically: everything goes to a temporary sibling folder, which is then
 * renamed onto `dir`. A folder cannot be renamed over a non-empty one, so a previous model at `dir` is
 * first moved aside to a sibling `<dir>.encore-old-*` and deleted only once the new one is in place;
 * while it is aside, {@link readModelDir} and {@link loadModel} read it there, so a reader never finds `dir`
 * missing or half-replaced. If the new folder cannot be renamed into place, the previous one is moved back
 * before the error is thrown: a failed save leaves the earlier save loadable. Of concurrent saves to one
 * path, the last to swap in stands; one that finds another's model already in place is not applied.
 * Layout: `model.json` (format version, type, config, array index, checksums), `vocab.json`, `weights.bin`.
 * `dir` must be a new path, an empty directory or an earlier save: anything else there would be replaced
 * with it, so it is refused.
 *
 * @throws {InvalidOptionError} naming `dir` when it is a file or a directory that holds anything but an
 *   encore model.
 * @throws {EncoreError} when another save to `dir` put its model in place first (this save is not
 *   applied), or when the earlier model could not be moved back after a failed swap (the message says
 *   where it is kept; `loadModel(dir)` still finds it there).
 * @example
 * ```ts
 * await writeModelDir('models/pop', { type: 'popularity', config: {}, vocabulary, arrays: [{ name: 'counts', shape: [n], data }] });
 * ```
 */
export async function writeModelDir(dir: string, contents: ModelContents): Promise<void> {
  if (typeof dir !== 'string' || dir === '') throw new InvalidOptionError('dir', 'a directory path', dir);
  checkContents(contents);
  const target = path.resolve(dir);
  await checkReplaceable(dir, target);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}${TMP_MARK}${unique()}`;
  const untrack = trackTemp(tmp); // removed by the CLI if the process is interrupted before the swap
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
    const body = {
      type: contents.type,
      config: contents.config,
      arrays: index,
      weightsBytes: weights.byteLength,
    };
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: MODEL_FORMAT_VERSION,
      ...body,
      sha256: { 'weights.bin': sha(weights), 'vocab.json': sha(vocabBytes), model: sha(manifestBody(body)) },
      savedAt: new Date().toISOString(),
    };
    await fs.writeFile(path.join(tmp, 'weights.bin'), weights);
    await fs.writeFile(path.join(tmp, 'vocab.json'), vocabBytes);
    await fs.writeFile(path.join(tmp, 'model.json'), JSON.stringify(manifest, null, 2));
    // Swap in: move any old dir aside, rename the new one into place, then remove the old one. Renames go
    // through `fs.rename` looked up at call time: test/persist.test.ts injects failures by spying on it.
    checkNotInterrupted();
    const old = `${target}${OLD_MARK}${unique()}`;
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
      const code = (e as NodeJS.ErrnoException).code;
      // Another save to the same path put its complete model there in between: that one stands.
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        if (hadOld) await fs.rm(old, { recursive: true, force: true });
        throw anotherSaveFirst(dir, e);
      }
      // Any other failure (EIO, EACCES, ...): put the earlier model back, then report the failure.
      if (hadOld) await moveBack(dir, old, target, e);
      throw e;
    }
    // The new model is in place: only now is the earlier one deleted.
    if (hadOld) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    untrack();
  }
}

const anotherSaveFirst = (dir: string, cause: unknown) =>
  new EncoreError(`Another save to ${dir} finished first and its model is there; this save was not applied`, {
    cause,
  });

/**
 * Moves the earlier model (moved aside to `old`) back to `target` after the new one failed to go there.
 * If another save's model took the place meanwhile, that one stands and the earlier one goes; if the
 * earlier one cannot be moved back, it is left at `old` (where readModelDir finds it) and the error says so.
 */
async function moveBack(dir: string, old: string, target: string, failure: unknown): Promise<void> {
  try {
    await fs.rename(old, target);
  } catch (e) {
    if (
      await fs.stat(target).then(
        () => true,
        () => false,
      )
    ) {
      await fs.rm(old, { recursive: true, force: true });
      throw anotherSaveFirst(dir, failure);
    }
    const code = (x: unknown) => (x as NodeJS.ErrnoException).code ?? String(x);
    throw new EncoreError(
      `Saving to ${dir} failed (${code(failure)}) and the earlier model could not be moved back (${code(e)}); ` +
        `it is kept at ${old}, where loadModel(${JSON.stringify(dir)}) still finds it while ${dir} is missing`,
      { cause: failure },
    );
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
  // A concurrent save may move the folder aside or swap it between these reads: a folder that vanishes
  // is a new path, and a model.json that vanishes is looked for again before the folder is refused.
  for (let round = 0; ; round++) {
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
    let entries: string[];
    try {
      entries = await fs.readdir(target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return; // moved aside by a concurrent save
      throw e;
    }
    if (entries.length === 0) return;
    let format: unknown;
    try {
      format = (
        JSON.parse(await fs.readFile(path.join(target, 'model.json'), 'utf8')) as { format?: unknown }
      )?.format;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && round < 2) continue;
      format = undefined;
    }
    const others = entries.filter((e) => !MODEL_FILES.includes(e));
    if (format === FORMAT && others.length === 0) return;
    if (format === FORMAT)
      throw new InvalidOptionError(
        'dir',
        expected,
        dir,
        `${dir} holds an encore model and also ${others.length} entr${others.length === 1 ? 'y' : 'ies'} of your own (${others
          .slice(0, 3)
          .map((e) => JSON.stringify(e))
          .join(', ')}${others.length > 3 ? ', ...' : ''}), which saving would delete. ${hint}`,
      );
    throw new InvalidOptionError(
      'dir',
      expected,
      dir,
      `${dir} holds ${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} and no encore model.json. ${hint}`,
    );
  }
}

/**
 * Reads and verifies a model directory written by {@link writeModelDir}. Throws
 * {@link InvalidModelFileError} naming the problem for a missing, corrupted, truncated or
 * incompatible directory.
 *
 * Reading while a save replaces `dir` gives one complete model, the earlier or the new one: a read that
 * finds a file missing or not matching `model.json` (the folder was swapped between its reads) is retried,
 * and while `dir` itself is missing, the earlier model that a save moved aside (`<dir>.encore-old-*`, the
 * newest first) is read instead. Only a missing `dir` (or `model.json`) falls back to such a folder; a
 * damaged one is reported.
 *
 * @example
 * ```ts
 * const { type, config, vocabulary, arrays } = await readModelDir('models/pop');
 * ```
 */
export async function readModelDir(dir: string): Promise<ModelContents> {
  if (typeof dir !== 'string' || dir === '')
    throw new InvalidOptionError('dir', 'the path of a model directory (a non-empty string)', dir);
  // Each round reads `dir`; a save's two renames take microseconds, so a few rounds outlast any one save.
  for (let round = 0; ; round++) {
    try {
      return await readModelFolder(dir, dir);
    } catch (e) {
      const race = raceKind.get(e as object);
      if (race === undefined) throw e;
      if (round === READ_ROUNDS - 1) throw race === 'missing' ? await whyMissing(dir, e as Error) : e;
      // Retry `dir` once first; then, while it is still missing, a save may have its earlier model aside.
      if (race === 'missing' && round > 0) {
        const aside = await readMovedAside(dir);
        if (aside) return aside;
      }
      // Later rounds wait a little (1 ms, 2 ms) for the saves in flight to finish their renames.
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, round));
    }
  }
}

/** The error for a `dir` whose model.json stayed missing: said of the path itself when nothing is there. */
async function whyMissing(dir: string, original: Error): Promise<Error> {
  try {
    await fs.stat(dir);
    return original; // a folder (or file) without a model.json: "model.json is missing" says it
  } catch {
    return new InvalidModelFileError(dir, 'no such directory (pass a folder written by save())', {
      cause: original,
    });
  }
}

/** How many times readModelDir reads `dir` before it reports the problem. */
const READ_ROUNDS = 4;

/**
 * Read failures that a save swapping the folder can cause, tagged by readModelFolder: `missing` (no
 * `model.json`: the folder is aside) or `changed` (a later file is missing or does not match the manifest).
 */
const raceKind = new WeakMap<object, 'missing' | 'changed'>();

/** Reads the earlier model that an in-progress (or interrupted) save moved aside from `dir`, if one reads. */
async function readMovedAside(dir: string): Promise<ModelContents | undefined> {
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  const prefix = `${path.basename(target)}${OLD_MARK}`;
  let names: string[];
  try {
    names = (await fs.readdir(parent)).filter((n) => n.startsWith(prefix));
  } catch {
    return undefined;
  }
  // Names end in `<pid>-<ms>-<random>` (see unique): the most recently moved aside is the latest model.
  const movedAt = (n: string) => Number(/^\d+-(\d+)-[0-9a-f]+$/.exec(n.slice(prefix.length))?.[1] ?? 0);
  names.sort((a, b) => movedAt(b) - movedAt(a));
  for (const name of names) {
    try {
      return await readModelFolder(path.join(parent, name), dir);
    } catch {
      // Deleted or moved back as we read it (its save finished or failed), or not a whole model: next.
    }
  }
  return undefined;
}

/**
 * One read of the model in `folder`; errors name `dir`, the folder the caller asked for. The three files
 * are opened together before any is read: files are never rewritten in place (a save swaps whole folders),
 * so open files keep the contents of one save even if the folder is swapped or deleted while they are read.
 */
async function readModelFolder(folder: string, dir: string): Promise<ModelContents> {
  const names = ['model.json', 'weights.bin', 'vocab.json'] as const;
  const opened = await Promise.allSettled(names.map((name) => fs.open(path.join(folder, name), 'r')));
  try {
    return await readOpened(dir, (name) => opened[names.indexOf(name)]!);
  } finally {
    await Promise.all(opened.map((o) => (o.status === 'fulfilled' ? o.value.close() : undefined)));
  }
}

const raced = <E extends object>(e: E, kind: 'missing' | 'changed'): E => {
  raceKind.set(e, kind);
  return e;
};

/** Reads and verifies the three opened files of a model; `file` gives each open (or its failure). */
async function readOpened(
  dir: string,
  file: (name: 'model.json' | 'weights.bin' | 'vocab.json') => PromiseSettledResult<FileHandle>,
): Promise<ModelContents> {
  const read = async (name: 'model.json' | 'weights.bin' | 'vocab.json'): Promise<Buffer> => {
    try {
      const opened = file(name);
      if (opened.status === 'rejected') throw opened.reason;
      return await opened.value.readFile();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const error = new InvalidModelFileError(
        dir,
        code === 'ENOENT'
          ? `${name} is missing`
          : code === 'ENOTDIR'
            ? 'not a directory (a model is a folder written by save())'
            : `cannot read ${name} (${code})`,
        {
          cause: e,
        },
      );
      throw code === 'ENOENT' ? raced(error, name === 'model.json' ? 'missing' : 'changed') : error;
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
    throw raced(
      new InvalidModelFileError(
        dir,
        `weights.bin has ${weights.byteLength} bytes, expected ${manifest.weightsBytes} (truncated?)`,
      ),
      'changed',
    );
  }
  if (sha(weights) !== manifest.sha256['weights.bin']) {
    throw raced(new InvalidModelFileError(dir, 'weights.bin checksum mismatch (corrupted)'), 'changed');
  }
  const vocabBytes = await read('vocab.json');
  if (sha(vocabBytes) !== manifest.sha256['vocab.json']) {
    throw raced(new InvalidModelFileError(dir, 'vocab.json checksum mismatch (corrupted)'), 'changed');
  }
  const vocabulary = readVocabulary(dir, vocabBytes);
  const aligned = new Uint8Array(weights).buffer; // copy: Float32Array needs 4-byte alignment
  const arrays = manifest.arrays.map((a) => ({
    name: a.name,
    shape: a.shape,
    data: new Float32Array(aligned, a.offset, a.length),
  }));
  return { type: manifest.type, config: manifest.config, vocabulary, arrays };
}

/** vocab.json's track ids: `""` (padding), then distinct non-empty strings, else {@link InvalidModelFileError}. */
function readVocabulary(dir: string, bytes: Uint8Array): Vocabulary {
  let ids: unknown;
  try {
    ids = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new InvalidModelFileError(dir, 'vocab.json is not valid JSON', { cause: e });
  }
  if (!Array.isArray(ids) || ids[0] !== '')
    throw new InvalidModelFileError(
      dir,
      'vocab.json is not an array of track ids after the padding entry ""',
    );
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (i === 0) return;
    if (typeof id !== 'string' || id === '')
      throw new InvalidModelFileError(dir, `vocab.json[${i}] is ${JSON.stringify(id)}, not a track id`);
    if (seen.has(id)) throw new InvalidModelFileError(dir, `vocab.json lists ${JSON.stringify(id)} twice`);
    seen.add(id);
  });
  try {
    return Vocabulary.fromIds(ids as string[]);
  } catch (e) {
    throw new InvalidModelFileError(dir, `vocab.json: ${(e as Error).message}`, { cause: e });
  }
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
  if (
    typeof sums?.['weights.bin'] !== 'string' ||
    typeof sums['vocab.json'] !== 'string' ||
    typeof sums.model !== 'string'
  )
    bad('sha256 must give the checksums of weights.bin, vocab.json and the model (model.json itself)');
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
  // Last, so a manifest that is malformed says how; this catches the well-formed edits.
  if (sha(manifestBody(m)) !== sums?.model)
    bad('type, config, arrays or weightsBytes do not match their checksum (edited or corrupted)');
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
  if (typeof type !== 'string' || type === '')
    throw new InvalidOptionError('type', 'a non-empty model type name', type);
  if (typeof loader !== 'function')
    throw new InvalidOptionError('loader', 'a function (contents, dir) => Recommender', loader);
  const known = loaders.get(type);
  // Another loader for a registered type would restore that type's saved models as something else.
  if (known !== undefined && known !== loader)
    throw new InvalidOptionError(
      'type',
      `a model type not already registered (registered: ${[...loaders.keys()].join(', ')})`,
      type,
    );
  loaders.set(type, loader);
}

/**
 * Restores any saved model (SASRec or a baseline) with identical scores. Safe to call while another
 * process or task saves to `dir`: it loads one complete model, the earlier or the new one (see
 * {@link readModelDir}).
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
