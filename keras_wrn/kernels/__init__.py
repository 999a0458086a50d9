"""Convolution kernels the training step can use in place of TensorFlow's own."""

from keras_wrn.kernels.selection import (
    prefers_winograd,
    winograd_convolutions,
    winograd_eligible,
    winograd_layers,
)
from keras_wrn.kernels.winograd import winograd_conv2d

__all__ = ["prefers_winograd", "winograd_conv2d", "winograd_convolutions", "winograd_eligible",
           "winograd_layers"]
