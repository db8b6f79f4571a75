// A per-epoch training progress bar on stderr, shown only on a TTY and when not switched off.
import cliProgress from 'cli-progress';

/**
 * Progress reporting for a training run. All methods are no-ops when the bar is off.
 *
 * @example
 * ```ts
 * const bar = createProgress(true, 'sasrec');
 * bar.startEpoch(1, 40);
 * bar.tick(2.31);
 * bar.stop();
 * ```
 */
export interface Progress {
  /** Starts the bar for an epoch of `total` batches. */
  startEpoch(epoch: number, total: number): void;
  /** One batch done, with its loss. */
  tick(loss: number): void;
  /** Ends the epoch with a summary line. */
  endEpoch(summary: string): void;
  /** Removes the bar. */
  stop(): void;
}

const NOOP: Progress = { startEpoch() {}, tick() {}, endEpoch() {}, stop() {} };

/**
 * A progress bar on `process.stderr` when `enabled` is not false and stderr is a TTY; otherwise a no-op.
 *
 * @example
 * ```ts
 * const bar = createProgress(options.progress, 'sasrec'); // silent in CI and when piped
 * ```
 */
export function createProgress(enabled: boolean | undefined, label: string): Progress {
  if (enabled === false || !process.stderr.isTTY) return NOOP;
  let bar: cliProgress.SingleBar | undefined;
  let lossSum = 0;
  let count = 0;
  let epochNo = 0;
  return {
    startEpoch(epoch, total) {
      epochNo = epoch;
      lossSum = 0;
      count = 0;
      bar = new cliProgress.SingleBar(
        {
          format: `${label} epoch {epoch} [{bar}] {value}/{total} batches | loss {loss} | {duration_formatted}`,
          stream: process.stderr,
          clearOnComplete: true,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { epoch: epochNo, loss: '-' });
    },
    tick(loss) {
      lossSum += loss;
      count++;
      bar?.increment(1, { loss: (lossSum / count).toFixed(4) });
    },
    endEpoch(summary) {
      bar?.stop();
      bar = undefined;
      process.stderr.write(`${label} epoch ${epochNo}: ${summary}\n`);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
