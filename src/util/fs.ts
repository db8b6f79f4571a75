// Atomic file writes: every file encore writes goes to a temporary sibling first and is renamed into place.
import { randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';
import { EncoreError, InvalidOptionError } from '../errors.js';

/**
 * Writes text or bytes atomically: to a temporary file in the same directory, then renamed over `file`, so a
 * reader never sees a half-written file and a failed write leaves the old one intact. Creates the parent
 * directory.
 *
 * @example
 * ```ts
 * await writeFileAtomic('report/chart.svg', svg);
 * ```
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  await writeFilesAtomic([[file, data]]);
}

/**
 * Temporary files and folders being written now, so that an interrupted process can remove them
 * ({@link removePendingTemps}) instead of leaving hidden `.tmp` files beside the user's data.
 */
const pending = new Set<string>();
/** Set by {@link stopWrites}: the process is exiting, so no temporary file may be renamed into place. */
let interrupted = false;

/**
 * Throws once {@link stopWrites} has run: a write still in flight must not rename its temporary
 * file into place (half of a pair of files, or over a model) while the process exits.
 *
 * @example
 * ```ts
 * checkNotInterrupted();
 * await fs.rename(tmp, target);
 * ```
 */
export function checkNotInterrupted(): void {
  if (interrupted) throw new EncoreError('Interrupted: the process is exiting, so nothing more is written');
}

/**
 * Registers a temporary path for {@link removePendingTemps} until `done` is called.
 *
 * @example
 * ```ts
 * const done = trackTemp(tmpDir);
 * try { await writeThere(tmpDir); } finally { done(); }
 * ```
 */
export function trackTemp(tmp: string): () => void {
  pending.add(tmp);
  return () => pending.delete(tmp);
}

/**
 * Removes every temporary file or folder a write in progress has made (synchronously: it runs in a
 * signal handler, just before the process exits). The CLI calls it on Ctrl-C.
 *
 * @example
 * ```ts
 * process.once('SIGINT', () => { removePendingTemps(); process.exit(130); });
 * ```
 */
export function removePendingTemps(): void {
  // Kept in the set: an open still in flight may create its file after this pass, and a second pass
  // (the CLI runs one just before exiting) removes it then.
  for (const tmp of pending) rmSync(tmp, { recursive: true, force: true });
}

/**
 * For an exiting process (the CLI's Ctrl-C): from now on no write renames its temporary file into place,
 * and the temporary files made so far are removed ({@link removePendingTemps}).
 *
 * @example
 * ```ts
 * process.once('SIGINT', () => { stopWrites(); process.exit(130); });
 * ```
 */
export function stopWrites(): void {
  interrupted = true;
  removePendingTemps();
}

/**
 * Writes several files as one: each to a temporary sibling first, and only once all are written are they
 * renamed into place, one right after another. A failure or an interruption while writing leaves every
 * earlier file as it was, so files that belong together (a catalogue and its listens) never mix old and new.
 *
 * @example
 * ```ts
 * await writeFilesAtomic([['data/tracks.csv', tracksCsv], ['data/listens.csv', listensCsv]]);
 * ```
 */
export async function writeFilesAtomic(
  files: readonly (readonly [string, string | Uint8Array])[],
): Promise<void> {
  const targets = files.map(([file]) => {
    if (typeof file !== 'string' || file === '') throw new InvalidOptionError('file', 'a file path', file);
    return path.resolve(file);
  });
  for (const [i, target] of targets.entries())
    if ((await fs.stat(target).catch(() => undefined))?.isDirectory())
      throw new InvalidOptionError('file', 'a file path, not a directory', files[i]![0]);
  const temps = targets.map((target) =>
    path.join(
      path.dirname(target),
      `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    ),
  );
  const done = temps.map(trackTemp);
  try {
    for (const [i, target] of targets.entries()) {
      await fs.mkdir(path.dirname(target), { recursive: true });
      await fs.writeFile(temps[i]!, files[i]![1]);
    }
    checkNotInterrupted();
    for (const [i, target] of targets.entries()) await fs.rename(temps[i]!, target);
  } catch (e) {
    await Promise.all(temps.map((tmp) => fs.rm(tmp, { force: true })));
    throw e;
  } finally {
    for (const d of done) d();
  }
}
