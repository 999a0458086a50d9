"""CPU kernels the training step can use in place of TensorFlow's own: Winograd convolutions and
batch norms whose per-channel sums run on oneDNN (the runtime plan turns them on for CPUs)."""

from keras_wrn.kernels.batch_norm import (
    batch_norm_eligible,
    batch_norm_layers,
    batch_norm_training,
    onednn_batch_norms,
)
from keras_wrn.kernels.selection import (
    onednn_avx512,
    prefers_winograd,
    winograd_convolutions,
    winograd_eligible,
    winograd_layers,
)
from keras_wrn.kernels.winograd import winograd_conv2d

__all__ = [
    "batch_norm_eligible",
    "batch_norm_layers",
    "batch_norm_training",
    "onednn_avx512",
    "onednn_batch_norms",
    "prefers_winograd",
    "winograd_conv2d",
    "winograd_convolutions",
    "winograd_eligible",
    "winograd_layers",
]
