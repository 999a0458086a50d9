"""The training step's batch norm with its per-channel sums on oneDNN: equal to a float64
reference and to Keras' layer forward and backward, chosen for the plain float32 batch norms
only, and in the training step's graph with the same result as Keras' own. Two epochs of
training with it against synchronized Keras batch norms on two replicas: test_training.py."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import small_trainer, step_each

from keras_wrn.kernels import batch_norm_layers, batch_norm_training, onednn_batch_norms
from keras_wrn.models import build_model
from keras_wrn.training import Trainer


def _reference(x, gamma, beta, dy, epsilon):
    """Batch norm's output, statistics and gradients (x, gamma, beta) in float64 numpy."""
    x, dy = x.astype(np.float64), dy.astype(np.float64)
    count = np.prod(x.shape[:3])
    mean = x.mean((0, 1, 2))
    centred = x - mean
    variance = (centred ** 2).mean((0, 1, 2))
    inv_std = 1 / np.sqrt(variance + epsilon)
    d_beta = dy.sum((0, 1, 2))
    d_centred = (dy * centred).sum((0, 1, 2))
    d_x = gamma * inv_std * (dy - (centred * inv_std ** 2 * d_centred + d_beta) / count)
    return centred * inv_std * gamma + beta, mean, variance, d_x, d_centred * inv_std, d_beta


def _forward_backward(x, gamma, beta, dy):
    """Our batch norm's output, statistics and gradients (x, gamma, beta) for output gradient
    ``dy``: what _reference computes."""
    with tf.GradientTape() as tape:
        tape.watch([x, gamma, beta])
        y, mean, variance = batch_norm_training(x, gamma, beta, 1e-5)
    return (y, mean, variance, *tape.gradient(y, [x, gamma, beta], output_gradients=dy))


def _assert_close_at_scale(names, got, expected):
    """Each result within 2e-5 of the expected one, relative to the largest expected value."""
    for name, value, want in zip(names, got, expected, strict=True):
        scale = np.abs(want).max()
        np.testing.assert_allclose(value / scale, want / scale, atol=2e-5, err_msg=name)


# x ~ N(loc, scale): the one-pass sums, and a mean 100 times the spread, where E[x^2] - mean^2
# would keep about three digits in float32 and the sums are taken around the mean.
@pytest.mark.parametrize(("shape", "loc", "scale"), [((3, 5, 7, 4), 2.0, 3.0),
                                                     ((32, 16, 16, 24), 2.0, 3.0),
                                                     ((32, 16, 16, 24), 100.0, 1.0)])
def test_batch_norm_matches_float64_and_keras(shape, loc, scale):
    rng = np.random.default_rng(0)
    x, dy = rng.normal(loc, scale, shape), rng.normal(size=shape)
    gamma, beta = rng.normal(size=shape[-1]), rng.normal(size=shape[-1])
    x, dy, gamma, beta = (v.astype(np.float32) for v in (x, dy, gamma, beta))  # what the op sees
    x_t, dy_t, gamma_t, beta_t = (tf.constant(v, tf.float32) for v in (x, dy, gamma, beta))
    ours = _forward_backward(x_t, gamma_t, beta_t, dy_t)
    names = ("y", "mean", "variance", "d_x", "d_gamma", "d_beta")
    expected = _reference(x, gamma, beta, dy, 1e-5)
    _assert_close_at_scale(names, ours, expected)
    if loc > 10 * scale:
        return  # Keras computes x * s + (beta - mean * s), which itself loses digits this far out

    layer = keras.layers.BatchNormalization(epsilon=1e-5)
    layer.build(shape)
    layer.gamma.assign(gamma_t)
    layer.beta.assign(beta_t)
    with tf.GradientTape() as tape:
        tape.watch(x_t)
        y_keras = layer(x_t, training=True)
    keras_results = (y_keras, *tape.gradient(y_keras, [x_t, layer.gamma, layer.beta],
                                             output_gradients=dy_t))
    _assert_close_at_scale(names[:1] + names[3:], ours[:1] + ours[3:], keras_results)


def test_batch_norm_compiles_whole_with_xla():
    """``--jit-compile`` compiles the step whole: the oneDNN sums and the fallback's cond too."""
    rng = np.random.default_rng(1)
    x, dy = (tf.constant(rng.normal(2.0, 3.0, (4, 6, 6, 5)), tf.float32) for _ in range(2))
    gamma, beta = (tf.constant(rng.normal(size=5), tf.float32) for _ in range(2))
    compiled = tf.function(_forward_backward, jit_compile=True)(x, gamma, beta, dy)
    for got, want in zip(compiled, _forward_backward(x, gamma, beta, dy), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_only_plain_float32_batch_norms_are_chosen():
    assert len(batch_norm_layers(build_model("resnet-20"))) == 19  # the stem's, two per block
    assert batch_norm_layers(build_model("resnet-20", sync_bn=True)) == []
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        assert batch_norm_layers(build_model("resnet-20")) == []
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def test_layers_call_keras_again_after_the_block_and_inference_is_unchanged():
    model = build_model("resnet", depth=8, input_shape=(8, 8, 3))
    chosen = batch_norm_layers(model)
    x = tf.random.uniform((2, 8, 8, 3), 0, 255)
    expected = model(x, training=False)
    with onednn_batch_norms(chosen):
        assert chosen and all("call" in vars(layer) for layer in chosen)
        np.testing.assert_array_equal(model(x, training=False), expected)
    assert not any("call" in vars(layer) for layer in chosen)


@pytest.mark.slow
def test_the_training_step_sums_on_onednn_and_matches_keras(tmp_path):
    trainers = {on: small_trainer(tmp_path / str(on), arch="pyramidnet", depth=8, alpha=12,
                                  onednn_bn_sums=on) for on in (True, False)}
    losses, batch = step_each(trainers)
    assert losses[True] == pytest.approx(losses[False], rel=1e-5)
    # One SGD step: the weights and the moving statistics agree, and the step updated the latter.
    for a, b in zip(trainers[True].model.weights, trainers[False].model.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=a.path)
    moving = [w.numpy() for w in trainers[True].model.weights if "moving_mean" in w.path]
    assert moving and all(np.any(m != 0) for m in moving)

    def ops(trainer: Trainer) -> set[str]:
        graph = trainer.train_step.get_concrete_function(batch).graph.as_graph_def()
        return {node.op for f in graph.library.function for node in f.node_def} \
            | {node.op for node in graph.node}

    assert "DepthwiseConv2dNativeBackpropFilter" in ops(trainers[True])
    assert "DepthwiseConv2dNativeBackpropFilter" not in ops(trainers[False])
    assert len(trainers[True].batch_norm_layers) == len(
        [w for w in trainers[True].model.weights if "moving_mean" in w.path])
    assert not any("call" in vars(layer) for layer in trainers[True].batch_norm_layers)
