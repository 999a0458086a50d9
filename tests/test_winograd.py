"""Winograd convolutions: equal to TensorFlow's conv forward and backward, chosen for the wide
3x3 convs only, and in the training step's graph with the same result as oneDNN's. Training with
them on two replicas is checked against oneDNN on one in test_training.py."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import small_trainer, step_each

from keras_wrn.kernels import (
    onednn_avx512,
    prefers_winograd,
    selection,
    winograd_conv2d,
    winograd_convolutions,
    winograd_layers,
)
from keras_wrn.models import build_model
from keras_wrn.training import Trainer


def _forward_and_gradients(conv, x, kernel, dy):
    with tf.GradientTape() as tape:
        tape.watch([x, kernel])
        y = conv(x, kernel)
    return (y, *tape.gradient(y, [x, kernel], output_gradients=dy))


@pytest.mark.slow
@pytest.mark.parametrize("tile", [2, 4])
@pytest.mark.parametrize("x_shape, out_channels", [
    ((3, 8, 12, 5), 7),  # not square, C_in != C_out
    ((2, 8, 8, 128), 96),  # wide: rounding grows with the channels summed
])
def test_winograd_equals_conv2d_forward_and_backward(tile, x_shape, out_channels):
    rng = np.random.default_rng(tile)
    x = tf.constant(rng.normal(size=x_shape), tf.float32)
    kernel = tf.constant(rng.normal(size=(3, 3, x_shape[-1], out_channels)), tf.float32)
    dy = tf.constant(rng.normal(size=(*x_shape[:3], out_channels)), tf.float32)

    def run(conv):  # in a graph, as the training step runs it
        return tf.function(_forward_and_gradients)(conv, x, kernel, dy)

    expected = run(lambda x, k: tf.nn.conv2d(x, k, 1, "SAME"))
    got = run(lambda x, k: winograd_conv2d(x, k, tile=tile))
    for name, want, have in zip(("output", "input gradient", "kernel gradient"), expected, got,
                                strict=True):
        scale = float(tf.reduce_max(tf.abs(want)))
        np.testing.assert_allclose(have, want, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("shape, kernel, tile", [
    ((1, 6, 8, 2), (3, 3, 2, 2), 4),  # 6 rows are not whole 4x4 tiles
    ((1, 8, 8, 2), (5, 5, 2, 2), 4),  # not 3x3
    ((1, 8, 8, 2), (3, 3, 2, 2), 3),  # no such tile
    ((1, 8, 8, 3), (3, 3, 2, 2), 4),  # input channels are not the kernel's
    ((8, 8, 2), (3, 3, 2, 2), 4),  # no batch axis
])
def test_winograd_rejects_what_it_cannot_compute(shape, kernel, tile):
    with pytest.raises(ValueError, match=r"winograd_conv2d takes an \[N, H, W, C\] input"):
        winograd_conv2d(tf.zeros(shape), tf.zeros(kernel), tile=tile)


def test_the_rule_picks_wide_convs_for_the_kernels_onednn_runs():
    # AVX2: from 96 channels, from 64 on 16x16 or less.
    assert prefers_winograd(8, 8, 512, 512, avx512=False)
    assert prefers_winograd(32, 32, 128, 128, avx512=False)
    assert prefers_winograd(16, 16, 64, 64, avx512=False)
    assert not prefers_winograd(32, 32, 64, 64, avx512=False)
    assert not prefers_winograd(8, 8, 64, 48, avx512=False)  # the narrower side counts
    # AVX-512, whose oneDNN convolutions are faster: from 256 channels, from 128 on 16x16 or less.
    assert prefers_winograd(8, 8, 512, 512, avx512=True)
    assert prefers_winograd(32, 32, 256, 256, avx512=True)
    assert prefers_winograd(16, 16, 128, 128, avx512=True)
    assert not prefers_winograd(32, 32, 128, 128, avx512=True)
    assert not prefers_winograd(8, 8, 96, 96, avx512=True)
    assert not prefers_winograd(8, 8, 512, 64, avx512=True)
    # Unsaid, the CPU decides.
    assert prefers_winograd(8, 8, 96, 96) == (not onednn_avx512())


@pytest.mark.parametrize(("flags", "cap", "avx512"), [
    ("fpu avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni", "", True),
    ("fpu avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl", "avx2", False),  # capped
    ("fpu avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl", "AVX512_CORE_BF16", True),
    ("fpu avx2 fma avx512f", "", False),  # no avx512_core: oneDNN runs AVX2 kernels
    ("fpu avx2 fma", "", False),
    ("fp asimd", "", False),  # ARM
])
def test_onednn_avx512_reads_the_cpu_and_onednns_cap(monkeypatch, flags, cap, avx512):
    monkeypatch.setattr(selection, "cpu_flags", lambda: set(flags.split()))
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
    onednn_avx512.cache_clear()
    try:
        assert onednn_avx512() is avx512
    finally:
        onednn_avx512.cache_clear()


@pytest.mark.slow
@pytest.mark.parametrize("avx512", [False, True])
def test_wrn_uses_winograd_for_its_wide_stride_one_3x3_convs_only(monkeypatch, avx512):
    monkeypatch.setattr(selection, "onednn_avx512", lambda: avx512)
    model = build_model("wrn-16-8")
    chosen = winograd_layers(model)
    # Per stage: the second conv of block 1 and both of block 2. The first conv of each stage
    # (16 input channels, or stride 2), the stem and the 1x1 shortcuts keep oneDNN; with
    # AVX-512 so do the 128-channel convs on 32x32.
    assert len(chosen) == (6 if avx512 else 9)
    assert all(layer.kernel_size == (3, 3) and layer.strides == (1, 1) for layer in chosen)
    assert {layer.input.shape[-1] for layer in chosen} == \
        ({256, 512} if avx512 else {128, 256, 512})
    # PyramidNet-110-a48 widens to 64 channels only at its very end, on 8x8 images.
    narrow = winograd_layers(build_model("pyramidnet-110-a48"))
    assert [tuple(layer.input.shape[1:]) for layer in narrow] == ([] if avx512 else [(8, 8, 64)])


def test_mixed_precision_convs_keep_onednn():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        model = build_model("wrn-16-8")
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert winograd_layers(model) == []


@pytest.mark.slow
def test_layers_are_plain_conv2d_again_after_the_block():
    model = build_model("wrn", depth=10, widen_factor=8, input_shape=(8, 8, 3))
    chosen = winograd_layers(model)
    assert len(chosen) == 2  # 128 channels on 8x8, 256 on 4x4: Winograd on either CPU
    x = tf.random.uniform((2, 8, 8, 3), 0, 255)
    expected = model(x, training=False)
    with winograd_convolutions(chosen):
        assert all("convolution_op" in vars(layer) for layer in chosen)
        np.testing.assert_allclose(model(x, training=False), expected, rtol=1e-4, atol=1e-4)
    assert not any("convolution_op" in vars(layer) for layer in chosen)


@pytest.mark.slow
def test_the_training_step_runs_winograd_and_matches_onednn(tmp_path):
    # WRN-10-8 on 8x8 images: Winograd for its 128-channel 8x8 and 256-channel 4x4 convs.
    trainers = {on: small_trainer(tmp_path / str(on), arch="wrn", depth=10, widen_factor=8,
                                  winograd=on) for on in (True, False)}
    losses, batch = step_each(trainers)
    assert losses[True] == pytest.approx(losses[False], rel=1e-5)
    # One SGD step: Winograd's float32 rounding reaches the stem through backprop (up to 1.7e-4
    # seen in a full run, on weights of about 0.1).
    for a, b in zip(trainers[True].model.weights, trainers[False].model.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=5e-4, err_msg=a.path)

    def graph_functions(trainer: Trainer) -> str:
        graph = trainer.train_step.get_concrete_function(batch).graph.as_graph_def()
        return " ".join(f.signature.name for f in graph.library.function)

    assert len(trainers[True].winograd_layers) == 2
    assert "_input_transform" in graph_functions(trainers[True])  # the step's graph has it
    assert "_input_transform" not in graph_functions(trainers[False])
    # After tracing, the model is plain Keras again: what evaluation and export see.
    assert not any("convolution_op" in vars(layer) for layer in trainers[True].winograd_layers)
