// Next-item losses over hidden states and a shared item table: full softmax (chunked), sampled softmax, BCE, gBCE.
import { embeddingLookup, tf } from '../backend.js';
import { InvalidOptionError } from '../errors.js';
import { matMul2d } from './ops.js';

/** The training losses SASRec supports. */
export type LossName = 'ce' | 'sampled-softmax' | 'bce' | 'gbce';

/** All {@link LossName}s, for validation and help texts. */
export const LOSS_NAMES: readonly LossName[] = ['ce', 'sampled-softmax', 'bce', 'gbce'];

/** A loss option: a {@link LossName}, or `'auto'` to pick one from the catalogue size ({@link resolveLoss}). */
export type LossOption = LossName | 'auto';

/**
 * Largest catalogue for which `loss: 'auto'` trains with the full softmax (`'ce'`). The full softmax costs
 * `rows x items x dim` per step, sampled softmax `rows x negatives x dim` whatever the catalogue. Measured with
 * `bench/loss-cost.ts` (SASRec defaults, batches of 16 windows of 50, wasm, one thread): seconds per step
 * full vs sampled (1,024 negatives, row-sparse updates) 0.20 vs 0.20 at 5,000 tracks, 0.61 vs 0.21 at
 * 20,000 and 1.72 vs 0.26 at 50,000 (2026-11-27; with dense updates the sampled steps were 0.20, 0.22 and
 * 0.23 the day before). Up to 20,000 the exact loss costs at most ~3x per step; beyond it the output layer
 * dominates every epoch, growing linearly with the catalogue.
 *
 * @example
 * ```ts
 * resolveLoss('auto', AUTO_CE_MAX_ITEMS); // 'ce'
 * ```
 */
export const AUTO_CE_MAX_ITEMS = 20_000;

/**
 * Negatives per step when `loss: 'auto'` resolves to `'sampled-softmax'` (shared by the batch, drawn by
 * popularity, logQ-corrected): with a few thousand negatives sampled softmax is about as good as the full
 * softmax (Klenitskiy & Vasilev 2023), at a fixed cost per step whatever the catalogue size.
 *
 * @example
 * ```ts
 * const model = await SASRec.fit(lastfm, { loss: 'sampled-softmax', negatives: AUTO_SAMPLED_NEGATIVES });
 * ```
 */
export const AUTO_SAMPLED_NEGATIVES = 1024;

/**
 * Resolves a {@link LossOption} for a catalogue of `numItems` tracks: `'auto'` is `'ce'` up to `maxCeItems`
 * (default {@link AUTO_CE_MAX_ITEMS}) and `'sampled-softmax'` beyond it; any other name is returned as is.
 *
 * @example
 * ```ts
 * resolveLoss('auto', 4_000); // 'ce'
 * resolveLoss('auto', 300_000); // 'sampled-softmax'
 * resolveLoss('bce', 300_000); // 'bce'
 * ```
 */
export function resolveLoss(loss: LossOption, numItems: number, maxCeItems = AUTO_CE_MAX_ITEMS): LossName {
  if (loss !== 'auto' && !LOSS_NAMES.includes(loss))
    throw new InvalidOptionError(
      'loss',
      `'auto' or one of ${LOSS_NAMES.map((l) => `'${l}'`).join(', ')}`,
      loss,
    );
  if (!(Number.isInteger(numItems) && numItems >= 0))
    throw new InvalidOptionError('numItems', 'a track count (an integer >= 0)', numItems);
  if (loss !== 'auto') return loss;
  return numItems <= maxCeItems ? 'ce' : 'sampled-softmax';
}

/**
 * Per-row loss terms: `pos[m]` is the loss of row m's target as a positive (e.g. `-log p`), `unl[m]` the
 * unlikelihood term `-log(1 - p)` that pushes the target down (computed only when asked for).
 */
export interface LossTerms {
  pos: tf.Tensor1D;
  unl?: tf.Tensor1D;
}

/** Bytes one chunk of `[rows, items]` logits may take in {@link fullSoftmaxTerms} (default 64 MiB). */
export const DEFAULT_LOGITS_BUDGET_BYTES = 64 * 2 ** 20;

/**
 * Log-sum-exp over the last axis of `[N, C]` logits, with a hand-written gradient `dy * softmax(x)` (autodiff
 * of `tf.logSumExp` keeps several extra `[N, C]` tensors).
 *
 * @example
 * ```ts
 * const lse = logSumExp(tf.tensor2d([[0, Math.log(3)]])); // [log 4]
 * ```
 */
export function logSumExp(logits: tf.Tensor2D): tf.Tensor1D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    const max = tf.max(x, 1, true); // [N, 1]
    const shifted = tf.sub(x, max); // [N, C]
    const sumExp = tf.sum(tf.exp(shifted), 1, true); // [N, 1]
    const value = tf.add(tf.log(sumExp), max).reshape([-1]) as tf.Tensor1D; // [N]
    const p = tf.div(tf.exp(shifted), sumExp); // [N, C] softmax
    save([p]);
    return {
      value,
      gradFunc: (dy, saved) => [tf.mul((dy as tf.Tensor).reshape([-1, 1]), saved[0]!)],
    };
  });
  return f(logits) as tf.Tensor1D;
}

/**
 * Rows of `[rows, items]` logits per chunk so one chunk stays under `budgetBytes`. Throws
 * {@link InvalidOptionError} when even one row does not fit.
 *
 * @example
 * ```ts
 * ceChunkRows(4000, 64 * 2 ** 20); // 4194
 * ```
 */
export function ceChunkRows(numItems: number, budgetBytes = DEFAULT_LOGITS_BUDGET_BYTES): number {
  const rows = Math.floor(budgetBytes / (numItems * 4));
  if (rows < 1) {
    throw new InvalidOptionError(
      'loss',
      `a loss whose logits fit in memory: one row of full-softmax logits over ${numItems} items needs ${numItems * 4} bytes, over the ${budgetBytes}-byte chunk budget`,
      'ce',
      "Use loss: 'sampled-softmax'",
    );
  }
  return rows;
}

/**
 * `log sum_j exp(h_m · items_j)` for every row m of `h`, computed `chunkRows` rows at a time so no
 * `[N, items]` tensor larger than one chunk ever exists, forward or backward. The gradient recomputes each
 * chunk's softmax P and returns `dh = (dy * P) @ items` and `dItems = sum over chunks (dy * P)^T @ h`.
 * When everything fits in one chunk the forward softmax is kept instead of recomputed.
 *
 * @param h `[N, d]` hidden states.
 * @param items `[V, d]` output item embeddings.
 * @returns `[N]`.
 *
 * @example
 * ```ts
 * const lse = chunkedLogSumExp(h, items, 1024); // [N]
 * ```
 */
export function chunkedLogSumExp(h: tf.Tensor2D, items: tf.Tensor2D, chunkRows: number): tf.Tensor1D {
  const N = h.shape[0];
  const single = N <= chunkRows;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const hh = args[0] as tf.Tensor2D;
    const ee = args[1] as tf.Tensor2D;
    const save = args[2] as tf.GradSaveFunc;
    const eeT = tf.transpose(ee); // [d, V], so every product below is an untransposed matMul
    const parts: tf.Tensor1D[] = [];
    let kept: tf.Tensor2D | undefined;
    for (let s = 0; s < N; s += chunkRows) {
      const n = Math.min(chunkRows, N - s);
      const [part, p] = tf.tidy(() => {
        const hc = single ? hh : hh.slice([s, 0], [n, -1]); // [n, d]
        const logits = tf.matMul(hc, eeT); // [n, V]
        const max = tf.max(logits, 1, true); // [n, 1]
        const ex = tf.exp(tf.sub(logits, max)); // [n, V]
        const sum = tf.sum(ex, 1, true); // [n, 1]
        const lse = tf.add(tf.log(sum), max).reshape([-1]) as tf.Tensor1D; // [n]
        return single ? [lse, tf.div(ex, sum) as tf.Tensor2D] : [lse]; // softmax kept when it is the only chunk
      });
      parts.push(part as tf.Tensor1D);
      kept = p as tf.Tensor2D | undefined;
    }
    const value = parts.length === 1 ? parts[0]! : (tf.concat(parts) as tf.Tensor1D);
    save(kept ? [hh, ee, kept] : [hh, ee]);
    return {
      value,
      gradFunc: (dy, saved) => {
        const [hs, es, pSaved] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D | undefined];
        const dyc = (dy as tf.Tensor).reshape([-1, 1]); // [N, 1]
        if (pSaved) {
          const g = tf.mul(dyc, pSaved); // [N, V]
          return [tf.matMul(g, es), tf.transpose(tf.matMul(tf.transpose(hs), g))];
        }
        const esT = tf.transpose(es); // [d, V]
        const dhParts: tf.Tensor2D[] = [];
        let dET = tf.zeros([es.shape[1], es.shape[0]]) as tf.Tensor2D; // [d, V]
        for (let s = 0; s < N; s += chunkRows) {
          const n = Math.min(chunkRows, N - s);
          const [dh, next] = tf.tidy(() => {
            const hc = hs.slice([s, 0], [n, -1]); // [n, d]
            const g = tf.mul(dyc.slice([s, 0], [n, 1]), tf.softmax(tf.matMul(hc, esT))); // [n, V]
            return [tf.matMul(g, es), tf.add(dET, tf.matMul(tf.transpose(hc), g))] as [
              tf.Tensor2D,
              tf.Tensor2D,
            ];
          });
          dET.dispose();
          dET = next;
          dhParts.push(dh);
        }
        const dh = tf.concat(dhParts) as tf.Tensor2D;
        for (const p of dhParts) p.dispose();
        const dE = tf.transpose(dET);
        dET.dispose();
        esT.dispose();
        return [dh, dE];
      },
    };
  });
  return f(h, items) as tf.Tensor1D;
}

/** `-log(1 - exp(logp))`, the unlikelihood of a target with log-probability `logp` (clamped at p <= 1 - 1e-6). */
export function unlikelihood(logp: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.neg(tf.log1p(tf.neg(tf.exp(tf.minimum(logp, Math.log(1 - 1e-6)))))) as tf.Tensor1D);
}

/** Target logits `h_m · table[targets_m]`: `[M]`. */
function targetLogits(h: tf.Tensor2D, table: tf.Tensor2D, targets: tf.Tensor1D): tf.Tensor1D {
  const e = embeddingLookup(table, targets) as tf.Tensor2D; // [M, d]
  return tf.sum(tf.mul(h, e), 1) as tf.Tensor1D; // [M]
}

/**
 * Full softmax cross-entropy over items `1..V` of `table` (row 0 = padding is never a candidate):
 * `pos = logsumexp_j(h·E_j) - h·E_target`, via {@link chunkedLogSumExp}. With `withUnlikelihood`,
 * `unl = -log(1 - p_target)`.
 *
 * @param h `[M, d]`; @param table `[V + 1, d]`; @param targets `[M]` int32 ids in `1..V`.
 *
 * @example
 * ```ts
 * const { pos } = fullSoftmaxTerms(h, table, targets, { chunkRows: 2048 });
 * ```
 */
export function fullSoftmaxTerms(
  h: tf.Tensor2D,
  table: tf.Tensor2D,
  targets: tf.Tensor1D,
  options: { chunkRows?: number; withUnlikelihood?: boolean; history?: HistoryBias } = {},
): LossTerms {
  const V = table.shape[0] - 1;
  const chunkRows = options.chunkRows ?? ceChunkRows(V);
  const items = table.slice([1, 0], [V, -1]) as tf.Tensor2D; // [V, d]
  const lse = chunkedLogSumExp(h, items, chunkRows); // [M]
  const s = targetLogits(h, table, targets); // [M]
  const logp = options.history
    ? historyBiasedLogp(h, table, s, lse, options.history.tensors, options.history.coef)
    : (tf.sub(s, lse) as tf.Tensor1D); // [M]
  return {
    pos: tf.neg(logp) as tf.Tensor1D,
    ...(options.withUnlikelihood ? { unl: unlikelihood(logp) } : {}),
  };
}

/** History entries of a batch as tensors (see `SeqBatch.history`), `k` per target row. */
export interface HistoryTensors {
  /** `[M, k]` int32 tracks (0 = padding). */
  items: tf.Tensor2D;
  /** `[M, k]` 1 for a real entry. */
  mask: tf.Tensor2D;
  /** `[M, k]` 1 where the entry is its row's target. */
  isTarget: tf.Tensor2D;
  /** `[M, k, F]` features. */
  features: tf.Tensor3D;
}

/** A batch's history entries and each row's bias coefficients `[M, F]` (see {@link historyBiasedLogp}). */
export interface HistoryBias {
  tensors: HistoryTensors;
  coef: tf.Tensor2D;
}

/**
 * Log-probabilities of the targets when the tracks in each row's history get an additive bias
 * `b = coef[row] · features` on top of the base logits `h · E`. With `lse` the log normaliser of the base
 * logits (exact for full softmax, the sampled estimate for sampled softmax) and `g` the base logit of a
 * history entry, the normaliser becomes `Z = exp(lse) + sum_entries (exp(g + b) - exp(g))`, computed as
 * `lse + log(1 + sum exp(g + b - lse) - exp(g - lse))`.
 *
 * @param s `[M]` base logits of the targets. @param lse `[M]`. @param coef `[M, F]`.
 * @example
 * ```ts
 * const logp = historyBiasedLogp(h, table, s, lse, history, coef); // [M]
 * ```
 */
export function historyBiasedLogp(
  h: tf.Tensor2D,
  table: tf.Tensor2D,
  s: tf.Tensor1D,
  lse: tf.Tensor1D,
  history: HistoryTensors,
  coef: tf.Tensor2D,
): tf.Tensor1D {
  const [M, k] = history.items.shape;
  const d = h.shape[1];
  const F = coef.shape[1];
  if (k === 0) return tf.sub(s, lse) as tf.Tensor1D;
  const eK = embeddingLookup(table, history.items) as tf.Tensor3D; // [M, k, d]
  const g = tf.sum(tf.mul(eK, h.reshape([M, 1, d])), 2); // [M, k] base logits of the entries
  const bias = tf.mul(tf.sum(tf.mul(history.features, coef.reshape([M, 1, F])), 2), history.mask); // [M, k]
  const gl = tf.sub(g, lse.reshape([M, 1])); // [M, k], <= 0 up to rounding for full softmax
  const corr = tf.mul(tf.sub(tf.exp(tf.add(gl, bias)), tf.exp(gl)), history.mask); // [M, k]
  const logZ = tf.add(lse, tf.log(tf.maximum(tf.add(tf.sum(corr, 1), 1), 1e-6))); // [M]
  const targetBias = tf.sum(tf.mul(bias, history.isTarget), 1); // [M]
  return tf.sub(tf.add(s, targetBias), logZ) as tf.Tensor1D;
}

/**
 * Sampled softmax with `k` negatives shared by the batch, drawn with probabilities `q` (popularity).
 * logQ correction: each sampled logit becomes `h·E_j - log(k q_j)`, so the softmax over {target} ∪ samples
 * estimates the full softmax; a sampled item equal to the row's target (accidental hit) is removed
 * (logit -1e9). The target's own logit is not corrected.
 *
 * @param negatives `[k]` int32; @param logQ `[k]` float32 `log q_j` of each sampled item.
 *
 * @example
 * ```ts
 * const { pos } = sampledSoftmaxTerms(h, table, targets, negatives, logQ);
 * ```
 */
export function sampledSoftmaxTerms(
  h: tf.Tensor2D,
  table: tf.Tensor2D,
  targets: tf.Tensor1D,
  negatives: tf.Tensor1D,
  logQ: tf.Tensor1D,
  options: { withUnlikelihood?: boolean; history?: HistoryBias } = {},
): LossTerms {
  const k = negatives.shape[0];
  const s = targetLogits(h, table, targets); // [M]
  const en = embeddingLookup(table, negatives) as tf.Tensor2D; // [k, d]
  const hit = tf.cast(tf.equal(targets.reshape([-1, 1]), negatives.reshape([1, -1])), 'float32'); // [M, k]
  const negLogits = tf.sub(
    tf.sub(matMul2d(h, en, true), tf.add(logQ, Math.log(k)).reshape([1, -1])),
    tf.mul(hit, 1e9),
  ); // [M, k]
  const logits = tf.concat([s.reshape([-1, 1]), negLogits], 1) as tf.Tensor2D; // [M, 1 + k]
  const lse = logSumExp(logits); // [M]
  const logp = options.history
    ? historyBiasedLogp(h, table, s, lse, options.history.tensors, options.history.coef)
    : (tf.sub(s, lse) as tf.Tensor1D); // [M]
  return {
    pos: tf.neg(logp) as tf.Tensor1D,
    ...(options.withUnlikelihood ? { unl: unlikelihood(logp) } : {}),
  };
}

/**
 * gBCE's exponent on the positive probability: `beta = alpha * (t * (1 - 1/alpha) + 1/alpha)` with
 * `alpha = k / (items - 1)`. `t = 0` gives 1 (plain BCE), `t = 1` gives alpha. `alpha` is capped at 1: with
 * at least as many negatives as other items there is no sampling to correct for (gSASRec assumes
 * k < items - 1), and above 1 the exponent would exceed plain BCE's.
 *
 * @example
 * ```ts
 * gbceBeta(256, 4001, 0.75); // ≈ 0.298
 * ```
 */
export function gbceBeta(k: number, numItems: number, t: number): number {
  const alpha = Math.min(1, k / Math.max(1, numItems - 1));
  return alpha * (t * (1 - 1 / alpha) + 1 / alpha);
}

/**
 * Binary cross-entropy with negatives: `pos = beta * softplus(-s_target) + sum_j softplus(s_neg_j)` (the
 * positive's probability raised to `beta`; beta = 1 is the paper's BCE). Negatives are `[M * k]` per row
 * or `[k]` shared; shared negatives equal to a row's target are left out of that row. The unlikelihood term
 * is `-log(1 - sigmoid(s_target)) = softplus(s_target)`.
 *
 * @example
 * ```ts
 * const { pos } = binaryTerms(h, table, targets, negatives, { shared: false, beta: 1 }); // the paper's loss
 * ```
 */
export function binaryTerms(
  h: tf.Tensor2D,
  table: tf.Tensor2D,
  targets: tf.Tensor1D,
  negatives: tf.Tensor1D,
  options: { shared: boolean; beta: number; withUnlikelihood?: boolean },
): LossTerms {
  const M = h.shape[0];
  const s = targetLogits(h, table, targets); // [M]
  let negLoss: tf.Tensor1D;
  if (options.shared) {
    const en = embeddingLookup(table, negatives) as tf.Tensor2D; // [k, d]
    const keep = tf.cast(tf.notEqual(targets.reshape([-1, 1]), negatives.reshape([1, -1])), 'float32'); // [M, k]
    negLoss = tf.sum(tf.mul(tf.softplus(matMul2d(h, en, true)), keep), 1) as tf.Tensor1D; // [M]
  } else {
    const k = negatives.shape[0] / Math.max(1, M);
    const en = embeddingLookup(table, negatives.reshape([M, k])) as tf.Tensor3D; // [M, k, d]
    const negLogits = tf.sum(tf.mul(h.reshape([M, 1, -1]), en), 2); // [M, k]
    negLoss = tf.sum(tf.softplus(negLogits), 1) as tf.Tensor1D; // [M]
  }
  const pos = tf.add(tf.mul(tf.softplus(tf.neg(s)), options.beta), negLoss) as tf.Tensor1D;
  return { pos, ...(options.withUnlikelihood ? { unl: tf.softplus(s) as tf.Tensor1D } : {}) };
}

/**
 * The batch loss: `(sum_m w_m * pos_m + sum_m u_m * unl_m) / count`, where `w` are per-target weights
 * (rewards; 1 = plain loss), `u` marks targets pushed down, and `count` is the number of target rows. With
 * all weights 1 and no `u` it is exactly the mean of `pos`.
 *
 * @example
 * ```ts
 * const loss = weightedLoss(terms, tf.ones([m]), undefined, m);
 * ```
 */
export function weightedLoss(
  terms: LossTerms,
  weights: tf.Tensor1D,
  unlikely: tf.Tensor1D | undefined,
  count: number,
): tf.Scalar {
  let total = tf.sum(tf.mul(terms.pos, weights));
  if (terms.unl && unlikely) total = tf.add(total, tf.sum(tf.mul(terms.unl, unlikely)));
  return tf.div(total, Math.max(1, count)) as tf.Scalar;
}
