"""Recipes, config files and flags resolve in the documented order; schedules are the papers'."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import call_app, error_line

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


@pytest.mark.parametrize("line, message", [
    ("lr: 1e-3", "--lr (config key lr) must be a number, got '1e-3' (YAML reads a number"),
    ('epochs: "abc"', "--epochs (config key epochs) must be an integer, got 'abc'"),
    ('depth: "8"', "--depth (config key depth) must be an integer or null, got '8'"),
    ("epochs: 1.5", "--epochs (config key epochs) must be an integer, got 1.5"),
    ("nesterov: 1", "--nesterov (config key nesterov) must be true or false, got 1"),
    ("milestones: [10, x]", "must be a list of numbers, got [10, 'x']"),
])
def test_config_file_values_are_type_checked_before_anything_is_written(tmp_path, line,
                                                                         message):
    config = tmp_path / "bad.yaml"
    config.write_text(f"arch: resnet\ndepth: 8\ndataset: synthetic\n{line}\n")
    out = tmp_path / "run"
    result = call_app("train.py", "--config", config, "--output-dir", out, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in error_line(result)
    assert not out.exists()


def test_well_typed_values_pass():
    config = resolve_config({}, {"lr": 1, "milestones": [1, 2.5], "depth": None,
                                 "nesterov": False})
    assert (config.lr, config.milestones, config.nesterov) == (1, [1, 2.5], False)
