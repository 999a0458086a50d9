"""`.keras` round trips with no custom_objects, and layer configs that rebuild the same layer."""

import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_wrn
from keras_wrn.layers import (
    ChannelZeroPad,
    SeparatedStochasticDepth,
    StochasticDepth,
    StochasticResidual,
)

# One small configuration per family, with stochastic depth on so every custom layer is present.
SMALL = {
    "resnet": {"depth": 8, "drop_rate": 0.2},
    "preact_resnet": {"depth": 11, "drop_rate": 0.2, "drop_mode": "sample"},
    "wrn": {"depth": 10, "widen_factor": 2, "dropout": 0.3, "drop_rate": 0.2},
    "pyramidnet": {"depth": 11, "alpha": 24, "bottleneck": True},
    "pyramiddrop": {"depth": 8, "alpha": 24},
    "pyramidsepdrop": {"depth": 8, "alpha": 24, "multiplicative": True},
}


def test_every_family_has_a_small_config():
    assert set(SMALL) == set(keras_wrn.list_families())


@pytest.mark.slow
def test_keras_file_round_trip_gives_identical_outputs(tmp_path):
    """Every family saved, then loaded in a fresh interpreter (which proves the layers are
    registered: no custom_objects, no import order): the same outputs, bit for bit."""
    x = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    for family in sorted(SMALL):
        model = keras_wrn.build_model(family, num_classes=7, **SMALL[family])
        model(x, training=True)  # move batch-norm statistics away from their initial values
        model.save(tmp_path / f"{family}.keras")
        np.save(tmp_path / f"{family}.npy", np.asarray(model.predict(x, verbose=0)))
    code = (
        "import sys, numpy as np, keras, keras_wrn\n"
        f"x = np.load(r'{tmp_path / 'x.npy'}')\n"
        f"for family in {sorted(SMALL)!r}:\n"
        f"    m = keras.models.load_model(rf'{tmp_path}/{{family}}.keras')\n"
        f"    y = np.load(rf'{tmp_path}/{{family}}.npy')\n"
        "    np.testing.assert_array_equal(m.predict(x, verbose=0), y, err_msg=family)\n"
        "    print(family)\n"
    )
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    assert fresh.stdout.split() == sorted(SMALL)


@pytest.mark.parametrize("layer", [
    StochasticDepth(0.25, mode="sample", seed=3),
    SeparatedStochasticDepth(0.5, shared_channels=4, seed=1),
    ChannelZeroPad(6),
    ChannelZeroPad(6, before=2),
    StochasticResidual(
        keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(3, 3, padding="same")]),
        StochasticDepth(0.5, seed=2),
    ),
])
def test_layer_config_round_trip(layer):
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


def test_channel_zero_pad_appends_zeros():
    x = np.ones((2, 3, 3, 4), "float32")
    out = np.asarray(ChannelZeroPad(3)(x))
    assert out.shape == (2, 3, 3, 7)
    np.testing.assert_array_equal(out[..., :4], x)
    assert not out[..., 4:].any()
    out = np.asarray(ChannelZeroPad(2, before=2)(x))  # as option A in PyTorch ports
    assert out.shape == (2, 3, 3, 8)
    np.testing.assert_array_equal(out[..., 2:6], x)
    assert not out[..., :2].any() and not out[..., 6:].any()
