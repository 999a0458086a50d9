"""Stochastic depth (Huang et al. 2016) and its separated variant (Yamada, Iwamura & Kise 2016).

The gate layers multiply a residual branch by Bernoulli gates while training and by the survival
probability ``1 - rate`` at inference, so the inference graph is deterministic and equals the
expectation of the training graph. `StochasticResidual` holds a branch and its gate, so that
under the TensorFlow backend a branch dropped for the whole batch is not computed at all, forward
or backward (Huang et al.'s training speed-up), not only multiplied by zero. The layers use
keras.ops only and run on every Keras backend; TensorFlow is imported only under its own backend.
"""

from __future__ import annotations

import keras
from keras import ops

from keras_wrn.layers.modes import DROP_MODES


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

    def training_gates(self, inputs):
        """One training draw of the gates for ``inputs`` (only their shape is read); they
        broadcast against ``inputs``."""
        return self._bernoulli(self._gate_shape(inputs))

    def call(self, inputs, training=None):
        if self.rate == 0.0:
            return inputs
        if not training:
            return inputs * ops.cast(1.0 - self.rate, self.compute_dtype)
        return inputs * self.training_gates(inputs)

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

    def training_gates(self, inputs):
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


@keras.saving.register_keras_serializable(package="keras_wrn")
class StochasticResidual(keras.layers.Layer):
    """``shortcut + gate(branch(x))`` for inputs ``[shortcut, x]``, where ``branch`` is a model
    and ``gate`` a (Separated)StochasticDepth layer.

    In training with ``mode="batch"`` the gates are drawn first and, when every gate is 0, the
    branch is not run (a ``cond``: no forward, no backward, no batch-norm update, as in the
    papers' Torch code). Per-sample gates cannot skip work; they and inference use the gate as is.
    With several replicas (Mirrored, MultiWorkerMirrored) the branch is multiplied by its gate
    instead: TF cannot run the cross-replica sum of a synchronized batch norm inside a cond
    ("merge_call called while defining a new graph"). The replicas draw the same gates as a
    one-device run, but a dropped branch still runs and updates its batch-norm moving statistics.
    The training step on a GPU multiplies too (``skip_dropped`` swapped to False while it is
    traced): a cond's predicate computed on the device makes the host wait for it. Every backend
    other than TensorFlow always multiplies: the skip is a TF-graph speed-up, and JAX's cond
    cannot hold the branch's batch-norm updates (its branches must be free of side effects).
    """

    skip_dropped = True  # the runtime plan's choice, not part of the layer's configuration

    def __init__(self, branch: keras.Model, gate: StochasticDepth, **kwargs):
        super().__init__(**kwargs)
        self.branch = branch
        self.gate = gate

    def build(self, input_shape):
        shortcut_shape, branch_shape = input_shape
        if not self.branch.built:
            self.branch.build(branch_shape)
        if not self.gate.built:
            self.gate.build(shortcut_shape)
        self.built = True

    def call(self, inputs, training=None):
        shortcut, x = inputs
        if (not training or self.gate.mode != "batch" or not self.skip_dropped
                or keras.backend.backend() != "tensorflow" or _replicas_in_sync() > 1):
            return shortcut + self.gate(self.branch(x, training=training), training=training)
        gates = self.gate.training_gates(shortcut)
        return ops.cond(
            ops.any(gates > 0),
            lambda: shortcut + self.branch(x, training=True) * gates,
            lambda: shortcut,
        )

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        config = super().get_config()
        config.update({"branch": keras.saving.serialize_keras_object(self.branch),
                       "gate": keras.saving.serialize_keras_object(self.gate)})
        return config

    @classmethod
    def from_config(cls, config: dict) -> StochasticResidual:
        config = dict(config)
        config["branch"] = keras.saving.deserialize_keras_object(config["branch"])
        config["gate"] = keras.saving.deserialize_keras_object(config["gate"])
        return cls(**config)


def _replicas_in_sync() -> int:
    """Replicas of the current tf.distribute strategy (TensorFlow backend only: TensorFlow is
    imported here, so that the other backends never import it)."""
    import tensorflow as tf

    return tf.distribute.get_strategy().num_replicas_in_sync
