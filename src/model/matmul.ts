/**
 * matMul with a gradient that never asks the backend for a transposed product.
 *
 * tfjs's gradient of matMul computes dA = dC·Bᵀ and dB = Aᵀ·dC with the transposeA/transposeB flags. On the
 * WASM backend (XNNPACK) a flagged product runs about 10× slower than a plain one (measured here on
 * [7680×32]ᵀ·[7680×96]: 34 ms vs 2.8 ms), so the backward pass dominated a training step. Transposing
 * explicitly and multiplying plainly gives the same values on every backend and is far faster on WASM.
 */
import { tf } from './tf.ts';

function t(x: tf.Tensor): tf.Tensor {
  return x.rank === 2 ? x.transpose() : x.transpose([0, 2, 1]);
}

const plainGradMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [
        tf.matMul(dy as tf.Tensor3D, t(sb) as tf.Tensor3D),
        tf.matMul(t(sa) as tf.Tensor3D, dy as tf.Tensor3D),
      ];
    },
  };
});

/** a·b for rank-2 [M,K]·[K,N] or rank-3 batched [n,M,K]·[n,K,N]; same rank on both sides. */
export function mm<T extends tf.Tensor2D | tf.Tensor3D>(a: T, b: T): T {
  return (plainGradMatMul as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor)(a, b) as T;
}

export { t as swapLastAxes };
