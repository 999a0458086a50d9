"""PyTorch state dicts into keras_wrn models and back: OIHW convolutions to HWIO, batch-norm
scale, shift and statistics, the classifier's (out, in) matrix transposed. Every tensor is
checked before the first is assigned, so a checkpoint that does not fit leaves the model as it
was."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import keras
import numpy as np

from keras_wrn.layers import StochasticResidual
from keras_wrn.weights.layouts import Layout
from keras_wrn.weights.torch_files import WeightsError

# (suffix of the PyTorch key, the Keras variable's attribute, PyTorch -> Keras, Keras -> PyTorch)
Tensor = tuple[str, str, Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]
_SAME = (lambda a: a, lambda a: a)
_BATCH_NORM: list[Tensor] = [(".weight", "gamma", *_SAME), (".bias", "beta", *_SAME),
                             (".running_mean", "moving_mean", *_SAME),
                             (".running_var", "moving_variance", *_SAME)]
_DENSE: list[Tensor] = [(".weight", "kernel", np.transpose, np.transpose),
                        (".bias", "bias", *_SAME)]


def _conv(suffix: str) -> list[Tensor]:
    return [(suffix, "kernel", lambda a: a.transpose(2, 3, 1, 0),
             lambda a: a.transpose(3, 2, 0, 1))]


def weighted_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every conv, batch-norm and dense layer, those inside stochastic-depth branches too."""
    for layer in model.layers:
        if isinstance(layer, StochasticResidual):
            yield from weighted_layers(layer.branch)
        elif isinstance(layer, keras.Model):
            yield from weighted_layers(layer)
        elif isinstance(layer, keras.layers.Conv2D | keras.layers.BatchNormalization
                        | keras.layers.Dense):
            yield layer


def _tensors(layer: keras.layers.Layer, layout: Layout) -> list[Tensor]:
    if isinstance(layer, keras.layers.Conv2D):
        return _conv(layout.conv_weight_suffix)
    if isinstance(layer, keras.layers.BatchNormalization):
        return _BATCH_NORM
    return _DENSE


def _check_depth(model: keras.Model, state: dict[str, np.ndarray], layout: Layout) -> None:
    """A checkpoint of another depth is named as such, not by its first missing key."""
    found = layout.blocks_per_stage(state)
    expected = layout.blocks_per_stage(layout.prefix(layer.name) + "."
                                       for layer in weighted_layers(model))
    if found and found != expected:
        raise WeightsError(f"the checkpoint has {'-'.join(map(str, found))} blocks per stage, "
                           f"{model.name} {'-'.join(map(str, expected))}; build the model of "
                           f"the checkpoint's depth.")


def load_torch_state(model: keras.Model, state: dict[str, np.ndarray], layout: Layout) -> None:
    """Assigns ``state`` (PyTorch names, NumPy arrays) to ``model``. Raises WeightsError naming
    another depth, or the first missing, misshapen or unused key; nothing is assigned then."""
    _check_depth(model, state, layout)
    assignments, used = [], set()
    for layer in weighted_layers(model):
        prefix = layout.prefix(layer.name)
        for suffix, attribute, to_keras, _ in _tensors(layer, layout):
            key = prefix + suffix
            if key not in state:
                raise WeightsError(f"{key} (for layer {layer.name}) is not in the checkpoint; "
                                   f"is it a {layout.name} checkpoint of this architecture?")
            variable = getattr(layer, attribute)
            value = to_keras(state[key])
            if tuple(value.shape) != tuple(variable.shape):
                raise WeightsError(f"{key} has shape {tuple(state[key].shape)}, which does not "
                                   f"fit layer {layer.name} ({tuple(variable.shape)} in Keras' "
                                   f"order); check the preset and num_classes.")
            assignments.append((variable, value))
            used.add(key)
    unused = sorted(set(state) - used)
    if unused:
        raise WeightsError(f"checkpoint key {unused[0]} has no place in {model.name} "
                           f"({len(unused)} unused); is it a {layout.name} checkpoint of this "
                           f"architecture?")
    for variable, value in assignments:
        variable.assign(value.astype(variable.dtype))


def to_torch_state(model: keras.Model, layout: Layout) -> dict[str, np.ndarray]:
    """The model's weights under ``layout``'s PyTorch names (arrays in PyTorch's order), with
    the batch-norm step counters ``nn.BatchNorm2d`` keeps where the layout has them."""
    state = {}
    for layer in weighted_layers(model):
        prefix = layout.prefix(layer.name)
        for suffix, attribute, _, to_torch in _tensors(layer, layout):
            state[prefix + suffix] = to_torch(np.asarray(getattr(layer, attribute)))
        if isinstance(layer, keras.layers.BatchNormalization) and layout.batch_norm_counters:
            state[prefix + ".num_batches_tracked"] = np.zeros((), np.int64)
    return state
