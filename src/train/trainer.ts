// The model-agnostic training loop: Adam, decoupled weight decay, early stopping, time budget, callbacks.
import { scatterRows, tf } from '../backend.js';
import { InvalidOptionError } from '../errors.js';
import { createProgress } from './progress.js';

/**
 * The gradient of a `[rows, d]` table that is zero outside a few rows: row `rows[i]` has gradient
 * `values[i]`. `rows` are distinct and ascending. A model returns one for an embedding table when a step
 * touches only some of its rows (a sampled loss), and the optimizer then works on those rows only, catching
 * the others up later (see {@link Optimizer.sync}).
 *
 * @example
 * ```ts
 * const g: RowGradient = { rows: Int32Array.of(0, 7), values: tf.zeros([2, 64]) }; // rows 0 and 7 of the table
 * ```
 */
export interface RowGradient {
  readonly rows: Int32Array;
  /** `[rows.length, d]`. */
  readonly values: tf.Tensor2D;
}

/**
 * A variable's gradient: dense, or {@link RowGradient} for a table whose step touched only some rows.
 *
 * @example
 * ```ts
 * const dense: Gradient = tf.zeros([10, 64]);
 * ```
 */
export type Gradient = tf.Tensor | RowGradient;

/**
 * Whether a gradient is row-sparse.
 *
 * @example
 * ```ts
 * if (isRowGradient(g)) console.log(g.rows.length, 'rows');
 * ```
 */
export function isRowGradient(g: Gradient): g is RowGradient {
  return !(g instanceof tf.Tensor);
}

/**
 * A gradient as a dense tensor of `shape` (a {@link RowGradient} scattered into zeros); a dense one is
 * returned as is. Disposes the row gradient's values.
 *
 * @example
 * ```ts
 * const dense = toDenseGradient(g, variable.shape); // [rows, d]
 * ```
 */
export function toDenseGradient(g: Gradient, shape: number[]): tf.Tensor {
  if (!isRowGradient(g)) return g;
  const dense = tf.tidy(() =>
    tf.scatterND(tf.tensor2d(g.rows, [g.rows.length, 1], 'int32'), g.values, shape),
  );
  g.values.dispose();
  return dense;
}

/**
 * Disposes a gradient of either kind.
 *
 * @example
 * ```ts
 * disposeGradient(g);
 * ```
 */
export function disposeGradient(g: Gradient): void {
  (isRowGradient(g) ? g.values : g).dispose();
}

/**
 * What the trainer needs from a model: named variables, a pure step `(weights, batch) -> (loss, grads)`,
 * and weight snapshots. Batches are opaque to the trainer.
 *
 * @example
 * ```ts
 * const { loss, grads } = model.computeGradients(batch); // grads keyed like model.variables
 * ```
 */
export interface TrainableModel<B> {
  /** Trainable variables by stable short name. */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /** Loss and gradients for one batch; the caller owns (and disposes) the gradient tensors. */
  computeGradients(batch: B): { loss: number; grads: Record<string, Gradient> };
  /**
   * Set by {@link train} while it runs (and cleared after): moves `w`, a copy of rows `rows` of variable
   * `name` (`[R, d]`), by the steps those rows sat out under row-sparse Adam, so that a model computing a
   * {@link RowGradient} evaluates it at the weights dense Adam would have. A model without row gradients
   * ignores it.
   */
  currentRows?: ((name: string, rows: Int32Array, w: Float32Array) => void) | undefined;
  /** Copies of all weights by short name. */
  getWeights(): Record<string, Float32Array>;
  /** Overwrites weights from {@link TrainableModel.getWeights}'s format. */
  setWeights(weights: Readonly<Record<string, Float32Array>>): void;
}

/** What an epoch reports to {@link TrainOptions.onEpochEnd}. */
export interface EpochLogs {
  /** Mean training loss over the epoch's batches. */
  loss: number;
  /** Optimiser steps (batches) in the epoch. */
  steps: number;
  /** Validation NDCG@10 after the epoch, when validating. */
  valNdcg10?: number;
  /** Wall-clock seconds of the epoch (training and validation). */
  seconds: number;
}

/** Options of {@link train}. */
export interface TrainOptions<B> {
  epochs: number;
  learningRate: number;
  /** Adam beta2 (default 0.98, as in SASRec). */
  beta2?: number;
  /** Decoupled (AdamW-style) weight decay per step: `w -= learningRate * weightDecay * w`. Default 0. */
  weightDecay?: number;
  /** Which variables decay (default: all). */
  decays?: (name: string) => boolean;
  /** Linear learning-rate warmup from `learningRate / warmupSteps` to `learningRate` over this many steps. Default 0. */
  warmupSteps?: number;
  /**
   * With `validate`: multiply the learning rate by this factor after every epoch that does not improve the
   * validation score (training goes on from the current weights). Default 1 (constant rate).
   */
  plateauDecay?: number;
  /**
   * The batches of epoch `epoch` (1-based). `outOfTime()` tells whether `maxSeconds` is spent, so an
   * epoch made of several passes can end early at a pass boundary (the trainer then stops after it).
   */
  batches: (epoch: number, outOfTime: () => boolean) => Iterable<B>;
  /** Batches per epoch, for the progress bar. */
  batchesPerEpoch: number;
  /** Validation score after each epoch (higher is better), e.g. NDCG@10. Enables early stopping. */
  validate?: () => Promise<number>;
  /** Epochs without improvement before stopping (with `validate`). */
  patience: number;
  /**
   * Stop after the epoch that crosses this many seconds. `batches` can also end that epoch early through
   * its `outOfTime` argument (SASRec does, at the next batch).
   */
  maxSeconds: number;
  onEpochEnd?: (epoch: number, logs: EpochLogs) => void | Promise<void>;
  /**
   * Polyak averaging: when in (0, 1), the trainer keeps an exponential moving average of the weights,
   * `avg = d * avg + (1 - d) * w` after every step with `d = min(ema, (1 + t) / (10 + t))` at step t (so
   * the start-up weights are soon forgotten), and validates, keeps and returns the averaged weights, not
   * the raw ones. Training itself goes on from the raw weights. Default 0 (off).
   */
  ema?: number;
  /** Progress bar (only on a TTY). */
  progress?: boolean;
  /** Label of the progress bar. */
  label?: string;
  /**
   * Computes a batch's loss and gradients instead of `model.computeGradients` (e.g. the data-parallel
   * gradient pool of `startGradientPool` over worker threads), with the model's current weights.
   */
  computeGradients?: (batch: B) => Promise<{ loss: number; grads: Record<string, Gradient> }>;
}

/** What {@link train} did. */
export interface TrainResult {
  /** Epochs run. */
  epochs: number;
  /** Epoch whose weights the model holds at the end (the best on validation, else the last). */
  bestEpoch: number;
  /** Best validation score, when validating. */
  bestScore?: number;
  /** Why training ended. */
  stoppedBy: 'epochs' | 'patience' | 'maxSeconds';
  history: EpochLogs[];
}

/**
 * Adam over a model's variables plus decoupled weight decay. Apply gradients computed anywhere (this
 * thread or workers) with {@link Optimizer.apply}.
 *
 * @example
 * ```ts
 * const opt = createOptimizer(model, { learningRate: 1e-3 });
 * const { grads } = model.computeGradients(batch);
 * opt.apply(grads); // disposes grads
 * opt.dispose();
 * ```
 */
export interface Optimizer {
  /** One Adam step; dense gradients update whole variables, {@link RowGradient}s only their rows. */
  apply(grads: Record<string, Gradient>): void;
  /** Multiplies the learning rate (after warmup) by `factor` from the next step on. */
  scaleLearningRate(factor: number): void;
  /**
   * Brings the rows of row-sparse variables that recent steps did not touch up to date (the moves dense
   * Adam makes on their momentum), so the variables hold dense Adam's weights. The trainer calls it before
   * it reads the weights (validation, snapshots, the end of training).
   */
  sync(): void;
  /**
   * Applies to `w` (a copy of rows `rows` of `value`, `[R, d]`) the moves those rows have pending, without
   * changing the variable or the optimizer's state: the rows as dense Adam has them now, for the next
   * gradient. The step that then updates these rows applies the same moves to the variable.
   */
  pendingRows(value: tf.Variable, rows: Int32Array, w: Float32Array): void;
  dispose(): void;
}

/** Row-sparse Adam state of one table: both moments, and the step each row was last brought up to. */
interface RowState {
  m: Float32Array;
  v: Float32Array;
  last: Int32Array;
}

/** Zero-gradient steps summed for a row's catch-up; (0.9 / sqrt(0.98))^400 is about 3e-17. */
const MAX_DRIFT_STEPS = 400;

/**
 * Adam with the exact arithmetic of `tf.train.adam` (the same kernels in the same order, so the same
 * weights bit for bit), but each variable updated on its own with its temporaries freed as it goes.
 * tfjs' `applyGradients` keeps every temporary of every variable until the whole update ends: about 14
 * copies of the item table on top of the weights, both moments and the gradient, which ran a 900,000-track
 * table (230 MB at dim 64) out of wasm's 4 GiB heap. Here at most four table-sized temporaries live at once.
 * A {@link RowGradient} takes the row-sparse path instead: the same Adam, computed in JavaScript on the
 * touched rows only, with the moves of the steps each row sat out added when it is next touched or synced.
 */
function createAdam(beta1: number, beta2: number, epsilon: number) {
  const moments = new Map<tf.Variable, { m: tf.Variable; v: tf.Variable }>();
  const rowMoments = new Map<tf.Variable, RowState>();
  const accBeta1 = tf.tidy(() => tf.scalar(beta1).variable(false));
  const accBeta2 = tf.tidy(() => tf.scalar(beta2).variable(false));
  let t = 0; // steps taken
  const rates: number[] = [0]; // rates[step]: the learning rate of each step, for the catch-up moves
  /**
   * How far dense Adam moves a row, per unit of its `m / sqrt(v)`, over the `k` steps after step `s` in
   * which the row had no gradient: its moments only decay (`m * beta1^i`, `v * beta2^i`), and each of those
   * steps still moves it by `lr * m_hat / sqrt(v_hat)`. Summed in closed form per row, so that a row-sparse
   * step gives dense Adam's weights (up to epsilon) at the cost of the rows it touches:
   * `sum_i lr_(s+i) * (beta1 / sqrt(beta2))^i * sqrt(1 - beta2^(s+i)) / (1 - beta1^(s+i))`. Terms past a few
   * hundred steps are below float precision and dropped.
   */
  const corrections: number[] = [0]; // corrections[step] = sqrt(1 - beta2^step) / (1 - beta1^step)
  const r = beta1 / Math.sqrt(beta2); // per-step decay of m_hat / sqrt(v_hat) on a row without gradient
  const drift = (s: number, k: number): number => {
    let sum = 0;
    let ri = 1;
    for (let i = 1; i <= Math.min(k, MAX_DRIFT_STEPS); i++) {
      ri *= r;
      const step = s + i;
      corrections[step] ??= Math.sqrt(1 - beta2 ** step) / (1 - beta1 ** step);
      sum += rates[step]! * ri * corrections[step]!;
    }
    return sum;
  };
  /**
   * Applies to `w` (rows `rows` packed, `[R, d]`) each row's pending zero-gradient steps, from its last
   * update up to step `through`. With `commit` the optimizer's state moves too (the moments decay and the
   * rows count as updated to `through`), as when the rows are written back; without it only `w` changes.
   * Rows last updated at the same step share one `drift` sum.
   */
  const moveRows = (
    state: RowState,
    rows: Int32Array,
    w: Float32Array,
    d: number,
    through: number,
    commit: boolean,
  ) => {
    const sums = new Map<number, number>();
    const { m, v, last } = state;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const s = last[row]!;
      const k = through - s;
      if (k <= 0) continue;
      if (commit) last[row] = through;
      if (s === 0) continue; // never updated: zero moments, nothing moves
      let f = sums.get(s);
      if (f === undefined) {
        f = drift(s, k);
        sums.set(s, f);
      }
      const d1 = commit ? beta1 ** k : 1;
      const d2 = commit ? beta2 ** k : 1;
      const base = row * d;
      const at = i * d;
      for (let j = 0; j < d; j++) {
        const mj = m[base + j]!;
        const vj = v[base + j]!;
        if (vj > 0) w[at + j] = w[at + j]! - (f * mj) / Math.sqrt(vj);
        if (commit) {
          m[base + j] = mj * d1;
          v[base + j] = vj * d2;
        }
      }
    }
  };
  /** Brings rows up to step `through`, state included (see `moveRows`). */
  const catchUp = (state: RowState, rows: Int32Array, w: Float32Array, d: number, through: number) =>
    moveRows(state, rows, w, d, through, true);
  /** {@link Optimizer.pendingRows}: `catchUp`'s moves on weights alone, through the last step taken. */
  const pendingRows = (value: tf.Variable, rows: Int32Array, w: Float32Array) => {
    const state = rowMoments.get(value);
    if (state) moveRows(state, rows, w, value.shape[1]!, t, false); // no row-sparse step yet: nothing pending
  };
  /**
   * Adam on the rows of a row-sparse gradient. Each touched row first catches up on the steps it had no
   * gradient in (see `drift`), then takes this step's update, so the weights are dense Adam's (up to
   * epsilon) while a step costs its rows plus one copy of the table, not a dozen passes over it. The
   * moments live in JavaScript memory; {@link Optimizer.sync} brings the untouched rows up to date.
   */
  const applyRows = (value: tf.Variable, g: RowGradient, lr: number) => {
    const [n, d] = value.shape as [number, number];
    const state = rowState(value, n, d);
    const { m, v } = state;
    const { rows } = g;
    const grad = g.values.dataSync() as Float32Array; // [R, d]
    g.values.dispose();
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    editRows(value, rows, (next) => {
      catchUp(state, rows, next, d, t - 1);
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i]!;
        state.last[row] = t;
        const at = row * d;
        for (let j = 0; j < d; j++) {
          const gij = grad[i * d + j]!;
          m[at + j] = beta1 * m[at + j]! + (1 - beta1) * gij;
          v[at + j] = beta2 * v[at + j]! + (1 - beta2) * gij * gij;
          next[i * d + j] =
            next[i * d + j]! - (lr * (m[at + j]! / c1)) / (Math.sqrt(v[at + j]! / c2) + epsilon);
        }
      }
    });
  };
  /** Reads rows `rows` of a `[n, d]` variable into JS (`[R, d]`), lets `edit` change them, writes them back. */
  const editRows = (value: tf.Variable, rows: Int32Array, edit: (w: Float32Array) => void) => {
    const current = tf.tidy(() => tf.gather(value, tf.tensor1d(rows, 'int32')));
    const w = Float32Array.from(current.dataSync() as Float32Array); // [R, d]
    current.dispose();
    edit(w);
    const updated = tf.tidy(() =>
      scatterRows(value as tf.Tensor as tf.Tensor2D, rows, tf.tensor2d(w, [rows.length, value.shape[1]!])),
    );
    value.assign(updated);
    updated.dispose();
  };
  const rowState = (value: tf.Variable, n: number, d: number): RowState => {
    let state = rowMoments.get(value);
    if (!state) {
      state = { m: new Float32Array(n * d), v: new Float32Array(n * d), last: new Int32Array(n) };
      rowMoments.set(value, state);
    }
    return state;
  };
  return {
    apply(variables: Readonly<Record<string, tf.Variable>>, grads: Record<string, Gradient>, lr: number) {
      t++;
      rates[t] = lr;
      const oneMinusAccBeta1 = tf.sub(1, accBeta1);
      const oneMinusAccBeta2 = tf.sub(1, accBeta2);
      for (const [name, g] of Object.entries(grads)) {
        const value = variables[name];
        if (!value) {
          disposeGradient(g);
          continue;
        }
        if (isRowGradient(g)) {
          applyRows(value, g, lr);
          continue;
        }
        let state = moments.get(value);
        if (!state) {
          state = {
            m: tf.tidy(() => tf.zerosLike(value).variable(false)),
            v: tf.tidy(() => tf.zerosLike(value).variable(false)),
          };
          moments.set(value, state);
        }
        const { m, v } = state;
        const newM = tf.tidy(() => tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        const newV = tf.tidy(() => tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        g.dispose();
        const correctedM = tf.div(newM, oneMinusAccBeta1);
        const correctedV = tf.div(newV, oneMinusAccBeta2);
        m.assign(newM); // the variables now hold these buffers
        v.assign(newV);
        tf.dispose([newM, newV]);
        const denominator = tf.tidy(() => tf.add(tf.sqrt(correctedV), epsilon));
        correctedV.dispose();
        const delta = tf.tidy(() => tf.mul(tf.div(correctedM, denominator), -lr));
        tf.dispose([correctedM, denominator]);
        const next = tf.add(delta, value);
        delta.dispose();
        value.assign(next);
        next.dispose();
      }
      tf.tidy(() => {
        accBeta1.assign(tf.mul(accBeta1, beta1));
        accBeta2.assign(tf.mul(accBeta2, beta2));
      });
      tf.dispose([oneMinusAccBeta1, oneMinusAccBeta2]);
    },
    /** Brings every row of the row-sparse variables up to date with step t (one pass over each table). */
    sync() {
      for (const [value, state] of rowMoments) {
        const d = value.shape[1]!;
        const behind: number[] = []; // rows updated before, but not at step t
        state.last.forEach((s, row) => {
          if (s > 0 && s < t) behind.push(row);
          else state.last[row] = t;
        });
        if (behind.length === 0) continue;
        const rows = Int32Array.from(behind);
        editRows(value, rows, (w) => catchUp(state, rows, w, d, t));
      }
    },
    pendingRows,
    dispose() {
      tf.dispose([accBeta1, accBeta2]);
      for (const { m, v } of moments.values()) tf.dispose([m, v]);
      moments.clear();
      rowMoments.clear();
    },
  };
}

/** Creates the {@link Optimizer} used by {@link train}. */
export function createOptimizer<B>(
  model: TrainableModel<B>,
  options: {
    learningRate: number;
    beta2?: number;
    weightDecay?: number;
    decays?: (name: string) => boolean;
    warmupSteps?: number;
  },
): Optimizer {
  const adam = createAdam(0.9, options.beta2 ?? 0.98, 1e-8);
  const wd = options.weightDecay ?? 0;
  const decays = options.decays ?? (() => true);
  const warmup = Math.max(0, Math.floor(options.warmupSteps ?? 0));
  let step = 0;
  let base = options.learningRate;
  return {
    apply(grads) {
      step++;
      const lr = warmup > 0 && step < warmup ? (base * step) / warmup : base;
      adam.apply(model.variables, grads, lr); // disposes each gradient once used
      if (wd > 0) {
        const factor = 1 - lr * wd;
        tf.tidy(() => {
          for (const [name, v] of Object.entries(model.variables))
            if (decays(name)) v.assign(tf.mul(v, factor));
        });
      }
    },
    scaleLearningRate(factor) {
      base *= factor;
    },
    sync() {
      adam.sync();
    },
    pendingRows(value, rows, w) {
      adam.pendingRows(value, rows, w);
    },
    dispose() {
      adam.dispose();
    },
  };
}

/**
 * Trains `model` for up to `epochs` epochs. With `validate`, keeps the best-scoring weights, stops after
 * `patience` epochs without improvement and restores the best weights at the end. Stops after the epoch
 * that crosses `maxSeconds`. Leaves no tensors behind.
 *
 * @example
 * ```ts
 * const result = await train(model, { epochs: 20, learningRate: 1e-3, patience: 3, maxSeconds: Infinity,
 *   batches: (e) => epochBatches(windows, 128, spec, sampler, rng), batchesPerEpoch: 40 });
 * ```
 */
export async function train<B>(model: TrainableModel<B>, options: TrainOptions<B>): Promise<TrainResult> {
  const optimizer = createOptimizer(model, options);
  const average =
    options.ema !== undefined && options.ema > 0 ? createAverage(model, options.ema) : undefined;
  const bar = createProgress(options.progress, options.label ?? 'train');
  const start = performance.now();
  const outOfTime = () => (performance.now() - start) / 1000 >= options.maxSeconds;
  const history: EpochLogs[] = [];
  let best: { score: number; epoch: number; weights: Record<string, Float32Array> } | undefined;
  let stoppedBy: TrainResult['stoppedBy'] = 'epochs';
  let sinceBest = 0;
  let epoch = 0;
  // Row-sparse gradients are taken at the rows' up-to-date weights (see TrainableModel.currentRows).
  model.currentRows = (name, rows, w) => {
    const value = model.variables[name];
    if (value) optimizer.pendingRows(value, rows, w);
  };
  try {
    while (epoch < options.epochs) {
      epoch++;
      const t0 = performance.now();
      bar.startEpoch(epoch, options.batchesPerEpoch);
      let lossSum = 0;
      let n = 0;
      for (const batch of options.batches(epoch, outOfTime)) {
        const { loss, grads } = options.computeGradients
          ? await options.computeGradients(batch)
          : model.computeGradients(batch);
        if (!Number.isFinite(loss)) {
          // Diverged: every step from here would only spread NaN through the weights.
          for (const g of Object.values(grads)) disposeGradient(g);
          throw new InvalidOptionError(
            'learningRate',
            'a rate at which training does not diverge (try a tenth of it)',
            options.learningRate,
            `Training diverged: the loss of epoch ${epoch}, step ${n + 1} is ${loss}`,
          );
        }
        optimizer.apply(grads);
        average?.update();
        lossSum += loss;
        n++;
        bar.tick(loss);
      }
      optimizer.sync(); // row-sparse tables: every row as dense Adam has it, before anything reads them
      const logs: EpochLogs = { loss: n ? lossSum / n : Number.NaN, steps: n, seconds: 0 };
      if (options.validate) {
        // With averaging, the averaged weights are scored (and kept); the raw ones are put back after.
        const raw = average ? model.getWeights() : undefined;
        const averaged = average?.weights();
        if (averaged) model.setWeights(averaged);
        const score = await options.validate();
        const improved = !best || score > best.score;
        const scored = improved ? (averaged ?? model.getWeights()) : undefined;
        if (raw) model.setWeights(raw);
        logs.valNdcg10 = score;
        if (improved) {
          best = { score, epoch, weights: scored! };
          sinceBest = 0;
        } else {
          sinceBest++;
          if (options.plateauDecay !== undefined && options.plateauDecay !== 1)
            optimizer.scaleLearningRate(options.plateauDecay);
        }
      }
      logs.seconds = (performance.now() - t0) / 1000;
      history.push(logs);
      bar.endEpoch(
        `loss ${logs.loss.toFixed(4)}${logs.valNdcg10 !== undefined ? `, val NDCG@10 ${logs.valNdcg10.toFixed(4)}` : ''}, ${logs.seconds.toFixed(1)} s`,
      );
      await options.onEpochEnd?.(epoch, logs);
      if (best && sinceBest >= options.patience) {
        stoppedBy = 'patience';
        break;
      }
      if (outOfTime()) {
        stoppedBy = epoch < options.epochs ? 'maxSeconds' : 'epochs';
        break;
      }
    }
  } finally {
    model.currentRows = undefined;
    bar.stop();
    optimizer.dispose();
    if (average && !best) model.setWeights(average.weights()); // without validation: the last average
    average?.dispose();
  }
  // With averaging the model holds raw weights here, so the best (averaged) ones always go back.
  if (best && (average || best.epoch !== epoch)) model.setWeights(best.weights);
  return {
    epochs: epoch,
    bestEpoch: best ? best.epoch : epoch,
    ...(best ? { bestScore: best.score } : {}),
    stoppedBy,
    history,
  };
}

/** The moving average of a model's weights kept by {@link train} with `ema`. */
interface WeightAverage {
  update(): void;
  weights(): Record<string, Float32Array>;
  dispose(): void;
}

function createAverage<B>(model: TrainableModel<B>, ema: number): WeightAverage {
  const names = Object.keys(model.variables);
  const avg: Record<string, tf.Variable> = {};
  for (const name of names) avg[name] = tf.tidy(() => tf.variable(tf.clone(model.variables[name]!), false));
  let t = 0;
  return {
    update() {
      const d = Math.min(ema, (1 + t) / (10 + t));
      t++;
      tf.tidy(() => {
        for (const name of names) {
          const a = avg[name]!;
          a.assign(tf.add(tf.mul(a, d), tf.mul(model.variables[name]!, 1 - d)));
        }
      });
    },
    weights() {
      const out: Record<string, Float32Array> = {};
      for (const name of names) out[name] = Float32Array.from(avg[name]!.dataSync() as Float32Array);
      return out;
    },
    dispose() {
      for (const name of names) avg[name]!.dispose();
    },
  };
}
