"""Stochastic depth (Huang et al. 2016) and its separated variant (Yamada, Iwamura & Kise 2016).

Both layers multiply a residual branch by Bernoulli gates while training and by the survival
probability ``1 - rate`` at inference, so the inference graph is deterministic and equals the
expectation of the training graph.
"""

from __future__ import annotations

import keras
from keras import ops

DROP_MODES = ("batch", "sample")


@keras.saving.register_keras_serializable(package="keras_wrn")
class StochasticDepth(keras.layers.Layer):
    """Drops a whole residual branch with probability ``rate``.

    ``mode="batch"`` draws one gate per mini-batch (as the papers do); ``mode="sample"`` draws
    one gate per example. Apply it to the branch output, before the addition to the shortcut.
    """

    def __init__(self, rate: float = 0.0, mode: str = "batch", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= rate < 1.0:
            raise ValueError(f"StochasticDepth rate must be in [0, 1), got {rate}.")
        if mode not in DROP_MODES:
            raise ValueError(f"StochasticDepth mode must be one of {DROP_MODES}, got {mode!r}.")
        self.rate = float(rate)
        self.mode = mode
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def _gate_shape(self, inputs) -> tuple:
        """Shape of one gate group: () per batch, (B, 1, ..., 1) per sample."""
        if self.mode == "batch":
            return (1,) * len(inputs.shape)
        return (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)

    def _bernoulli(self, shape):
        keep = 1.0 - self.rate
        draw = keras.random.uniform(shape, seed=self.seed_generator, dtype="float32")
        return ops.cast(draw < keep, self.compute_dtype)

    def _training_gates(self, inputs):
        return self._bernoulli(self._gate_shape(inputs))

    def call(self, inputs, training=None):
        if self.rate == 0.0:
            return inputs
        if not training:
            return inputs * ops.cast(1.0 - self.rate, self.compute_dtype)
        return inputs * self._training_gates(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"rate": self.rate, "mode": self.mode, "seed": self.seed})
        return config


@keras.saving.register_keras_serializable(package="keras_wrn")
class SeparatedStochasticDepth(StochasticDepth):
    """PyramidSepDrop gate: the branch's first ``shared_channels`` channels (those added to the
    input channels of the shortcut) and the remaining new channels are dropped by two independent
    Bernoulli draws with the same ``rate``.
    """

    def __init__(self, rate: float = 0.0, shared_channels: int = 0, mode: str = "batch",
                 seed: int | None = None, **kwargs):
        super().__init__(rate=rate, mode=mode, seed=seed, **kwargs)
        if shared_channels < 0:
            raise ValueError(f"shared_channels must be >= 0, got {shared_channels}.")
        self.shared_channels = int(shared_channels)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and self.shared_channels > channels:
            raise ValueError(
                f"shared_channels={self.shared_channels} exceeds the branch's {channels} channels."
            )
        super().build(input_shape)

    def _training_gates(self, inputs):
        channels = inputs.shape[-1]
        shape = self._gate_shape(inputs)
        shared = self._bernoulli(shape)
        new = self._bernoulli(shape)
        ndim = len(inputs.shape)
        group_shape = (1,) * (ndim - 1)
        shared_mask = ops.concatenate(
            [ops.ones((*group_shape, self.shared_channels), self.compute_dtype),
             ops.zeros((*group_shape, channels - self.shared_channels), self.compute_dtype)],
            axis=-1,
        )
        return shared * shared_mask + new * (1.0 - shared_mask)

    def get_config(self) -> dict:
        config = super().get_config()
        config["shared_channels"] = self.shared_channels
        return config
