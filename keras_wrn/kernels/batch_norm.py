"""Batch norm for the training step, with its per-channel sums taken by oneDNN in one pass.

A batch norm's training pass needs four per-channel sums over batch, height and width: of x
and of x^2 for the statistics, of dy and of dy * x for the gradient. XLA's CPU compiler writes
each product out in full and reduces it as a tree (its ``TreeReductionRewriter``), and the
textbook two-pass variance writes x - mean out before summing its square. Here the sums of
products are the weight gradient of a 1x1 depthwise convolution and the plain sums an average
pool, both oneDNN kernels that read their inputs once and run side by side, outside XLA's
clusters; only the elementwise work is left to XLA's fusion (the training step's speed-up:
README, Benchmarks). The variance is E[x^2] - mean^2, as Flax's ``use_fast_variance``, except
where the mean is so large against the spread that float32 would lose digits: there the sums
are taken around the mean. The model keeps Keras' layers: only the training step's graph is
traced with this op, as for Winograd, so checkpoints, evaluation and exports are unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager

import keras
import tensorflow as tf

from keras_wrn.kernels.swap import swapped
from keras_wrn.models.walk import chosen_layers


def channel_dot(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Per-channel sum of ``a * b`` over the batch, height and width of two NHWC tensors: the
    weight gradient of a 1x1 depthwise convolution, which oneDNN computes in one pass."""
    channels = a.shape[-1]
    gradient = tf.raw_ops.DepthwiseConv2dNativeBackpropFilter(
        input=a, filter_sizes=[1, 1, channels, 1], out_backprop=b, strides=[1, 1, 1, 1],
        padding="VALID")
    return tf.reshape(gradient, [channels])


def channel_mean(x: tf.Tensor) -> tf.Tensor:
    """Per-channel mean of an NHWC tensor over batch, height and width: oneDNN's average pool
    over each whole image, then the small mean over the batch. Left out of XLA's clusters, it
    runs beside :func:`channel_dot` on the same input."""
    height, width = x.shape[1:3]
    if height is None or width is None:
        return tf.reduce_mean(x, [0, 1, 2])
    return tf.reduce_mean(tf.nn.avg_pool2d(x, (height, width), 1, "VALID"), [0, 1, 2])


# Past this ratio of mean^2 to variance in any channel, E[x^2] - mean^2 would keep fewer than
# about five of float32's seven digits, so the batch norm sums around the mean instead.
ONE_PASS_LIMIT = 100.0


def batch_norm_training(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor,
                        epsilon: float) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Batch-normalises NHWC ``x`` with its own statistics; returns the output and the batch
    mean and (biased) variance, as Keras' layer computes them, for the moving averages. The
    gradient is written out: two sums per channel instead of the five TensorFlow derives."""

    @tf.custom_gradient
    def normalise(x, gamma, beta):
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), x.dtype)
        mean = channel_mean(x)
        one_pass_variance = channel_dot(x, x) / count - mean * mean
        around_mean = tf.reduce_any(mean * mean > ONE_PASS_LIMIT * one_pass_variance)
        variance = tf.cond(around_mean,
                           lambda: channel_dot(x - mean, x - mean) / count,
                           lambda: tf.maximum(one_pass_variance, 0.0))
        inv_std = tf.math.rsqrt(variance + epsilon)
        scale = inv_std * gamma
        outputs = (x - mean) * scale + beta

        def grad(d_outputs, d_mean, d_variance):
            # d_mean and d_variance are zero: the moving averages take them under stop_gradient.
            d_beta = channel_mean(d_outputs) * count
            d_centred = tf.cond(around_mean,  # sum(dy * (x - mean))
                                lambda: channel_dot(x - mean, d_outputs),
                                lambda: channel_dot(x, d_outputs) - mean * d_beta)
            d_x = scale * (d_outputs - ((x - mean) * (inv_std * inv_std * d_centred) + d_beta)
                           / count)
            return d_x, d_centred * inv_std, d_beta

        return (outputs, mean, variance), grad

    return normalise(x, gamma, beta)


def batch_norm_eligible(layer: keras.layers.Layer) -> bool:
    """A float32 Keras BatchNormalization over the channels of an NHWC input, with scale and
    offset, not synchronized across replicas and without renorm."""
    if type(layer) is not keras.layers.BatchNormalization or layer.compute_dtype != "float32":
        return False
    if layer.synchronized or layer.renorm or not (layer.scale and layer.center):
        return False
    try:
        shape = layer.input.shape
    except (AttributeError, ValueError):  # never called on a symbolic input
        return False
    return len(shape) == 4 and layer.axis % 4 == 3


def batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    """The batch norms of ``model`` (nested models and residual branches opened, each once)
    that the training step computes with :func:`batch_norm_training`."""
    return chosen_layers(model, batch_norm_eligible)


def _training_call(layer: keras.layers.BatchNormalization):
    """The swapped-in ``call`` of ``layer``: :func:`batch_norm_training` and Keras' update of
    the moving statistics when training, Keras' own call otherwise (inference, or a mask)."""
    own = layer.call

    def call(inputs, training=None, mask=None):
        if not (training and layer.trainable) or mask is not None:
            return own(inputs, training=training, mask=mask)
        outputs, mean, variance = batch_norm_training(
            inputs, tf.convert_to_tensor(layer.gamma), tf.convert_to_tensor(layer.beta),
            layer.epsilon)
        momentum = layer.momentum
        layer.moving_mean.assign(layer.moving_mean * momentum
                                 + tf.stop_gradient(mean) * (1.0 - momentum))
        layer.moving_variance.assign(layer.moving_variance * momentum
                                     + tf.stop_gradient(variance) * (1.0 - momentum))
        return outputs

    return call


def onednn_batch_norms(
        layers: Sequence[keras.layers.BatchNormalization]) -> AbstractContextManager[None]:
    """Within the block, ``layers`` normalise with :func:`batch_norm_training` when training:
    wrap the tracing of a training step. Afterwards each layer's own ``call`` is back."""
    return swapped(layers, "call", _training_call)
