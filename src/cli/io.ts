// Output plumbing for the CLI: injectable stdout/stderr, JSON vs human output, and a TTY-only progress bar.
import cliProgress from 'cli-progress';

/**
 * Where the CLI writes. {@link defaultIo} uses the process streams; tests pass collectors.
 *
 * @example
 * ```ts
 * const out: string[] = [];
 * const io: CliIo = { stdout: (s) => out.push(s), stderr: () => {}, stderrIsTTY: false };
 * ```
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Draw progress bars (only on an interactive terminal). */
  stderrIsTTY: boolean;
}

/**
 * The process's own streams.
 *
 * @example
 * ```ts
 * await main(process.argv.slice(2), defaultIo());
 * ```
 */
export function defaultIo(): CliIo {
  return {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    stderrIsTTY: Boolean(process.stderr.isTTY),
  };
}

/** A progress indicator; a no-op when stderr is not a terminal. */
export interface Progress {
  /** Sets the absolute position and an optional status text. */
  update(value: number, status?: string): void;
  /** Changes the total (e.g. when the real epoch count is known). */
  setTotal(total: number): void;
  stop(): void;
}

/**
 * Starts a progress bar on stderr when it is a TTY, otherwise returns a silent one, so piped output and
 * `--json` stay clean.
 *
 * @example
 * ```ts
 * const bar = startProgress(io, 'training', 20);
 * bar.update(1, 'loss 5.12'); bar.stop();
 * ```
 */
export function startProgress(io: CliIo, label: string, total: number): Progress {
  if (!io.stderrIsTTY || process.env.ENCORE_QUIET === '1') {
    return { update: () => {}, setTotal: () => {}, stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label.padEnd(12)} [{bar}] {value}/{total} {eta_formatted} {status}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { status: '' });
  let stopped = false;
  return {
    update: (value, status) => bar.update(value, { status: status ?? '' }),
    setTotal: (t) => bar.setTotal(t),
    stop: () => {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}

/**
 * Prints a command's result: pretty JSON on stdout when `json` is set (and nothing else on stdout), or the
 * human text otherwise.
 *
 * @example
 * ```ts
 * emit(io, opts.json, { hr: 0.2 }, () => 'HR@10 0.2000');
 * ```
 */
export function emit(io: CliIo, json: boolean | undefined, data: unknown, human: () => string): void {
  if (json) {
    io.stdout(`${JSON.stringify(data, jsonReplacer, 2)}\n`);
  } else {
    const text = human();
    io.stdout(text.endsWith('\n') ? text : `${text}\n`);
  }
}

/** JSON has no NaN/Infinity: write them as null. Typed arrays become plain arrays. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView))
    return Array.from(value as unknown as ArrayLike<number>);
  return value;
}

/**
 * Writes a status line to stderr (never stdout, so `--json` output stays machine-readable).
 *
 * @example
 * ```ts
 * info(io, 'wrote models/sasrec');
 * ```
 */
export function info(io: CliIo, text: string): void {
  io.stderr(`${text}\n`);
}
