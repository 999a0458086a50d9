"""Batch norm for the training step, with its per-channel sums of products taken by oneDNN.

A batch norm's training pass needs two sums of products per channel over batch, height and
width: sum((x - mean)^2) for the variance and sum(dy * (x - mean)) for the scale's gradient.
XLA's CPU compiler writes each product out in full and reduces it as a tree (its
``TreeReductionRewriter``), two passes over memory where one would do. The weight gradient of a
1x1 depthwise convolution is the same sum, and oneDNN computes it reading both inputs once
(the training step's speed-up: README, Benchmarks). The other sums and the elementwise work
stay with XLA's fusion. The model keeps Keras' layers: only the training step's graph is traced
with this op, as for Winograd, so checkpoints, evaluation and exports are unchanged.
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


def batch_norm_training(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor,
                        epsilon: float) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Batch-normalises NHWC ``x`` with its own statistics; returns the output and the batch
    mean and (biased) variance, as Keras' layer computes them, for the moving averages. The
    gradient is written out: two sums per channel instead of the five TensorFlow derives."""

    @tf.custom_gradient
    def normalise(x, gamma, beta):
        count = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), x.dtype)
        mean = tf.reduce_sum(x, [0, 1, 2]) / count
        centred = x - mean
        variance = channel_dot(centred, centred) / count
        inv_std = tf.math.rsqrt(variance + epsilon)
        scale = inv_std * gamma
        outputs = centred * scale + beta

        def grad(d_outputs, d_mean, d_variance):
            # d_mean and d_variance are zero: the moving averages take them under stop_gradient.
            d_beta = tf.reduce_sum(d_outputs, [0, 1, 2])
            d_centred = channel_dot(centred, d_outputs)
            d_x = scale * (d_outputs - (centred * (inv_std * inv_std * d_centred) + d_beta)
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
