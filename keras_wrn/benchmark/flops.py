"""Forward FLOPs counted from the TensorFlow graph of a model's inference function.

Convention (that of the papers' FLOP counts and of model-FLOP-utilisation): 2 FLOPs per
multiply-add of the convolutions and matrix multiplications; element-wise operations (batch
norm, ReLU, additions, pooling) are not counted.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf


def _static(shape) -> list[int]:
    return [int(d) for d in shape]


def _op_flops(op: tf.Operation) -> int:
    if op.type in ("Conv2D", "DepthwiseConv2dNative"):
        out = _static(op.outputs[0].shape)  # [N, H, W, C_out] (NHWC)
        kernel = _static(op.inputs[1].shape)  # [kh, kw, C_in, C_out or multiplier]
        macs_per_output = kernel[0] * kernel[1] * (kernel[2] if op.type == "Conv2D" else 1)
        return 2 * math.prod(out) * macs_per_output
    if op.type in ("MatMul", "BatchMatMulV2"):
        a = _static(op.inputs[0].shape)
        transpose_a = op.get_attr("transpose_a") if op.type == "MatMul" else op.get_attr("adj_x")
        inner = a[-2] if transpose_a else a[-1]
        return 2 * math.prod(_static(op.outputs[0].shape)) * inner
    return 0


def _graph_ops(graph: tf.Graph):
    """Every op of a graph and of the functions it calls (Keras layers may be nested)."""
    yield from graph.get_operations()
    for function in graph._functions.values():
        yield from _graph_ops(function.graph)


def forward_flops_per_image(model: keras.Model) -> int:
    """FLOPs of one image through the model at inference (batch 1, static shapes)."""
    spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32)
    function = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    return sum(_op_flops(op) for op in _graph_ops(function.graph))
