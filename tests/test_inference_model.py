"""The model a bf16 or fp16 run saves for inference (``artifacts.save_inference_model``) is a
float32 model: float32 policies in every layer, nested branch models included, and the logits
of the float32 architecture with the same weights."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

import keras_wrn
from keras_wrn.core.artifacts import save_inference_model
from keras_wrn.layers import StochasticResidual

# PyramidSepDrop's blocks are StochasticResiduals, each holding its branch as a nested model;
# ResNet-8 without stochastic depth is a flat graph.
SMALL = {"pyramidsepdrop": {"depth": 8, "alpha": 12}, "resnet": {"depth": 8}}


def _build(arch: str) -> keras.Model:
    return keras_wrn.build_model(arch, num_classes=10, input_shape=(8, 8, 3), **SMALL[arch])


def _layers(model: keras.Model) -> list[keras.Layer]:
    """Every layer of ``model``, with the branch models of its StochasticResiduals and their
    layers."""
    layers = []
    for layer in model.layers:
        layers.append(layer)
        if isinstance(layer, StochasticResidual):
            layers += [layer.branch, *_layers(layer.branch)]
    return layers


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
@pytest.mark.parametrize("arch", sorted(SMALL))
def test_a_mixed_precision_model_is_saved_as_float32(tmp_path, arch, policy):
    x = np.random.default_rng(0).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)  # as the Trainer builds a bf16 or fp16 run's model
    try:
        mixed = _build(arch)
    finally:
        keras.config.set_dtype_policy(previous)
    mixed(x, training=True)  # moves the batch-norm statistics away from their initial values
    # Every layer under the policy but the classifier, float32 by design (models/common.py).
    assert {layer.name for layer in _layers(mixed)
            if layer.dtype_policy.name != policy} == {"classifier"}
    nested = [layer for layer in mixed.layers if isinstance(layer, StochasticResidual)]
    assert bool(nested) == (arch == "pyramidsepdrop")
    reference = _build(arch)  # float32: the global policy restored
    reference.set_weights(mixed.get_weights())
    want = reference.predict(x, verbose=0)

    save_inference_model(mixed, tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")

    assert {layer.dtype_policy.name for layer in _layers(loaded)} == {"float32"}
    assert len(_layers(loaded)) == len(_layers(mixed))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=0, atol=1e-5)
    # The control: the model as trained computes in half precision; its logits differ by
    # more than ten times the tolerance (bf16 by ~5e-3, fp16 by ~5e-4).
    assert np.abs(np.asarray(mixed.predict(x, verbose=0), "float32") - want).max() > 1e-4


def test_a_float32_model_is_saved_as_it_is(tmp_path, monkeypatch):
    model = _build("pyramidsepdrop")
    x = np.random.default_rng(1).uniform(0, 255, (4, 8, 8, 3)).astype("float32")
    with monkeypatch.context() as patch:  # not rebuilt
        patch.setattr(keras.saving, "deserialize_keras_object", None)
        save_inference_model(model, tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert json.dumps(loaded.get_config()) == json.dumps(model.get_config())
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert [path.name for path in tmp_path.iterdir()] == ["model.keras"]  # no temporary left
