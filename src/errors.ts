// Typed errors: every failure a user can cause names the option, file, line or value involved.

/**
 * Base class of every error thrown by encore.
 *
 * @example
 * ```ts
 * try { await loadListens('missing.csv'); } catch (e) { if (e instanceof EncoreError) console.error(e.message); }
 * ```
 */
export class EncoreError extends Error {
  override name = 'EncoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One problem found in an input file or record. */
export interface DataIssue {
  /** File the problem is in, when it came from a file. */
  file?: string;
  /** 1-based line number in the file (header is line 1). */
  line?: number;
  /** Column (header name) or field the problem is in. */
  column?: string;
  /** The value received, as text. */
  value?: string;
  /** What was expected instead. */
  expected: string;
}

/**
 * Formats one {@link DataIssue} as `file:line column "value": expected ...`.
 *
 * @example
 * ```ts
 * formatIssue({ file: 'a.csv', line: 3, column: 'timestamp', value: 'x', expected: 'an ISO 8601 date' });
 * // 'a.csv:line 3 column `timestamp`: got "x" expected an ISO 8601 date'
 * ```
 */
export function formatIssue(issue: DataIssue): string {
  const where = [issue.file, issue.line !== undefined ? `line ${issue.line}` : undefined]
    .filter(Boolean)
    .join(':');
  const col = issue.column !== undefined ? ` column \`${issue.column}\`` : '';
  const val = issue.value !== undefined ? ` got ${JSON.stringify(truncate(issue.value, 60))}` : '';
  return `${where}${col}:${val} expected ${issue.expected}`.trim();
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/**
 * Input data is invalid. Carries every issue found (the message lists the first few).
 *
 * @example
 * ```ts
 * try { await loadListens('bad.csv'); }
 * catch (e) { if (e instanceof InvalidDataError) for (const i of e.issues) console.log(i.line, i.column, i.expected); }
 * ```
 */
export class InvalidDataError extends EncoreError {
  override name = 'InvalidDataError';
  readonly issues: DataIssue[];
  constructor(message: string, issues: DataIssue[] = [], options?: { cause?: unknown }) {
    const shown = issues.slice(0, 5).map((i) => `  - ${formatIssue(i)}`);
    const more = issues.length > 5 ? [`  … and ${issues.length - 5} more`] : [];
    super([message, ...shown, ...more].join('\n'), options);
    this.issues = issues;
  }
}

/**
 * An option or argument is out of range. Names the option, what is allowed and what was received.
 *
 * @example
 * ```ts
 * throw new InvalidOptionError('k', 'an integer >= 1', 0);
 * // InvalidOptionError: The `k` option must be an integer >= 1, got 0
 * ```
 */
export class InvalidOptionError extends EncoreError {
  override name = 'InvalidOptionError';
  readonly option: string;
  readonly expected: string;
  readonly received: unknown;
  constructor(option: string, expected: string, received: unknown, hint?: string) {
    super(
      `The \`${option}\` option must be ${expected}, got ${describe(received)}${hint ? `. ${hint}` : ''}`,
    );
    this.option = option;
    this.expected = expected;
    this.received = received;
  }
}

/**
 * A saved model directory is missing, corrupted, truncated or from an incompatible version.
 *
 * @example
 * ```ts
 * try { await loadModel('models/broken'); } catch (e) { if (e instanceof InvalidModelFileError) console.error(e.message); }
 * ```
 */
export class InvalidModelFileError extends EncoreError {
  override name = 'InvalidModelFileError';
  readonly path: string;
  constructor(path: string, problem: string, options?: { cause?: unknown }) {
    super(`Invalid model directory ${path}: ${problem}`, options);
    this.path = path;
  }
}

/**
 * Checks an options argument: `undefined`, or an object whose every key is one of `known`. A misspelt
 * option would otherwise be ignored and its default used without notice.
 *
 * @param path prefix of the option names in errors, for nested options (`'policy.'` names `policy.rerankk`).
 * @throws {InvalidOptionError} naming `options` when it is not an object, or the first unknown key.
 * @example
 * ```ts
 * checkKnownOptions({ neighbors: 5 }, ['window', 'neighbours'], 'ItemKNN');
 * // throws: The `neighbors` option must be a known ItemKNN option (window, neighbours), got "neighbors"
 * ```
 */
export function checkKnownOptions(options: unknown, known: readonly string[], what: string, path = ''): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new InvalidOptionError(
      path ? path.replace(/\.$/, '') : 'options',
      `an object of ${what} options`,
      options,
    );
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw new InvalidOptionError(`${path}${key}`, `a known ${what} option (${known.join(', ')})`, key);
  }
}

/**
 * The option names of an options type for {@link checkKnownOptions}, from a table that must name every key of
 * `T` (the type checker refuses a table that leaves one out or adds one), so a new option cannot be
 * forgotten in its check.
 *
 * @example
 * ```ts
 * checkKnownOptions(options, optionKeys<{ k?: number }>({ k: true }), 'formatComparison');
 * ```
 */
export function optionKeys<T>(keys: Record<keyof T, true>): string[] {
  return Object.keys(keys);
}

/** Renders a received value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
  if (Array.isArray(value)) {
    // Short arrays in full (the bad entry shows), long ones by length.
    const s = value.length <= 10 ? `[${value.map(describe).join(', ')}]` : '';
    return s && s.length <= 80 ? s : `an array of length ${value.length}`;
  }
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 80)}…` : s;
  } catch {
    return typeof value;
  }
}
