"""The convolution floor of a training step: every Conv2D of a model timed alone, forward,
backward-data and backward-weights, at the step's batch size.

The sum is what one training step costs in convolution kernels alone (oneDNN's on a CPU), so
``conv time / step time`` is the share of the step only a faster kernel can win back.
"""

from __future__ import annotations

import collections
from collections.abc import Callable

import keras
import tensorflow as tf

from keras_wrn.benchmark.timing import median_rate
from keras_wrn.models.walk import leaf_layers

PASSES = ("forward", "backward_data", "backward_weights")


def conv_shapes(model: keras.Model) -> collections.Counter:
    """``(input HWC, filters, kernel, stride, padding, needs_input_gradient)`` -> count."""
    # A conv before any trainable layer (the stem) gets no input gradient in training.
    shapes: collections.Counter = collections.Counter()
    seen_trainable = False
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2D):
            if layer.data_format != "channels_last" or tuple(layer.dilation_rate) != (1, 1):
                raise ValueError(f"{layer.name}: only channels-last undilated convs are timed.")
            key = (tuple(int(d) for d in layer.input.shape[1:]), layer.filters,
                   tuple(layer.kernel_size), tuple(layer.strides), layer.padding.upper(),
                   seen_trainable)
            shapes[key] += 1
        seen_trainable = seen_trainable or bool(layer.trainable_weights)
    return shapes


def _passes(hwc: tuple, filters: int, kernel: tuple, strides: tuple, padding: str,
            grad_input: bool, batch_size: int) -> dict[str, Callable[[], tf.Tensor]]:
    """One tf.function per pass of one conv shape, on random data."""
    x = tf.random.normal((batch_size, *hwc))
    w = tf.random.normal((*kernel, hwc[-1], filters))
    dy = tf.random.normal(tf.nn.conv2d(x, w, strides, padding).shape)
    stride4 = [1, *strides, 1]
    passes = {
        "forward": lambda: tf.nn.conv2d(x, w, strides, padding),
        "backward_weights": lambda: tf.raw_ops.Conv2DBackpropFilter(
            input=x, filter_sizes=w.shape, out_backprop=dy, strides=stride4, padding=padding),
    }
    if grad_input:
        passes["backward_data"] = lambda: tf.raw_ops.Conv2DBackpropInput(
            input_sizes=x.shape, filter=w, out_backprop=dy, strides=stride4, padding=padding)
    # Reading one element makes the timer wait for the op without copying its output.
    return {name: tf.function(lambda fn=fn: fn()[0, 0, 0, 0]) for name, fn in passes.items()}


def conv_seconds(model: keras.Model, batch_size: int, repeats: int = 3) -> dict[str, float]:
    """Seconds per training step spent in each pass of ``model``'s convolutions, each op timed
    alone on random data (median of ``repeats``), plus their ``total``."""
    totals = dict.fromkeys(PASSES, 0.0)
    for shape, count in conv_shapes(model).items():
        for name, fn in _passes(*shape, batch_size).items():
            calls_per_s, _ = median_rate(lambda fn=fn: fn().numpy(), 1, windows=repeats,
                                         calls_per_window=1, warmup=1)
            totals[name] += count / calls_per_s
    totals["total"] = sum(totals[name] for name in PASSES)
    return totals
