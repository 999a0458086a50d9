"""Recipes, config files and flags resolve in the documented order; schedules are the papers'."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_wrn.training import ConfigError, read_config_file, resolve_config
from keras_wrn.training.schedule import WarmupDecay


def test_family_picks_its_paper_recipe():
    config = resolve_config({"arch": "pyramidsepdrop-110-a270"})
    assert (config.recipe, config.epochs, config.lr, config.milestones) == \
        ("pyramidsepdrop-cifar", 300, 0.5, [150, 225])
    wrn = resolve_config({"arch": "wrn-28-10"})
    assert (wrn.lr_decay, wrn.weight_decay, wrn.milestones) == (0.2, 5e-4, [60, 120, 160])


def test_flags_override_file_override_recipe(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("arch: wrn\nepochs: 7\nbatch-size: 32\nlr: 0.3\n")
    config = resolve_config({"lr": 0.01, "epochs": None}, read_config_file(str(path)))
    assert (config.arch, config.recipe, config.epochs, config.batch_size, config.lr) == \
        ("wrn", "wrn-cifar", 7, 32, 0.01)
    json_path = tmp_path / "c.json"
    json_path.write_text(json.dumps(config.to_dict()))
    assert resolve_config({}, read_config_file(str(json_path))) == config


@pytest.mark.parametrize("values, message", [
    ({"epochs": 0}, "--epochs must be >= 1"),
    ({"strategy": "tpu"}, "--strategy must be one of"),
    ({"nonsense": 1}, "unknown option(s) nonsense"),
    ({"arch": "wrn", "depth": 27}, "depth 27 is not 6n+4"),
    ({"arch": "pyramidnet", "alpha": -3}, "alpha"),
])
def test_invalid_values_raise_config_error(values, message):
    with pytest.raises(ConfigError) as err:
        resolve_config(values)
    assert message in str(err.value)


def test_bad_config_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("epochs: [1\n")
    with pytest.raises(ConfigError, match="cannot parse config file"):
        read_config_file(str(path))


def test_step_schedule_with_warmup():
    schedule = WarmupDecay(0.1, total_steps=100, warmup_steps=10, kind="step",
                           boundaries=[50, 75], decay=0.1)
    lrs = np.array([float(schedule(s)) for s in range(100)])
    np.testing.assert_allclose(lrs[:10], 0.1 * np.arange(1, 11) / 10, rtol=1e-6)
    np.testing.assert_allclose(lrs[[10, 49, 50, 74, 75, 99]],
                               [0.1, 0.1, 0.01, 0.01, 0.001, 0.001], rtol=1e-5)


def test_cosine_schedule_ends_at_zero():
    schedule = WarmupDecay(0.2, total_steps=50, kind="cosine")
    assert float(schedule(0)) == pytest.approx(0.2)
    assert float(schedule(25)) == pytest.approx(0.1, rel=1e-5)
    assert float(schedule(50)) == pytest.approx(0.0, abs=1e-7)
