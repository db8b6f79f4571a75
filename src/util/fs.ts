// Atomic file writes: every file encore writes goes to a temporary sibling first and is renamed into place.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidOptionError } from '../errors.js';

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
  if (typeof file !== 'string' || file === '') throw new InvalidOptionError('file', 'a file path', file);
  const target = path.resolve(file);
  const dir = path.dirname(target);
  if ((await fs.stat(target).catch(() => undefined))?.isDirectory())
    throw new InvalidOptionError('file', 'a file path, not a directory', file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(
    dir,
    `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}
