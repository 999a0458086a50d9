"""Quantization-aware fine-tuning starts from calibrated activation ranges and freezes the batch
norms after its warm-up (keras_wrn/export/optimize.py)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_wrn


@pytest.fixture
def tfmot(monkeypatch):
    """optimize (which imports tfmot) with TF_USE_LEGACY_KERAS, which tfmot sets on import, put
    back as it was afterwards: this worker's later subprocesses must not inherit it."""
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    from keras_wrn.export import optimize

    return optimize


def _images(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (n, 16, 16, 3)).astype(np.float32)


def test_activation_ranges_start_at_the_float_models_calibrated_ranges(tfmot):
    optimize = tfmot
    model = keras_wrn.build_model("resnet", depth=8, num_classes=4, input_shape=(16, 16, 3))
    images = _images(24)
    qat = optimize.quantize_aware(model, images)
    checked = 0
    for layer in qat.layers:
        ranges = optimize._range_variables(layer)
        if not ranges:
            continue
        # The same layer of the Keras 3 model, not of the twin the ranges were read from.
        inner = model.get_layer(layer.layer.name)
        values = keras.Model(model.inputs, inner.output)(images, training=False)
        for low, high in ranges.values():
            assert float(low.numpy()) == pytest.approx(min(float(tf.reduce_min(values)), 0),
                                                       abs=1e-4)
            assert float(high.numpy()) == pytest.approx(max(float(tf.reduce_max(values)), 0),
                                                        abs=1e-4)
            checked += 1
    assert checked >= 10  # every activation of the 8-layer ResNet, and none left at [-6, 6]
    untouched = optimize.quantize_aware(model)
    assert all(float(high.numpy()) == 6.0 for layer in untouched.layers
               for _, high in optimize._range_variables(layer).values())  # tfmot's start


@pytest.mark.parametrize("freeze, moves", [(0.0, False), (None, True)])
def test_batch_norm_statistics_freeze_after_the_warm_up(tfmot, freeze, moves):
    optimize = tfmot
    model = keras_wrn.build_model("resnet", depth=8, num_classes=4, input_shape=(16, 16, 3))
    images = _images(32, seed=1)
    qat = optimize.quantize_aware(model, images)
    labels = tf.one_hot(np.arange(32) % 4, 4)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8)

    def statistics():
        return [w.numpy().copy() for w in qat.weights if "moving_mean" in w.name]

    def kernels():
        return [w.numpy().copy() for w in qat.weights if w.name.endswith("kernel:0")]

    before, kernels_before = statistics(), kernels()
    optimize.fine_tune(qat, batches, 0.05, freeze_bn_after=freeze)
    changed = [not np.array_equal(a, b) for a, b in zip(before, statistics(), strict=True)]
    assert len(changed) >= 7
    assert any(changed) if moves else not any(changed)
    assert any(not np.array_equal(a, b)
               for a, b in zip(kernels_before, kernels(), strict=True))  # it did train


def test_distillation_fine_tunes_towards_the_teachers_answers_not_the_labels(tfmot):
    optimize = tfmot
    model = keras_wrn.build_model("resnet", depth=8, num_classes=4, input_shape=(16, 16, 3))
    images = _images(32, seed=2)
    qat = optimize.quantize_aware(model, images)
    # A teacher that answers class 0 for every image; the labels spread over the four classes.
    inputs = keras.Input((16, 16, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    answer = keras.layers.Dense(4, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant([8, 0, 0, 0]))
    teacher = keras.Model(inputs, answer(pooled))
    labels = tf.one_hot(np.arange(32) % 4, 4)
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(8).repeat(4)
    optimize.fine_tune(qat, batches, 0.05, freeze_bn_after=0.5, teacher=teacher)
    predicted = np.asarray(qat(images, training=False)).argmax(-1)
    assert (predicted == 0).mean() >= 0.9, predicted
