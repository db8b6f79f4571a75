// RewardModel: a small TF.js model predicting the reward of playing a track after a history (completion, skip or any hook).
import { embeddingLookup, ensureBackend, tf } from '../backend.js';
import type { Dataset, Vocabulary } from '../data/dataset.js';
import { checkKnownOptions, InvalidDataError, InvalidOptionError, optionKeys } from '../errors.js';
import { createRng, type Rng } from '../util/random.js';
import { computeRewards, type RewardHook } from './hook.js';
import { rewards } from './hooks.js';

/** What a {@link RewardModel} learns to predict. */
export type RewardTarget = 'completion' | 'skip' | RewardHook;

/** Options of {@link RewardModel.fit}. */
export interface RewardModelOptions {
  /**
   * `'completion'`: share of the track played (rewards.completion()), in [0, 1], sigmoid output.
   * `'skip'`: probability of a skip (skip level 1-3), sigmoid output.
   * A {@link RewardHook}: its value, by regression on standardised rewards. Default `'completion'`.
   */
  target?: RewardTarget;
  /** Passes over the data. Default 5. */
  epochs?: number;
  /** Embedding size. Default 16. */
  dim?: number;
  /** Hidden units of the MLP. Default 32. */
  hidden?: number;
  /** Most recent listens pooled into the history vector. Default 20. */
  historyLength?: number;
  /** Default 256. */
  batchSize?: number;
  /** Adam learning rate. Default 0.01. */
  learningRate?: number;
  /** Seed of the initial weights and shuffling. Default 0. */
  seed?: number;
  /** Called after each epoch with the mean training loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

interface Weights {
  item: Float32Array; // [V+1, dim]
  hist: Float32Array; // [V+1, dim]
  bias: Float32Array; // [V+1]
  w1: Float32Array; // [3*dim, hidden]
  b1: Float32Array; // [hidden]
  w2: Float32Array; // [hidden]
  b2: number;
}

function checkInt(option: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    throw new InvalidOptionError(option, `an integer >= ${min}`, v);
  return v;
}

function initArray(rng: Rng, n: number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/**
 * Predicts the reward of playing a track right after a listening history: item embedding and a mean-pooled
 * embedding of the recent history → `[item, history, item ⊙ history]` → ReLU MLP → one output plus a per-track
 * bias (sigmoid for `'completion'` / `'skip'`, linear for a reward hook). Trained with TF.js (tables through
 * {@link embeddingLookup}); `predict` runs in plain JS on a snapshot of the trained weights, so it allocates no
 * tensors and is cheap inside per-listener re-ranking.
 *
 * @example
 * ```ts
 * const completion = await RewardModel.fit(train, { target: 'completion', epochs: 5, seed: 1 });
 * const p = await completion.predict(['t1', 't2'], ['t3', 't4']); // [0.81, 0.42]
 * completion.dispose();
 * ```
 */
export class RewardModel {
  readonly vocabulary: Vocabulary;
  readonly target: 'completion' | 'skip' | 'hook';
  readonly dim: number;
  readonly hidden: number;
  readonly historyLength: number;
  /** Mean training label (returned for unknown tracks). */
  readonly prior: number;
  private readonly vars: tf.Variable[];
  private readonly w: Weights;
  /** Regression targets are standardised: prediction = raw * scale + shift. */
  private readonly scale: number;
  private readonly shift: number;
  private disposed = false;

  private constructor(
    vocabulary: Vocabulary,
    target: 'completion' | 'skip' | 'hook',
    dims: { dim: number; hidden: number; historyLength: number },
    vars: tf.Variable[],
    w: Weights,
    norm: { scale: number; shift: number; prior: number },
  ) {
    this.vocabulary = vocabulary;
    this.target = target;
    this.dim = dims.dim;
    this.hidden = dims.hidden;
    this.historyLength = dims.historyLength;
    this.vars = vars;
    this.w = w;
    this.scale = norm.scale;
    this.shift = norm.shift;
    this.prior = norm.prior;
  }

  /**
   * Trains on every listen of `train`: the input is the listen's track and the listener's previous
   * `historyLength` tracks, the label is the target's value for that listen. Options are validated first.
   */
  static async fit(train: Dataset, options: RewardModelOptions = {}): Promise<RewardModel> {
    checkKnownOptions(
      options,
      optionKeys<typeof options>({
        target: true,
        epochs: true,
        dim: true,
        hidden: true,
        historyLength: true,
        batchSize: true,
        learningRate: true,
        seed: true,
        onEpoch: true,
      }),
      'RewardModel',
    );
    const target = options.target ?? 'completion';
    if (target !== 'completion' && target !== 'skip' && typeof target !== 'function') {
      throw new InvalidOptionError('target', "'completion', 'skip' or a RewardHook function", target);
    }
    const epochs = checkInt('epochs', options.epochs ?? 5, 1);
    const dim = checkInt('dim', options.dim ?? 16, 1);
    const hidden = checkInt('hidden', options.hidden ?? 32, 1);
    const H = checkInt('historyLength', options.historyLength ?? 20, 1);
    const batchSize = checkInt('batchSize', options.batchSize ?? 256, 1);
    const lr = options.learningRate ?? 0.01;
    if (typeof lr !== 'number' || !(lr > 0) || !Number.isFinite(lr))
      throw new InvalidOptionError('learningRate', 'a finite number > 0', lr);
    const seed = options.seed ?? 0;
    if (typeof seed !== 'number' || !Number.isFinite(seed))
      throw new InvalidOptionError('seed', 'a finite number', seed);
    if (options.onEpoch !== undefined && typeof options.onEpoch !== 'function') {
      throw new InvalidOptionError('onEpoch', 'a function (epoch, loss) => void', options.onEpoch);
    }
    if (!train || typeof train.userListens?.get !== 'function')
      throw new InvalidOptionError('train', 'a Dataset', train);
    await ensureBackend();

    // Labels per listen.
    const kind = typeof target === 'function' ? 'hook' : target;
    const hook: RewardHook =
      typeof target === 'function'
        ? target
        : target === 'completion'
          ? rewards.completion()
          : Object.assign(
              (l: { skipLevel?: number; msPlayed?: number; durationMs?: number }) =>
                l.skipLevel !== undefined ? (l.skipLevel > 0 ? 1 : 0) : completionLabel(l) < 0.5 ? 1 : 0,
              { hookName: 'skip' },
            );
    const labelsByUser = computeRewards(train, hook);
    const V = train.vocabulary.size;
    const hist: number[] = [];
    const cand: number[] = [];
    const labels: number[] = [];
    for (const [user, seq] of train.sequences) {
      const r = labelsByUser.get(user)!;
      for (let i = 0; i < seq.length; i++) {
        for (let j = 0; j < H; j++) {
          const p = i - H + j;
          hist.push(p >= 0 ? seq[p]! : 0);
        }
        cand.push(seq[i]!);
        labels.push(r[i]!);
      }
    }
    const n = cand.length;
    if (n === 0) throw new InvalidDataError('Cannot fit a RewardModel on a dataset with no listens');
    let mean = 0;
    for (const y of labels) mean += y / n;
    let shift = 0;
    let scale = 1;
    if (kind === 'hook') {
      let v = 0;
      for (const y of labels) v += (y - mean) ** 2 / n;
      shift = mean;
      scale = Math.sqrt(v) > 1e-9 ? Math.sqrt(v) : 1;
    }
    const y = Float32Array.from(labels, (l) => (l - shift) / scale);

    const rng = createRng(seed);
    // Everything made from here on is freed if training fails (a throwing onEpoch, a backend error), and the
    // error rethrown: the variables only outlive this call inside the returned model.
    const vars: tf.Variable[] = [];
    const mk = (make: () => tf.Tensor): tf.Variable => {
      const v = tf.tidy(() => tf.variable(make())); // tidy frees the initial value, not the variable
      vars.push(v);
      return v;
    };
    let optimizer: tf.Optimizer | undefined;
    try {
      const item = mk(() => tf.tensor2d(initArray(rng, (V + 1) * dim, 0.1), [V + 1, dim]));
      const histT = mk(() => tf.tensor2d(initArray(rng, (V + 1) * dim, 0.1), [V + 1, dim]));
      const bias = mk(() => tf.zeros([V + 1, 1]));
      const w1 = mk(() =>
        tf.tensor2d(initArray(rng, 3 * dim * hidden, Math.sqrt(2 / (3 * dim))), [3 * dim, hidden]),
      );
      const b1 = mk(() => tf.zeros([hidden]));
      const w2 = mk(() => tf.tensor2d(initArray(rng, hidden, Math.sqrt(1 / hidden)), [hidden, 1]));
      const initOut = kind === 'hook' ? 0 : Math.log(Math.max(1e-4, mean) / Math.max(1e-4, 1 - mean));
      const b2 = mk(() => tf.scalar(initOut));
      const params = { item, hist: histT, bias, w1, b1, w2, b2 };
      const opt = tf.train.adam(lr);
      optimizer = opt;
      const order = Array.from({ length: n }, (_, i) => i);
      for (let epoch = 0; epoch < epochs; epoch++) {
        rng.shuffle(order);
        let lossSum = 0;
        let batches = 0;
        for (let start = 0; start < n; start += batchSize) {
          const idx = order.slice(start, start + batchSize);
          const B = idx.length;
          const hb = new Int32Array(B * H);
          const cb = new Int32Array(B);
          const yb = new Float32Array(B);
          idx.forEach((e, b) => {
            for (let j = 0; j < H; j++) hb[b * H + j] = hist[e * H + j]!;
            cb[b] = cand[e]!;
            yb[b] = y[e]!;
          });
          const loss = tf.tidy(() => {
            const hIds = tf.tensor2d(hb, [B, H], 'int32');
            const cIds = tf.tensor1d(cb, 'int32');
            const yt = tf.tensor1d(yb);
            return opt.minimize(() => {
              const out = forward(params, hIds, cIds); // [B]
              return kind === 'hook'
                ? tf.losses.meanSquaredError(yt, out)
                : tf.losses.sigmoidCrossEntropy(yt, out);
            }, true) as tf.Scalar;
          });
          try {
            lossSum += (await loss.data())[0]!;
          } finally {
            loss.dispose();
          }
          batches++;
        }
        options.onEpoch?.(epoch, lossSum / batches);
      }
      const snap = async (v: tf.Variable) => Float32Array.from(await v.data());
      const weights: Weights = {
        item: await snap(item),
        hist: await snap(histT),
        bias: await snap(bias),
        w1: await snap(w1),
        b1: await snap(b1),
        w2: await snap(w2),
        b2: (await snap(b2))[0]!,
      };
      return new RewardModel(train.vocabulary, kind, { dim, hidden, historyLength: H }, vars, weights, {
        scale,
        shift,
        prior: mean,
      });
    } catch (e) {
      for (const v of vars) v.dispose();
      throw e;
    } finally {
      optimizer?.dispose();
    }
  }

  private historyVector(history: readonly string[]): Float32Array {
    const { dim } = this;
    const h = new Float32Array(dim);
    let count = 0;
    for (let i = history.length - 1; i >= 0 && count < this.historyLength; i--) {
      const idx = this.vocabulary.index(history[i]!);
      if (idx === undefined) continue;
      for (let d = 0; d < dim; d++) h[d]! += this.w.hist[idx * dim + d]!;
      count++;
    }
    if (count > 0) for (let d = 0; d < dim; d++) h[d]! /= count;
    return h;
  }

  private checkUsable(): void {
    if (this.disposed)
      throw new InvalidOptionError('model', 'a RewardModel that has not been disposed', 'disposed');
  }

  /**
   * Predicted reward of playing each of `trackIds` after `history` (oldest first): a probability for
   * `'completion'` / `'skip'`, the hook's scale for a hook. Unknown tracks get {@link RewardModel.prior};
   * unknown history ids are ignored.
   */
  async predict(history: readonly string[], trackIds: readonly string[]): Promise<number[]> {
    return this.predictSync(history, trackIds);
  }

  /** Synchronous {@link RewardModel.predict}. */
  predictSync(history: readonly string[], trackIds: readonly string[]): number[] {
    this.checkUsable();
    const { dim, hidden, w } = this;
    const h = this.historyVector(history);
    const x = new Float32Array(3 * dim);
    return trackIds.map((id) => {
      const c = this.vocabulary.index(id);
      if (c === undefined) return this.prior;
      for (let d = 0; d < dim; d++) {
        const e = w.item[c * dim + d]!;
        x[d] = e;
        x[dim + d] = h[d]!;
        x[2 * dim + d] = e * h[d]!;
      }
      let out = w.b2 + w.bias[c]!;
      for (let j = 0; j < hidden; j++) {
        let a = w.b1[j]!;
        for (let i = 0; i < 3 * dim; i++) a += x[i]! * w.w1[i * hidden + j]!;
        if (a > 0) out += a * w.w2[j]!;
      }
      return this.target === 'hook' ? out * this.scale + this.shift : 1 / (1 + Math.exp(-out));
    });
  }

  /**
   * @internal The same predictions computed with TF.js from the live variables (used to check the JS path).
   */
  async predictWithTf(history: readonly string[], trackIds: readonly string[]): Promise<number[]> {
    this.checkUsable();
    const H = this.historyLength;
    const known = history.map((id) => this.vocabulary.index(id)).filter((i): i is number => i !== undefined);
    const recent = known.slice(Math.max(0, known.length - H));
    const row = new Int32Array(H);
    recent.forEach((v, j) => {
      row[H - recent.length + j] = v;
    });
    const cands = trackIds.map((id) => this.vocabulary.index(id) ?? 0);
    const out = tf.tidy(() => {
      const B = cands.length;
      const hIds = tf.tensor2d(
        Int32Array.from({ length: B * H }, (_, i) => row[i % H]!),
        [B, H],
        'int32',
      );
      const [item, hist, bias, w1, b1, w2, b2] = this.vars as [
        tf.Variable,
        tf.Variable,
        tf.Variable,
        tf.Variable,
        tf.Variable,
        tf.Variable,
        tf.Variable,
      ];
      const raw = forward({ item, hist, bias, w1, b1, w2, b2 }, hIds, tf.tensor1d(cands, 'int32'));
      return this.target === 'hook' ? raw.mul(this.scale).add(this.shift) : tf.sigmoid(raw);
    });
    const values = Array.from(await out.data());
    out.dispose();
    return values.map((v, i) => (cands[i] === 0 ? this.prior : v));
  }

  /** Frees the model's tensors. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.vars) v.dispose();
  }
}

/** Completion from msPlayed/durationMs when both are known, else 1. */
function completionLabel(l: { msPlayed?: number; durationMs?: number }): number {
  return l.msPlayed !== undefined && l.durationMs ? Math.min(1, l.msPlayed / l.durationMs) : 1;
}

interface Params {
  item: tf.Tensor;
  hist: tf.Tensor;
  bias: tf.Tensor;
  w1: tf.Tensor;
  b1: tf.Tensor;
  w2: tf.Tensor;
  b2: tf.Tensor;
}

/** Raw output (logit or standardised value) for a batch: hIds [B, H] int32 (0 = padding), cIds [B] int32 → [B]. */
function forward(p: Params, hIds: tf.Tensor2D, cIds: tf.Tensor1D): tf.Tensor1D {
  const he = embeddingLookup(p.hist as tf.Tensor2D, hIds); // [B, H, dim]
  const mask = tf.notEqual(hIds, 0).toFloat().expandDims(2); // [B, H, 1]
  const count = tf.maximum(mask.sum(1), 1); // [B, 1]
  const hm = he.mul(mask).sum(1).div(count); // [B, dim]
  const ce = embeddingLookup(p.item as tf.Tensor2D, cIds) as tf.Tensor2D; // [B, dim]
  const x = tf.concat([ce, hm, ce.mul(hm)], 1); // [B, 3*dim]
  const h = tf.relu(tf.matMul(x as tf.Tensor2D, p.w1 as tf.Tensor2D).add(p.b1)); // [B, hidden]
  const out = tf.matMul(h, p.w2 as tf.Tensor2D).add(p.b2); // [B, 1]
  const b = embeddingLookup(p.bias as tf.Tensor2D, cIds); // [B, 1]
  return out.add(b).reshape([-1]) as tf.Tensor1D; // [B]
}
