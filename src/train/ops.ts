// Matrix products whose forward and backward passes avoid transposed matMul kernels (10x slower on wasm).
import { tf } from '../backend.js';

/**
 * `a @ b` (or `a @ b^T` with `transposeB`) for 2-D tensors. The wasm backend multiplies up to ten times
 * slower when either operand is flagged as transposed, and autodiff of `tf.matMul` produces exactly such
 * products; here every product, forward and backward, runs on explicitly transposed copies instead.
 *
 * @param a `[N, K]`. @param b `[K, M]`, or `[M, K]` with `transposeB`.
 * @returns `[N, M]`.
 *
 * @example
 * ```ts
 * const logits = matMul2d(h, itemTable, true); // [N, items] = h @ itemTable^T
 * ```
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D, transposeB = false): tf.Tensor2D {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor2D;
    const y = args[1] as tf.Tensor2D;
    const save = args[2] as tf.GradSaveFunc;
    save([x, y]);
    return {
      value: tf.matMul(x, transposeB ? tf.transpose(y) : y),
      gradFunc: (dy, saved) => {
        const [xs, ys] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D; // [N, M]
        const dx = tf.matMul(g, transposeB ? ys : tf.transpose(ys)); // [N, K]
        const dyT = tf.matMul(tf.transpose(xs), g); // [K, M] = gradient of y (or of y^T)
        return [dx, transposeB ? tf.transpose(dyT) : dyT];
      },
    };
  });
  return f(a, b) as tf.Tensor2D;
}
