"""Every preset, timm-style: builds, runs forward and backward, has the reference parameter
count."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_wrn
from keras_wrn.layers import StochasticResidual

PRESETS = keras_wrn.list_models()
# Over 1,000 layers: 15-25 s each to build (the RecursionError a user met at a plain
# interpreter's limit: tests/test_packaging.py); their forward and backward pass (another 30 s
# eagerly) is the code of resnet-110 and preact-resnet-164, run below.
DEEP = {"resnet-1202", "preact-resnet-1001"}
# Spatial size used for forward/backward: global pooling makes the count independent of it.
SMALL_INPUT = {"cifar": (32, 32, 3), "imagenet": (64, 64, 3)}


def _trainable_count(model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_every_published_number_names_its_source():
    for name in PRESETS:
        preset = keras_wrn.get_preset(name)
        assert preset["family"] in keras_wrn.list_families()
        assert "arXiv:" in preset["source"] and preset["params"] > 0
        published = preset["published"]
        errors = {k: v for k, v in published.items() if k.endswith("_error") and v is not None}
        assert all(0 < v < 100 for v in errors.values()), name
        assert bool(errors) == bool(published["errors_source"]), name
    # keras_wrn normalises by mean/std: where the authors report both, their mean/std figures.
    wrn = keras_wrn.get_preset("wrn-28-10")["published"]
    assert (wrn["cifar10_error"], wrn["cifar100_error"]) == (4.00, 19.25)
    assert "mean/std" in wrn["errors_source"]
    assert "ZCA" in keras_wrn.get_preset("wrn-16-8")["published"]["errors_source"]
    # PyramidNet: the authors' README's figures, which update the paper's Table 4.
    for name, errors in {"pyramidnet-110-a48": (4.62, 23.31),
                         "pyramidnet-110-a84": (4.27, 20.21)}.items():
        published = keras_wrn.get_preset(name)["published"]
        assert (published["cifar10_error"], published["cifar100_error"]) == errors, name
        assert published["errors_source"] == "github.com/jhkim89/PyramidNet README", name


def _slow(name: str) -> bool:
    """Presets of over 4M parameters or 110 layers take 5-35 s here: the full suite's."""
    preset = keras_wrn.get_preset(name)
    return preset["params"] > 4_000_000 or preset["hparams"].get("depth", 0) > 110


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow) if _slow(name)
                                  else name for name in PRESETS])
def test_preset_builds_runs_and_has_reference_param_counts(name):
    """The trainable count is the authors' reference code's; the total (with batch
    normalisation's moving statistics) is the preset's, which apps/list_models.py prints."""
    preset = keras_wrn.get_preset(name)
    stem = preset["hparams"].get("stem", "cifar")
    # The deepest build at a plain interpreter's recursion limit: tests/test_packaging.py.
    model = keras_wrn.build_model(name, input_shape=SMALL_INPUT[stem])
    count, total = _trainable_count(model), model.count_params()
    assert count == preset["params"], f"{name}: {count} != reference {preset['params']}"
    assert total == preset["total_params"], f"{name}: {total} != {preset['total_params']}"
    # The paper prints counts rounded to 0.1M (0.01M below 1M): same order, within rounding + 5%.
    assert abs(count / 1e6 - preset["published"]["params_m"]) <= 0.05 * count / 1e6 + 0.05
    if name in DEEP:  # 1,000+ layers: counted, not run
        return

    images = tf.random.uniform((2, *SMALL_INPUT[stem]), 0, 255)
    labels = tf.constant([1, 2])
    with tf.GradientTape() as tape:
        logits = model(images, training=True)
        loss = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(
            labels, logits, from_logits=True))
    grads = tape.gradient(loss, model.trainable_weights)
    assert logits.shape == (2, preset["hparams"].get("num_classes", 10))
    assert np.isfinite(loss.numpy())
    weights = model.trainable_weights
    # Eagerly, a branch that stochastic depth skipped has no gradient at all (in the training
    # loop's graph it gets zeros; tests/test_stochastic_depth.py checks both cases).
    skippable = {id(w) for layer in model.layers if isinstance(layer, StochasticResidual)
                 for w in layer.branch.trainable_weights}
    missing = [w.path for w, g in zip(weights, grads, strict=True)
               if g is None and id(w) not in skippable]
    assert not missing, f"weights without gradient: {missing[:5]}"
    assert all(np.isfinite(g.numpy()).all() for g in grads if g is not None)


def test_kernels_are_initialised_independently_and_reproducibly():
    keras.utils.set_random_seed(7)
    first = keras_wrn.build_model("resnet-20")
    keras.utils.set_random_seed(7)
    second = keras_wrn.build_model("resnet-20")
    a = first.get_layer("stage1_block1_conv1").kernel.numpy()
    b = first.get_layer("stage1_block1_conv2").kernel.numpy()
    assert a.shape == b.shape and not np.allclose(a, b)
    for w1, w2 in zip(first.weights, second.weights, strict=True):
        np.testing.assert_array_equal(w1.numpy(), w2.numpy())
    # fan-out He initialisation: std = sqrt(2 / (k * k * out_channels))
    assert abs(a.std() - np.sqrt(2 / (3 * 3 * 16))) < 0.05 * np.sqrt(2 / (3 * 3 * 16))

