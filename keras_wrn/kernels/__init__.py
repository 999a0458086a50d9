"""Kernels the training step can use in place of TensorFlow's own: Winograd convolutions, batch
norms whose per-channel sums run on oneDNN, and XLA fusion of the elementwise ops."""

from keras_wrn.kernels.batch_norm import (
    batch_norm_eligible,
    batch_norm_layers,
    batch_norm_training,
    onednn_batch_norms,
)
from keras_wrn.kernels.fusion import (
    XLA_FUSION_FLAGS,
    enable_xla_fusion,
    use_xla_fusion,
    xla_fusion_applies,
)
from keras_wrn.kernels.selection import (
    prefers_winograd,
    winograd_convolutions,
    winograd_eligible,
    winograd_layers,
)
from keras_wrn.kernels.winograd import winograd_conv2d

__all__ = [
    "XLA_FUSION_FLAGS",
    "batch_norm_eligible",
    "batch_norm_layers",
    "batch_norm_training",
    "enable_xla_fusion",
    "onednn_batch_norms",
    "prefers_winograd",
    "use_xla_fusion",
    "winograd_conv2d",
    "winograd_convolutions",
    "winograd_eligible",
    "winograd_layers",
    "xla_fusion_applies",
]
