// Training windows and length-bucketed mini-batches for next-item models, as plain typed arrays.
import { HISTORY_BIAS_FEATURES, type HistoryCandidates, historyCandidatesRun } from '../models/repeat.js';
import type { Rng } from '../util/random.js';

/**
 * One training window: `items.length - 1` input positions, predicting `items[t + 1]` from `items[..t]`.
 *
 * @example
 * ```ts
 * const w: TrainingWindow = { items: Int32Array.of(3, 5, 9), weights: Float32Array.of(1, 1), unlikely: new Uint8Array(2) };
 * ```
 */
export interface TrainingWindow {
  /** Dense item ids, oldest first (no padding); length 2 to maxlen + 1. */
  items: Int32Array;
  /** Per target (length `items.length - 1`): weight of the target as a positive (reward; 0 = not a positive). */
  weights: Float32Array;
  /** Per target: 1 when the target was an early skip, to be pushed down (unlikelihood term). */
  unlikely: Uint8Array;
  /** Per item: {@link playCountBucket} of its plays so far in the user's whole sequence (this one included). */
  plays: Uint8Array;
  /** The user's whole sequence (shared, not copied) and where `items` starts in it. */
  seq: Int32Array;
  start: number;
}

/** Buckets of {@link playCountBucket}: 0 is padding, then 1, 2-3, 4-7, ..., 64 or more plays. */
export const PLAY_COUNT_BUCKETS = 8;

/**
 * The log2 bucket of a play count: 0 for none (padding), 1 for a first play, 2 for 2-3 plays, 3 for 4-7,
 * up to `PLAY_COUNT_BUCKETS - 1` for 64 or more.
 *
 * @example
 * ```ts
 * playCountBucket(1); // 1
 * playCountBucket(5); // 3
 * ```
 */
export function playCountBucket(count: number): number {
  if (!(count >= 1)) return 0;
  return Math.min(PLAY_COUNT_BUCKETS - 1, 1 + Math.floor(Math.log2(count)));
}

/**
 * Per listen of a sequence, the {@link playCountBucket} of that track's plays up to and including it.
 *
 * @example
 * ```ts
 * playCountBuckets([7, 3, 7, 7]); // Uint8Array [1, 1, 2, 2]
 * ```
 */
export function playCountBuckets(seq: ArrayLike<number>): Uint8Array {
  const seen = new Map<number, number>();
  const out = new Uint8Array(seq.length);
  for (let i = 0; i < seq.length; i++) {
    const c = (seen.get(seq[i]!) ?? 0) + 1;
    seen.set(seq[i]!, c);
    out[i] = playCountBucket(c);
  }
  return out;
}

/** Options of {@link buildWindows}. */
export interface WindowOptions {
  /** Longest input; windows hold up to `maxlen + 1` items. */
  maxlen: number;
  /**
   * At most this many windows per user: a user's sequence is cut into windows from the end backwards
   * whose targets do not overlap (each listen is a target at most once per epoch), and the most recent
   * `maxWindowsPerUser` are kept; older listens of very long histories are not trained on.
   */
  maxWindowsPerUser: number;
  /** Per user, one reward per item (aligned with the sequence). Negative rewards count as 0. */
  rewards?: ReadonlyMap<string, Float32Array>;
  /** Per user, 1 where the item was an early skip (skip level 1 or 2). */
  skips?: ReadonlyMap<string, Uint8Array>;
}

/**
 * Cuts each user's sequence into training windows and keeps the most recent `maxWindowsPerUser` per user
 * (see {@link WindowOptions.maxWindowsPerUser}). Sequences shorter than 2 items yield nothing. `items` and
 * `plays` are views into the user's arrays (`seq` is shared, not copied).
 *
 * @example
 * ```ts
 * const windows = buildWindows(new Map([['u1', Int32Array.of(1, 2, 3, 4)]]), { maxlen: 2, maxWindowsPerUser: 4 });
 * // [{ items: [2, 3, 4] }, { items: [1, 2] }]
 * ```
 */
export function buildWindows(
  sequences: ReadonlyMap<string, Int32Array>,
  options: WindowOptions,
): TrainingWindow[] {
  const out: TrainingWindow[] = [];
  for (const [user, seq] of sequences) {
    const rewards = options.rewards?.get(user);
    const skips = options.skips?.get(user);
    const plays = playCountBuckets(seq);
    let end = seq.length; // exclusive
    for (let w = 0; w < options.maxWindowsPerUser && end >= 2; w++) {
      const start = Math.max(0, end - options.maxlen - 1);
      const items = seq.subarray(start, end);
      const n = items.length - 1;
      const weights = new Float32Array(n);
      const unlikely = new Uint8Array(n);
      for (let t = 0; t < n; t++) {
        const src = start + t + 1; // index of the target in the user's sequence
        const skipped = skips ? skips[src] === 1 : false;
        unlikely[t] = skipped ? 1 : 0;
        weights[t] = skipped ? 0 : rewards ? Math.max(0, rewards[src]!) : 1;
      }
      out.push({ items, weights, unlikely, plays: plays.subarray(start, end), seq, start });
      end = start + 1; // the next window's last item is this window's first (its first target's input)
    }
  }
  return out;
}

/**
 * Which negatives a batch carries: none (full softmax), one per target row (`'per-row'`, BCE), or `k`
 * shared by the whole batch (`'shared'`, drawn uniformly or by popularity).
 *
 * @example
 * ```ts
 * const spec: NegativeSpec = { kind: 'shared', k: 256, distribution: 'popularity' };
 * ```
 */
export type NegativeSpec =
  | { kind: 'none' }
  | { kind: 'per-row'; k: number }
  | { kind: 'shared'; k: number; distribution: 'uniform' | 'popularity' };

/**
 * A mini-batch as plain typed arrays (postable to worker threads). Inputs are left-padded with 0 to the
 * longest window in the batch; only non-padding positions are target rows.
 *
 * @example
 * ```ts
 * const b: SeqBatch = makeBatch(windows.slice(0, 2), sampler, createRng(1));
 * b.inputs.length === b.size * b.length; // true
 * ```
 */
export interface SeqBatch {
  /** Sequences in the batch (B). */
  size: number;
  /** Positions per sequence after trimming (L). */
  length: number;
  /** `[B * L]` input ids, left-padded with 0. */
  inputs: Int32Array;
  /** `[B * L]` play-count buckets of the inputs (0 on padding). */
  plays: Int32Array;
  /** `[M]` flat positions `b * L + t` that have a target. */
  rows: Int32Array;
  /** `[M]` target ids. */
  targets: Int32Array;
  /** `[M]` weight of each target as a positive. */
  weights: Float32Array;
  /** `[M]` 1 where the target gets the unlikelihood term instead. */
  unlikely: Float32Array;
  /** Negatives: `[M * k]` per row, or `[k]` shared; empty for full softmax. */
  negatives: Int32Array;
  /** Seed for this step's dropout masks. */
  seed: number;
  /**
   * History tracks of each target row that get a learned bias (see `historyCandidates`), padded to `k` per
   * row (empty unless asked for): `[M * k]` track ids (0 = padding), mask, 1 where it is the row's target,
   * and `[M * k * F]` features.
   */
  history: {
    k: number;
    items: Int32Array;
    mask: Float32Array;
    isTarget: Float32Array;
    features: Float32Array;
  };
}

/** Options of {@link makeBatch} for the learned history bias: the model's window and the tracks per row. */
export interface HistoryBiasSpec {
  window: number;
  limit: number;
}

/**
 * Draws negative item ids from `1..numItems`, uniformly or in proportion to popularity counts.
 *
 * @example
 * ```ts
 * const s = new NegativeSampler(counts);
 * s.popular(createRng(1)); // an id drawn with probability counts[id] / total
 * ```
 */
export class NegativeSampler {
  readonly numItems: number;
  /** `q[i]`: probability that a popularity draw returns item `i` (index 0 unused). */
  readonly q: Float64Array;
  private readonly cdf: Float64Array;

  constructor(counts: ArrayLike<number>) {
    this.numItems = counts.length - 1;
    this.q = new Float64Array(counts.length);
    this.cdf = new Float64Array(counts.length);
    let total = 0;
    for (let i = 1; i < counts.length; i++) total += Math.max(0, counts[i]!);
    let acc = 0;
    for (let i = 1; i < counts.length; i++) {
      const p = total > 0 ? Math.max(0, counts[i]!) / total : 1 / this.numItems;
      this.q[i] = p;
      acc += p;
      this.cdf[i] = acc;
    }
  }

  /** A uniform id in `1..numItems`. */
  uniform(rng: Rng): number {
    return 1 + rng.int(this.numItems);
  }

  /** An id drawn by popularity (binary search of the cumulative distribution). */
  popular(rng: Rng): number {
    const r = rng.next() * this.cdf[this.numItems]!;
    let lo = 1;
    let hi = this.numItems;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cdf[mid]! > r) hi = mid;
      else lo = mid + 1;
    }
    // Skip zero-probability items that share a cumulative value.
    while (lo < this.numItems && this.q[lo] === 0) lo++;
    return lo;
  }
}

/**
 * Packs windows into one left-padded batch trimmed to its longest window, with negatives drawn from `rng`.
 * Per-row negatives avoid the row's own target and the window's items (up to 10 redraws).
 *
 * @example
 * ```ts
 * const batch = makeBatch(windows.slice(0, 128), { kind: 'none' }, sampler, createRng(7));
 * ```
 */
export function makeBatch(
  windows: readonly TrainingWindow[],
  negatives: NegativeSpec,
  sampler: NegativeSampler,
  rng: Rng,
  historyBias?: HistoryBiasSpec,
): SeqBatch {
  const B = windows.length;
  let L = 1;
  let M = 0;
  for (const w of windows) {
    L = Math.max(L, w.items.length - 1);
    M += w.items.length - 1;
  }
  const inputs = new Int32Array(B * L);
  const plays = new Int32Array(B * L);
  const rows = new Int32Array(M);
  const targets = new Int32Array(M);
  const weights = new Float32Array(M);
  const unlikely = new Float32Array(M);
  let m = 0;
  for (let b = 0; b < B; b++) {
    const w = windows[b]!;
    const n = w.items.length - 1;
    const offset = b * L + (L - n); // left padding
    for (let t = 0; t < n; t++) {
      inputs[offset + t] = w.items[t]!;
      plays[offset + t] = w.plays[t]!;
      rows[m] = offset + t;
      targets[m] = w.items[t + 1]!;
      weights[m] = w.weights[t]!;
      unlikely[m] = w.unlikely[t]!;
      m++;
    }
  }
  let negs = new Int32Array(0);
  if (negatives.kind === 'per-row') {
    const k = negatives.k;
    negs = new Int32Array(M * k);
    let r = 0;
    for (const w of windows) {
      const seen = new Set<number>(w.items);
      for (let t = 0; t < w.items.length - 1; t++, r++) {
        for (let j = 0; j < k; j++) {
          let neg = sampler.uniform(rng);
          for (let tries = 0; tries < 10 && (seen.has(neg) || neg === targets[r]); tries++)
            neg = sampler.uniform(rng);
          negs[r * k + j] = neg;
        }
      }
    }
  } else if (negatives.kind === 'shared') {
    negs = new Int32Array(negatives.k);
    for (let j = 0; j < negatives.k; j++) {
      negs[j] = negatives.distribution === 'popularity' ? sampler.popular(rng) : sampler.uniform(rng);
    }
  }
  const history = historyBias ? historyEntries(windows, historyBias) : emptyHistory();
  return {
    size: B,
    length: L,
    inputs,
    plays,
    rows,
    targets,
    weights,
    unlikely,
    negatives: negs,
    seed: rng.fork(),
    history,
  };
}

/**
 * No history entries.
 *
 * @example
 * ```ts
 * emptyHistory().items.length; // 0
 * ```
 */
export function emptyHistory(): SeqBatch['history'] {
  return {
    k: 0,
    items: new Int32Array(0),
    mask: new Float32Array(0),
    isTarget: new Float32Array(0),
    features: new Float32Array(0),
  };
}

/** Per target row (in makeBatch's row order), the history candidates of the prefix that ends at its input. */
function historyEntries(windows: readonly TrainingWindow[], spec: HistoryBiasSpec): SeqBatch['history'] {
  const F = HISTORY_BIAS_FEATURES.length;
  const perRow: { c: HistoryCandidates; target: number }[] = [];
  for (const w of windows) {
    // Row t's prefix ends at its input, w.start + t (exclusive end w.start + t + 1).
    const n = w.items.length - 1;
    const runs = historyCandidatesRun(w.seq, w.start + 1, w.start + n, spec.window, spec.limit);
    for (let t = 0; t < n; t++) perRow.push({ c: runs[t]!, target: w.items[t + 1]! });
  }
  const k = perRow.reduce((most, r) => Math.max(most, r.c.items.length), 1);
  const M = perRow.length;
  const out = {
    k,
    items: new Int32Array(M * k),
    mask: new Float32Array(M * k),
    isTarget: new Float32Array(M * k),
    features: new Float32Array(M * k * F),
  };
  perRow.forEach(({ c, target }, m) => {
    c.items.forEach((x, j) => {
      out.items[m * k + j] = x;
      out.mask[m * k + j] = 1;
      out.isTarget[m * k + j] = x === target ? 1 : 0;
    });
    out.features.set(c.features, m * k * F);
  });
  return out;
}

/**
 * One epoch's batches: windows shuffled, then sorted by length within pools of 50 batches (bucketing, so
 * batches carry little padding), cut into batches, and the batch order shuffled. Deterministic per `rng`.
 *
 * @example
 * ```ts
 * for (const batch of epochBatches(windows, 128, { kind: 'none' }, sampler, createRng(1))) model.step(batch);
 * ```
 */
export function* epochBatches(
  windows: readonly TrainingWindow[],
  batchSize: number,
  negatives: NegativeSpec,
  sampler: NegativeSampler,
  rng: Rng,
  historyBias?: HistoryBiasSpec,
): Generator<SeqBatch> {
  const order = rng.shuffle(Array.from(windows.keys()));
  const pool = batchSize * 50;
  const groups: number[][] = [];
  for (let p = 0; p < order.length; p += pool) {
    const chunk = order.slice(p, p + pool);
    chunk.sort((a, b) => windows[a]!.items.length - windows[b]!.items.length || a - b);
    for (let i = 0; i < chunk.length; i += batchSize) groups.push(chunk.slice(i, i + batchSize));
  }
  rng.shuffle(groups);
  for (const g of groups) {
    yield makeBatch(
      g.map((i) => windows[i]!),
      negatives,
      sampler,
      rng,
      historyBias,
    );
  }
}

/** Number of batches {@link epochBatches} yields for `windows` windows. */
export function batchesPerEpoch(windows: number, batchSize: number): number {
  const pool = batchSize * 50;
  let n = 0;
  for (let p = 0; p < windows; p += pool) n += Math.ceil(Math.min(pool, windows - p) / batchSize);
  return n;
}

/**
 * The distinct values of `ids`, ascending, and each value's position among them.
 *
 * @example
 * ```ts
 * distinctRows(Int32Array.of(7, 3, 7)); // { rows: [3, 7], position: Map { 3 => 0, 7 => 1 } }
 * ```
 */
export function distinctRows(...ids: ArrayLike<number>[]): {
  rows: Int32Array;
  position: Map<number, number>;
} {
  const seen = new Set<number>();
  for (const a of ids) for (let i = 0; i < a.length; i++) seen.add(a[i]!);
  const rows = Int32Array.from(seen).sort();
  const position = new Map<number, number>();
  for (let i = 0; i < rows.length; i++) position.set(rows[i]!, i);
  return { rows, position };
}

/**
 * The track rows a batch touches (its inputs, targets, negatives and history entries, plus the padding
 * row 0; distinct and ascending) and the batch with every track id replaced by its position among them.
 * Row 0 stays at position 0, so padding is still id 0. For row-sparse training steps: a step on the local
 * batch over those rows of the tables computes the same loss as the full batch over the full tables.
 *
 * @example
 * ```ts
 * const { ids, batch: local } = batchRows(batch); // local.inputs[i] indexes ids; ids[local.inputs[i]] === batch.inputs[i]
 * ```
 */
export function batchRows(batch: SeqBatch): { ids: Int32Array; batch: SeqBatch } {
  const { rows: ids, position } = distinctRows(
    [0],
    batch.inputs,
    batch.targets,
    batch.negatives,
    batch.history.items,
  );
  const local = (a: Int32Array) => a.map((x) => position.get(x)!);
  return {
    ids,
    batch: {
      ...batch,
      inputs: local(batch.inputs),
      targets: local(batch.targets),
      negatives: local(batch.negatives),
      history: { ...batch.history, items: local(batch.history.items) },
    },
  };
}
