// Option parsers and checks for the CLI: every bad value becomes one line naming the option plus a fix.
import { promises as fs, constants as fsConstants, statSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { EncoreError, InvalidOptionError } from '../errors.js';
import { checkSaveTarget } from '../models/persist.js';

/**
 * A user-facing CLI failure: a one-line message, a `fix` line telling what to do, and an exit code
 * (2 = bad usage, 1 = the work failed).
 *
 * @example
 * ```ts
 * throw new CliError('--data file not found: x.csv', 'pass the path of a listens CSV (see data/README.md)', 1);
 * ```
 */
export class CliError extends EncoreError {
  override name = 'CliError';
  readonly fix: string | undefined;
  readonly exitCode: number;
  constructor(message: string, fix?: string, exitCode = 1) {
    super(message);
    this.fix = fix;
    this.exitCode = exitCode;
  }
}

/**
 * Commander parser for an integer option within bounds.
 *
 * @example
 * ```ts
 * new Option('--epochs <n>').argParser(intOption(1));
 * ```
 */
export function intOption(
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  why?: string,
): (value: string) => number {
  return (value) => {
    const n = Number(value);
    // Plain decimal digits only: Number() would also read "1e1" and "0x3".
    if (!/^\s*[-+]?\d+\s*$/.test(value) || !Number.isInteger(n) || n < min || n > max) {
      const expected =
        max === Number.MAX_SAFE_INTEGER
          ? `Expected an integer >= ${min}`
          : `Expected an integer from ${min} to ${max}`;
      throw new InvalidArgumentError(`${expected}${why ? ` (${why})` : ''}.`);
    }
    return n;
  };
}

/**
 * Commander parser for a number option `> min` (or `>= min` with `inclusive`).
 *
 * @example
 * ```ts
 * new Option('--max-seconds <s>').argParser(numberOption(0));
 * ```
 */
export function numberOption(min: number, inclusive = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (inclusive ? n < min : n <= min)) {
      throw new InvalidArgumentError(`Expected a number ${inclusive ? '>=' : '>'} ${min}.`);
    }
    return n;
  };
}

/**
 * Commander parser for a comma-separated list of cut-offs such as `5,10,20`.
 *
 * @example
 * ```ts
 * kListOption('5,10,20'); // [5, 10, 20]
 * ```
 */
export function kListOption(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const ks = parts.map(Number);
  if (parts.some((p) => !/^\d+$/.test(p)) || ks.some((k) => !Number.isSafeInteger(k) || k < 1)) {
    throw new InvalidArgumentError('Expected comma-separated integers >= 1, e.g. 5,10,20.');
  }
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * Commander parser for a comma-separated list of non-empty ids. Given again, the option adds to the list
 * (`--history t1,t2 --history t3` is t1, t2, t3), rather than the last one silently replacing the others.
 *
 * @example
 * ```ts
 * idListOption('t1, t2'); // ['t1', 't2']
 * idListOption('t3', ['t1', 't2']); // ['t1', 't2', 't3']
 * ```
 */
export function idListOption(value: string, previous: readonly string[] = []): string[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((s) => s === ''))
    throw new InvalidArgumentError('Expected comma-separated track ids, e.g. t1,t2,t3.');
  return [...previous, ...ids];
}

/** A `--member` value: the member's name, their listens file and, in a shared file, their user id. */
export interface MemberSpec {
  id: string;
  file: string;
  /** `name=listens.csv#user_id`: only this listener's rows of a file that holds several. */
  user?: string;
}

function isFileSync(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * Commander parser for a repeatable `name=file.csv` (or `name=file.csv#user_id`) option; accumulates into
 * an array. A path that exists as a file is taken whole, `#` and all; otherwise the text after the last
 * `#` is the user id.
 *
 * @example
 * ```ts
 * new Option('--member <name=csv>').argParser(memberOption).default([]);
 * memberOption('ana=data/listens.csv#u001'); // [{ id: 'ana', file: 'data/listens.csv', user: 'u001' }]
 * ```
 */
export function memberOption(value: string, previous: MemberSpec[] = []): MemberSpec[] {
  const eq = value.indexOf('=');
  const id = value.slice(0, eq).trim();
  let file = value.slice(eq + 1).trim();
  if (eq <= 0 || id === '' || file === '')
    throw new InvalidArgumentError(
      'Expected name=listens.csv or name=listens.csv#user_id, e.g. ana=ana.csv.',
    );
  const hash = file.lastIndexOf('#');
  let user: string | undefined;
  // A folder name or file name may hold a `#`: a path that is a file is never split.
  if (hash >= 0 && !isFileSync(file)) {
    user = file.slice(hash + 1).trim();
    file = file.slice(0, hash).trim();
    if (user === '' || file === '')
      throw new InvalidArgumentError('Expected name=listens.csv#user_id, e.g. ana=data/listens.csv#u001.');
  }
  if (previous.some((m) => m.id === id))
    throw new InvalidArgumentError(`Member name ${JSON.stringify(id)} is used twice.`);
  return [...previous, { id, file, ...(user !== undefined ? { user } : {}) }];
}

/**
 * Commander parser for a calendar date `YYYY-MM-DD`.
 *
 * @example
 * ```ts
 * dateOption('2024-05-01');
 * ```
 */
export function dateOption(value: string): string {
  // The date must exist: Date.parse would read 2024-02-30 as 1 March.
  const t = Date.parse(`${value}T00:00:00Z`);
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(value) ||
    Number.isNaN(t) ||
    new Date(t).toISOString().slice(0, 10) !== value
  ) {
    throw new InvalidArgumentError(
      /^\d{4}-\d{2}-\d{2}$/.test(value)
        ? 'Expected a day of the calendar (YYYY-MM-DD), and there is no such day.'
        : 'Expected a date as YYYY-MM-DD.',
    );
  }
  return value;
}

/**
 * Fails with a {@link CliError} (exit 1) when `file` is not a readable file.
 *
 * @example
 * ```ts
 * await requireFile('--data', opts.data, 'pass the path of a listens CSV (see data/README.md)');
 * ```
 */
export async function requireFile(option: string, file: string, fix: string): Promise<void> {
  requireNonEmpty(option, file, 'a file path');
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(file);
  } catch {
    throw new CliError(`${option} file not found: ${file}`, fix);
  }
  if (!stat.isFile()) throw new CliError(`${option} is not a file: ${file}`, fix);
  // Unreadable is a plain error here, before any work, not an "unexpected failure" from deep inside.
  await fs.access(file, fsConstants.R_OK).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`${option} ${file} cannot be read (${e.code})`, "check the file's permissions");
  });
}

/** Fails with a {@link CliError} (exit 2) when a path option is empty (an unset `$VAR` in a script). */
function requireNonEmpty(option: string, value: string, expected: string): void {
  if (value.trim() === '')
    throw new CliError(`${option} is empty, expected ${expected}`, `pass ${expected} to ${option}`, 2);
}

/**
 * Fails with a {@link CliError} (exit 1) when `dir` is not a directory.
 *
 * @example
 * ```ts
 * await requireDir('--model', opts.model, 'pass a directory written by `encore train --out`');
 * ```
 */
export async function requireDir(option: string, dir: string, fix: string): Promise<void> {
  requireNonEmpty(option, dir, 'a directory path');
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new CliError(`${option} directory not found: ${dir}`, fix);
  }
  if (!stat.isDirectory()) throw new CliError(`${option} is not a directory: ${dir}`, fix);
}

/**
 * Fails with a {@link CliError} (exit 1) naming `option` when `out`, or the nearest folder above it that
 * exists (where `out` would be created), cannot be written: found before the work, not after a training run.
 */
async function requireWritable(option: string, out: string): Promise<void> {
  let dir = path.resolve(out);
  while (!(await fs.stat(dir).catch(() => undefined))) {
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  await fs.access(dir, fsConstants.W_OK).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(
      `${option} ${out} cannot be written: ${dir === path.resolve(out) ? 'the directory' : `its parent ${dir}`} is not writable (${e.code})`,
      `pass a ${option} path in a folder you can write to`,
    );
  });
}

/** What a command writes into its `--out` directory. */
export interface OutDirCheck {
  /** Files the command writes directly in the directory: none of them may be a directory. */
  files?: readonly string[];
  /**
   * The directory is replaced as a whole (a saved model): it must be new, empty or an earlier save, as
   * `model.save` requires.
   */
  model?: boolean;
}

/**
 * Fails with a {@link CliError} (exit 2) naming `--out` when `out` cannot take the command's output: an
 * existing file, a path through a file, a file name the command writes that is a directory, or (with
 * `model`) a directory that holds anything but an earlier model save. Run it before any work, so a bad
 * path does not cost a training run.
 *
 * @example
 * ```ts
 * await requireOutDir(opts.out, { model: true });
 * ```
 */
export async function requireOutDir(out: string, check: OutDirCheck = {}): Promise<void> {
  const option = '--out';
  // '' would be the current directory to every write below it (an unset $DIR in a script).
  requireNonEmpty(option, out, 'a directory path');
  const expected = check.model
    ? 'a new path, an empty directory or an earlier `encore train --out` directory'
    : 'a directory (new or existing)';
  let stat: Awaited<ReturnType<typeof fs.stat>>;
  try {
    stat = await fs.stat(out);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return requireWritable(option, out); // a new path: created when written
    if (code === 'ENOTDIR')
      throw new CliError(
        `${option} ${out} goes through a file: a part of the path above it is a file, expected folders`,
        `pass a ${option} path whose parent folders are folders`,
        2,
      );
    throw e;
  }
  if (!stat.isDirectory())
    throw new CliError(
      `${option} ${out} is an existing file, expected ${expected}`,
      `pass a directory path for ${option} (a new one is created); the file is left alone`,
      2,
    );
  for (const name of check.files ?? []) {
    const inside = path.join(out, name);
    if ((await fs.stat(inside).catch(() => undefined))?.isDirectory())
      throw new CliError(
        `${option} ${out} holds a directory ${name} where the file ${name} is to be written`,
        `move ${inside} away, or pass another ${option} directory`,
        2,
      );
  }
  await requireWritable(option, out);
  if (check.model) {
    // The library's own check, so the CLI refuses exactly what model.save would, but before training.
    try {
      await checkSaveTarget(out);
    } catch (e) {
      if (!(e instanceof InvalidOptionError)) throw e;
      const entries = await fs.readdir(out);
      const what = entries.includes('model.json')
        ? 'an earlier save and files of your own, which saving would delete'
        : `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'} and no saved model`;
      throw new CliError(
        `${option} ${out} holds ${what}, expected ${expected} (saving replaces the whole directory)`,
        `pass a new path for ${option}, e.g. ${option} ${path.join(out, 'model')}`,
        2,
      );
    }
  }
}
