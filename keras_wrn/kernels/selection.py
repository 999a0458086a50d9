"""Which convolutions of a model the training step computes with Winograd, and the swap itself.

The model keeps its Keras ``Conv2D`` layers: only the graph of the training step is traced with
the Winograd op, so checkpoints, evaluation and exports are unchanged.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from contextlib import AbstractContextManager

import keras
import tensorflow as tf

from keras_wrn.core.cpu import cpu_flags
from keras_wrn.kernels.swap import swapped
from keras_wrn.kernels.winograd import fits_tiles, winograd_conv2d
from keras_wrn.models.walk import chosen_layers

# oneDNN's AVX-512 kernels (its avx512_core: F, BW, VL and DQ) and the values of
# ONEDNN_MAX_CPU_ISA that keep it below them.
AVX512_CORE = frozenset({"avx512f", "avx512bw", "avx512vl", "avx512dq"})
BELOW_AVX512 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2")


@functools.cache
def onednn_avx512() -> bool:
    """Whether oneDNN runs its AVX-512 convolutions here: the CPU has AVX-512 F, BW, VL and DQ,
    and ``ONEDNN_MAX_CPU_ISA`` (or the older ``DNNL_MAX_CPU_ISA``) does not cap it lower."""
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    return cap.upper() not in BELOW_AVX512 and cpu_flags() >= AVX512_CORE


def prefers_winograd(height: int, width: int, in_channels: int, out_channels: int,
                     avx512: bool | None = None) -> bool:
    """Where F(4x4, 3x3) beat oneDNN, forward plus both gradients at batch 128 (``python
    apps/benchmark.py winograd``), for the kernels oneDNN runs (``avx512``, default
    :func:`onednn_avx512`). With AVX2: from 96 channels, and from 64 on images of 16x16 or
    less. oneDNN's AVX-512 kernels are faster, so from 256 channels, and from 128 on 16x16 or
    less. Narrower convolutions are bound by the tile transforms' memory traffic."""
    channels = min(in_channels, out_channels)
    small = height * width <= 256
    if onednn_avx512() if avx512 is None else avx512:
        return channels >= 256 or (channels >= 128 and small)
    return channels >= 96 or (channels >= 64 and small)


def winograd_eligible(layer: keras.layers.Layer) -> bool:
    """A float32, channels-last, 'same' 3x3 stride-1 undilated ungrouped Conv2D on a static
    image size in whole 4x4 tiles, that :func:`prefers_winograd`."""
    if type(layer) is not keras.layers.Conv2D or layer.compute_dtype != "float32":
        return False
    if (tuple(layer.kernel_size) != (3, 3) or tuple(layer.strides) != (1, 1)
            or tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1
            or layer.padding != "same" or layer.data_format != "channels_last"):
        return False
    try:
        height, width, channels = layer.input.shape[1:]
    except (AttributeError, ValueError):  # never called on a symbolic input
        return False
    if not fits_tiles(height, width):
        return False
    return prefers_winograd(height, width, channels, layer.filters)


def winograd_layers(model: keras.Model) -> list[keras.layers.Conv2D]:
    """The convolutions of ``model`` (nested models and residual branches opened, each once)
    that the training step should compute with Winograd."""
    return chosen_layers(model, winograd_eligible)


def _winograd_op(inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """The swapped-in ``Conv2D.convolution_op``; a call at a size not in whole 4x4 tiles (a
    shared layer reused at another size) keeps TensorFlow's conv."""
    if not fits_tiles(*inputs.shape[1:3]):
        return tf.nn.conv2d(inputs, kernel, 1, "SAME")
    return winograd_conv2d(inputs, tf.convert_to_tensor(kernel))


def winograd_convolutions(layers: Sequence[keras.layers.Conv2D]) -> AbstractContextManager[None]:
    """Within the block, ``layers`` convolve with :func:`winograd_conv2d`: wrap the tracing of a
    training step. Afterwards each layer's own ``convolution_op`` is back."""
    return swapped(layers, "convolution_op", lambda _: _winograd_op)
