"""The bridge to tensorflow-model-optimization, which only accepts tf_keras (Keras 2) models:
rebuild a Keras 3 functional model layer by layer as a tf_keras model with the same weights,
and prove the two give the same outputs.

Imported only on the QAT / pruning path (it imports tf_keras).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tf_keras

from keras_wrn.export.layout import ExportError
from keras_wrn.layers import (
    ChannelZeroPad,
    SeparatedStochasticDepth,
    StochasticDepth,
    StochasticResidual,
)

TWIN_TOLERANCE = 1e-3  # max |logit difference| between the Keras 3 model and its twin


@tf_keras.utils.register_keras_serializable(package="keras_wrn_twin")
class TwinChannelZeroPad(tf_keras.layers.Layer):
    """tf_keras ChannelZeroPad."""

    def __init__(self, pad: int, before: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.pad = pad
        self.before = before

    def call(self, inputs):
        return tf.pad(inputs, [[0, 0], [0, 0], [0, 0], [self.before, self.pad]])

    def get_config(self):
        return {**super().get_config(), "pad": self.pad, "before": self.before}


@tf_keras.utils.register_keras_serializable(package="keras_wrn_twin")
class TwinStochasticDepth(tf_keras.layers.Layer):
    """tf_keras (Separated)StochasticDepth: same gates, same inference scaling."""

    def __init__(self, rate: float, mode: str = "batch", shared_channels: int | None = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rate, self.mode, self.shared_channels = rate, mode, shared_channels

    def _gate(self, inputs):
        shape = [1, 1, 1, 1] if self.mode == "batch" else [tf.shape(inputs)[0], 1, 1, 1]
        return tf.cast(tf.random.uniform(shape) >= self.rate, inputs.dtype)

    def call(self, inputs, training=None):
        if not training:
            return inputs * (1.0 - self.rate)
        if self.shared_channels is None:
            return inputs * self._gate(inputs)
        channels = inputs.shape[-1]
        mask = tf.concat([tf.ones([self.shared_channels]),
                          tf.zeros([channels - self.shared_channels])], 0)
        mask = tf.cast(mask, inputs.dtype)
        return inputs * (self._gate(inputs) * mask + self._gate(inputs) * (1.0 - mask))

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "mode": self.mode,
                "shared_channels": self.shared_channels}


CUSTOM_OBJECTS = {"TwinChannelZeroPad": TwinChannelZeroPad,
                  "TwinStochasticDepth": TwinStochasticDepth}


def _twin_layer(layer: keras.layers.Layer) -> tf_keras.layers.Layer:
    """The tf_keras layer equivalent to one Keras 3 layer of the zoo."""
    layers, name = tf_keras.layers, layer.name
    if isinstance(layer, keras.layers.Conv2D):
        return layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides,
                        padding=layer.padding, use_bias=layer.use_bias, name=name)
    if isinstance(layer, keras.layers.BatchNormalization):
        return layers.BatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon, name=name)
    if isinstance(layer, keras.layers.ReLU):
        return layers.ReLU(name=name)
    if isinstance(layer, keras.layers.Add):
        return layers.Add(name=name)
    if isinstance(layer, keras.layers.AveragePooling2D):
        return layers.AveragePooling2D(layer.pool_size, layer.strides, padding=layer.padding,
                                       name=name)
    if isinstance(layer, keras.layers.MaxPooling2D):
        return layers.MaxPooling2D(layer.pool_size, layer.strides, padding=layer.padding, name=name)
    if isinstance(layer, keras.layers.ZeroPadding2D):
        return layers.ZeroPadding2D(layer.padding, name=name)
    if isinstance(layer, keras.layers.GlobalAveragePooling2D):
        return layers.GlobalAveragePooling2D(name=name)
    if isinstance(layer, keras.layers.Dense):
        return layers.Dense(layer.units, use_bias=layer.use_bias, name=name)
    if isinstance(layer, keras.layers.Dropout):
        return layers.Dropout(layer.rate, name=name)
    if isinstance(layer, keras.layers.Normalization):
        return layers.Normalization(mean=np.asarray(layer.mean).ravel(),
                               variance=np.asarray(layer.variance).ravel(), name=name)
    if isinstance(layer, ChannelZeroPad):
        return TwinChannelZeroPad(layer.pad, layer.before, name=name)
    if isinstance(layer, SeparatedStochasticDepth):
        return TwinStochasticDepth(layer.rate, layer.mode, layer.shared_channels, name=name)
    if isinstance(layer, StochasticDepth):
        return TwinStochasticDepth(layer.rate, layer.mode, name=name)
    raise ExportError(f"layer {name} ({type(layer).__name__}) has no tf_keras twin; QAT and "
                      f"pruning support the layers of the keras_wrn zoo.")


def _copy_graph(model: keras.Model, twin_input) -> object:
    """Applies the twins of ``model``'s layers to ``twin_input``; a `StochasticResidual` is
    flattened into its branch's layers, its gate and an Add (tfmot rejects nested models)."""
    (source_input,) = model.inputs
    tensors = {id(source_input): twin_input}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        node = layer._inbound_nodes[0]
        inputs = [tensors[id(t)] for t in node.input_tensors]
        if isinstance(layer, StochasticResidual):
            shortcut, x = inputs
            branch = _twin_layer(layer.gate)(_copy_graph(layer.branch, x))
            output = tf_keras.layers.Add(name=layer.name)([shortcut, branch])
        else:
            twin = _twin_layer(layer)
            output = twin(inputs if len(inputs) > 1 else inputs[0])
            if layer.weights:
                twin.set_weights([np.asarray(w) for w in layer.weights])
        tensors[id(node.output_tensors[0])] = output
    return tensors[id(model.outputs[0])]


def build_twin(model: keras.Model) -> tf_keras.Model:
    """A tf_keras functional model with the same computation and weights: the same layers and
    names, with each `StochasticResidual` flattened into its branch, gate and an Add."""
    (source_input,) = model.inputs
    twin_input = tf_keras.Input(shape=source_input.shape[1:], name=source_input.name)
    twin_model = tf_keras.Model(twin_input, _copy_graph(model, twin_input), name=model.name)
    check_twin(model, twin_model)
    return twin_model


def check_twin(model: keras.Model, twin: tf_keras.Model) -> float:
    """Max |difference| of the two models' inference logits on random images; ExportError if
    they disagree."""
    images = np.random.default_rng(0).uniform(0, 255, (4, *model.input_shape[1:]))
    images = images.astype(np.float32)
    difference = float(np.max(np.abs(np.asarray(model(images, training=False))
                                      - twin(images, training=False).numpy())))
    if difference > TWIN_TOLERANCE:
        raise ExportError(f"the tf_keras twin differs from the model by {difference:.2e}; "
                          f"this is a bug in keras_wrn.export.tf_keras_twin.")
    return difference
