"""Parameter-free shortcut that widens a tensor by appending zero channels (PyramidNet,
ResNet option A)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_wrn")
class ChannelZeroPad(keras.layers.Layer):
    """Appends ``pad`` zero-valued channels on the last axis (channels-last)."""

    def __init__(self, pad: int, **kwargs):
        super().__init__(**kwargs)
        if pad < 0:
            raise ValueError(f"ChannelZeroPad pad must be >= 0, got {pad}.")
        self.pad = int(pad)

    def call(self, inputs):
        if self.pad == 0:
            return inputs
        widths = [[0, 0]] * (len(inputs.shape) - 1) + [[0, self.pad]]
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return (*tuple(input_shape[:-1]), None if channels is None else channels + self.pad)

    def get_config(self) -> dict:
        config = super().get_config()
        config["pad"] = self.pad
        return config
