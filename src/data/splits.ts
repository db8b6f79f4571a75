// Train/validation/test splits for next-track evaluation: per-user leave-one-out and a global temporal cut.
import { checkKnownOptions, InvalidOptionError } from '../errors.js';
import { checkDataset, Dataset } from './dataset.js';
import type { EvalCase, Listen } from './types.js';

/** Result of {@link leaveOneOut}. */
export interface LeaveOneOutSplit {
  /** Every listen except the validation and test targets, with a vocabulary built from these listens only. */
  train: Dataset;
  /** One case per user with >= 3 listens: history = all listens before the second-to-last, target = second-to-last. */
  validation: EvalCase[];
  /** One case per user with >= 3 listens: history = all listens before the last (incl. the validation target), target = last. */
  test: EvalCase[];
}

/**
 * Per-user leave-one-out split (the SASRec protocol).
 *
 * For each user with at least 3 listens, the last listen is the test target and the second-to-last the
 * validation target; the validation history is everything before its target, the test history everything
 * before the test target (so it includes the validation target). Users with fewer than 3 listens go entirely
 * to training. `train` is a new {@link Dataset} of the remaining listens with the same `sessionGapMinutes`
 * and a vocabulary built from the training listens only, so a target may be a track `train` never saw.
 * Deterministic: cases follow `dataset.users` order.
 *
 * @example
 * ```ts
 * const ds = Dataset.fromListens(listens, { minUserListens: 5 });
 * const { train, validation, test } = leaveOneOut(ds);
 * console.log(train.numListens + validation.length + test.length === ds.numListens); // true
 * ```
 */
export function leaveOneOut(dataset: Dataset): LeaveOneOutSplit {
  checkDataset(dataset, 'dataset', 'to split');
  const trainListens: Listen[] = [];
  const validation: EvalCase[] = [];
  const test: EvalCase[] = [];
  for (const userId of dataset.users) {
    const ls = dataset.userListens.get(userId) ?? [];
    const n = ls.length;
    if (n < 3) {
      for (const l of ls) trainListens.push(l);
      continue;
    }
    for (let i = 0; i < n - 2; i++) trainListens.push(ls[i]!);
    const ids = ls.map((l) => l.trackId);
    validation.push({ userId, history: ids.slice(0, n - 2), target: ids[n - 2]! });
    test.push({ userId, history: ids.slice(0, n - 1), target: ids[n - 1]! });
  }
  const train = Dataset.fromListens(trainListens, { sessionGapMinutes: dataset.sessionGapMinutes });
  return { train, validation, test };
}

/** Options of {@link temporalSplit}. */
export interface TemporalSplitOptions {
  /** The cut: listens strictly before it train, listens at or after it are test. Epoch milliseconds or a Date. */
  at: number | Date;
}

/** The keys of {@link TemporalSplitOptions}, checked so that a misspelt option is an error. */
const TEMPORAL_SPLIT_KEYS: Record<keyof TemporalSplitOptions, true> = { at: true };

/** Result of {@link temporalSplit}. */
export interface TemporalSplit {
  /** Every listen before `at`, with a vocabulary built from these listens only. */
  train: Dataset;
  /**
   * One case per user with listens on both sides of the cut: history = all the user's listens before `at`,
   * target = the user's first listen at or after `at`.
   */
  test: EvalCase[];
  /** Every listen at or after `at`, user by user (in `dataset.users` order), each user's in time order. */
  testListens: Listen[];
}

/**
 * Global temporal split: everything before `at` trains, everything from `at` on is held out. This avoids
 * leave-one-out's leak of future listens of other users into training.
 *
 * `test` holds one next-track case per user who listened both before and after the cut (history = all of
 * the user's listens before `at`, target = the first listen at or after `at`); `testListens` keeps every
 * held-out listen for metrics over longer horizons. Users seen only after the cut are not in `test` (their
 * listens are in `testListens`).
 *
 * @throws {InvalidOptionError} when `at` is not a finite time, or leaves no listen on one side of the cut.
 * @example
 * ```ts
 * const { train, test, testListens } = temporalSplit(ds, { at: Date.parse('2024-06-01T00:00:00Z') });
 * ```
 */
export function temporalSplit(dataset: Dataset, options: TemporalSplitOptions): TemporalSplit {
  checkDataset(dataset, 'dataset', 'to split');
  checkKnownOptions(options, Object.keys(TEMPORAL_SPLIT_KEYS), 'temporalSplit');
  const raw = options?.at;
  const at = raw instanceof Date ? raw.getTime() : raw;
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new InvalidOptionError('at', 'a finite epoch-millisecond time or a valid Date', raw);
  }
  const trainListens: Listen[] = [];
  const testListens: Listen[] = [];
  const test: EvalCase[] = [];
  for (const userId of dataset.users) {
    const ls = dataset.userListens.get(userId) ?? [];
    let cut = 0;
    while (cut < ls.length && ls[cut]!.timestamp < at) cut++; // listens are time-sorted
    for (let i = 0; i < cut; i++) trainListens.push(ls[i]!);
    for (let i = cut; i < ls.length; i++) testListens.push(ls[i]!);
    if (cut > 0 && cut < ls.length) {
      test.push({ userId, history: ls.slice(0, cut).map((l) => l.trackId), target: ls[cut]!.trackId });
    }
  }
  if (trainListens.length === 0 || testListens.length === 0) {
    const { firstTimestamp, lastTimestamp } = dataset.stats();
    throw new InvalidOptionError(
      'at',
      `a time after the first listen (${iso(firstTimestamp)}) and at or before the last (${iso(lastTimestamp)})`,
      raw instanceof Date ? raw.toISOString() : raw,
      trainListens.length === 0 ? 'No listen is before the cut' : 'No listen is at or after the cut',
    );
  }
  const train = Dataset.fromListens(trainListens, { sessionGapMinutes: dataset.sessionGapMinutes });
  return { train, test, testListens };
}

function iso(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString() : 'none';
}

/** Options of {@link holdOutRecent}. */
export interface HoldOutRecentOptions {
  /** Share of each user's most recent listens to hold out, in (0, 1). Default 0.2. */
  fraction?: number;
}

/** The keys of {@link HoldOutRecentOptions}, checked so that a misspelt option is an error. */
const HOLD_OUT_RECENT_KEYS: Record<keyof HoldOutRecentOptions, true> = { fraction: true };

/** Result of {@link holdOutRecent}. */
export interface HoldOutRecentSplit {
  /** Every user's earlier listens, as a Dataset to train on. */
  train: Dataset;
  /** Per user, the track ids of the earlier listens (oldest first): the history to recommend from. */
  history: Map<string, string[]>;
  /** Per user, the track ids of the most recent `fraction` of listens: what they went on to play. */
  heldOut: Map<string, string[]>;
}

/**
 * Holds out the most recent share of every user's listens: the protocol for judging playlists (Blend,
 * Discover Weekly) against what each listener went on to play. Users whose split would leave either side
 * empty stay whole in `train` and get no entry in `history` / `heldOut`.
 *
 * @example
 * ```ts
 * const { train, history, heldOut } = holdOutRecent(dataset, { fraction: 0.2 });
 * const model = await ItemKNN.fit(train);
 * const result = await blend([{ id: 'a', history: history.get('u1')! }, { id: 'b', history: history.get('u2')! }], { model });
 * evaluateBlend(result, { a: heldOut.get('u1')!, b: heldOut.get('u2')! }, { k: 20 });
 * ```
 */
export function holdOutRecent(dataset: Dataset, options: HoldOutRecentOptions = {}): HoldOutRecentSplit {
  checkDataset(dataset, 'dataset', 'to split');
  checkKnownOptions(options, Object.keys(HOLD_OUT_RECENT_KEYS), 'holdOutRecent');
  const fraction = options.fraction ?? 0.2;
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction < 1))
    throw new InvalidOptionError('fraction', 'a number in (0, 1)', fraction);
  const history = new Map<string, string[]>();
  const heldOut = new Map<string, string[]>();
  const train: Listen[] = [];
  for (const [user, listens] of dataset.userListens) {
    // ceil(n * fraction) listens held out; the epsilon keeps float error (5 * (1 - 0.8) = 0.99999...) from
    // moving the cut by one listen.
    const cut = listens.length - Math.ceil(listens.length * fraction - 1e-9);
    if (cut < 1 || cut >= listens.length) {
      for (const l of listens) train.push(l); // not push(...listens): a long history passes the stack
      continue;
    }
    history.set(
      user,
      listens.slice(0, cut).map((l) => l.trackId),
    );
    heldOut.set(
      user,
      listens.slice(cut).map((l) => l.trackId),
    );
    for (let i = 0; i < cut; i++) train.push(listens[i]!);
  }
  return {
    train: Dataset.fromListens(train, { sessionGapMinutes: dataset.sessionGapMinutes }),
    history,
    heldOut,
  };
}
