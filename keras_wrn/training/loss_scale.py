"""Dynamic loss scaling for fp16 that keeps the replicas in step."""

from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_wrn")
class ReplicaSyncedLossScaleOptimizer(keras.optimizers.LossScaleOptimizer):
    """Keras' ``LossScaleOptimizer`` with its inf/NaN check all-reduced over the replicas.

    Keras 3 checks only the gradients it is handed, which in a ``strategy.run`` step are the
    local replica's (the all-reduce happens later, inside the inner optimizer): an overflow on
    one replica then let the others apply it, so the weights became inf while the scale stayed.
    Here every replica sees the same verdict, so all skip the step and halve the scale together.
    """

    def check_finite(self, grads):
        finite = super().check_finite(grads)
        context = tf.distribute.get_replica_context()
        if context is None or context.num_replicas_in_sync == 1:
            return finite
        overflows = context.all_reduce(tf.distribute.ReduceOp.SUM, tf.cast(~finite, tf.float32))
        return overflows == 0.0
