"""Residual blocks of a model, and the model without some of them: a real graph rewrite, so the
deleted blocks' layers and weights are not part of the new model (Veit, Wilber & Belongie
2016 delete blocks at test time; a phone then does not run them)."""

from __future__ import annotations

from collections.abc import Iterable

from keras_wrn import layers as wrn_layers
from keras_wrn.core import lazy

keras = lazy.module("keras")


def _joins(model: keras.Model) -> dict[str, keras.layers.Layer]:
    """Each residual block's joining layer (``NAME_add``, or ``NAME_residual`` with stochastic
    depth), by block name, in the order of the graph."""
    joins = {}
    for layer in model.operations:
        if isinstance(layer, wrn_layers.StochasticResidual) and layer.name.endswith("_residual"):
            joins[layer.name.removesuffix("_residual")] = layer
        elif isinstance(layer, keras.layers.Add) and layer.name.endswith("_add"):
            joins[layer.name.removesuffix("_add")] = layer
    return joins


def residual_blocks(model: keras.Model) -> list[str]:
    """The names of the model's residual blocks (``stage1_block1``, ...), input to output."""
    return list(_joins(model))


def without_blocks(model: keras.Model, blocks: Iterable[str]) -> keras.Model:
    """``model`` with ``blocks`` deleted: each one's output is its shortcut (the identity, or
    for a downsampling block its pooling/projection path alone). Layers are shared with
    ``model``, so no weight is copied; those only the deleted branches used are left out."""
    blocks = set(blocks)
    joins = _joins(model)
    unknown = sorted(blocks - set(joins))
    if unknown:
        raise ValueError(f"no residual block {unknown[0]} in {model.name}; blocks: "
                         f"{', '.join(joins)}.")
    deleted = {joins[name].name for name in blocks}
    (old_input,) = model.inputs
    new_input = keras.Input(shape=old_input.shape[1:], dtype=old_input.dtype,
                            name=old_input.name)
    tensors = {id(old_input): new_input}
    for operation in model.operations:
        if isinstance(operation, keras.layers.InputLayer):
            continue
        node = operation._inbound_nodes[0]  # the call that built `model`
        args, kwargs = node.arguments.fill_in(tensors)
        # A deleted block's join takes [shortcut, branch (or its input)]: keep the shortcut.
        outputs = args[0][0] if operation.name in deleted else operation(*args, **kwargs)
        for old, new in zip(node.outputs, keras.tree.flatten(outputs), strict=True):
            tensors[id(old)] = new
    outputs = [tensors[id(x)] for x in model.outputs]
    kept = len(joins) - len(blocks)
    return keras.Model(new_input, outputs[0] if len(outputs) == 1 else outputs,
                       name=f"{model.name}_{kept}_of_{len(joins)}_blocks")
