"""Parameter-free shortcut that widens a tensor with zero channels: appended (PyramidNet,
ResNet option A) or split before and after (ResNet option A as many PyTorch ports write it)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_wrn")
class ChannelZeroPad(keras.layers.Layer):
    """Appends ``pad`` zero-valued channels on the last axis (channels-last), after ``before``
    zero channels put in front."""

    def __init__(self, pad: int, before: int = 0, **kwargs):
        super().__init__(**kwargs)
        if pad < 0 or before < 0:
            raise ValueError(f"ChannelZeroPad pads must be >= 0, got {pad} and {before}.")
        self.pad = int(pad)
        self.before = int(before)

    def call(self, inputs):
        if self.pad == 0 and self.before == 0:
            return inputs
        widths = [[0, 0]] * (len(inputs.shape) - 1) + [[self.before, self.pad]]
        return ops.pad(inputs, widths)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return (*tuple(input_shape[:-1]),
                None if channels is None else channels + self.before + self.pad)

    def get_config(self) -> dict:
        config = super().get_config()
        config["pad"] = self.pad
        config["before"] = self.before
        return config
