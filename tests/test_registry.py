"""Building by family or preset, overrides, and ValueErrors that say what is allowed."""

import pytest
from helpers import run_app

import keras_wrn


def test_keywords_override_a_preset():
    model = keras_wrn.build_model("pyramidsepdrop-110-a270", depth=20, alpha=12, num_classes=5)
    assert model.output_shape == (None, 5)
    assert model.get_layer("stage3_block3_residual").gate.rate == pytest.approx(0.5)


def test_family_defaults_and_imagenet_preset_defaults():
    family, values = keras_wrn.resolve("pyramidsepdrop")
    assert family == "pyramidsepdrop" and values["num_classes"] == 10
    _, values = keras_wrn.resolve("resnet-50")
    assert values["num_classes"] == 1000 and values["input_shape"] == (224, 224, 3)


def test_list_models_filters_by_pattern():
    assert "wrn-28-10" in keras_wrn.list_models("wrn-*")
    assert all(n.startswith("pyramid") for n in keras_wrn.list_models("pyramid*"))


@pytest.mark.slow
def test_list_models_app_prints_the_measured_count_of_each_matching_preset():
    result = run_app("list_models.py", "resnet-2?")
    rows = [line for line in result.stdout.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == keras_wrn.list_models("resnet-2?")
    params = keras_wrn.get_preset("resnet-20")["params"]
    assert any(row.startswith(f"| `resnet-20` | resnet | {params:,} |") for row in rows)


@pytest.mark.parametrize("name, hparams, message", [
    ("wrn", {"depth": 27}, "6n+4"),
    ("resnet", {"depth": 21}, "6n+2"),
    ("pyramidnet", {"depth": 50, "bottleneck": True}, "9n+2"),
    ("preact_resnet", {"depth": 100}, "9n+2"),
    ("resnet", {"depth": 42, "stem": "imagenet"}, "18, 34, 50, 101, 152"),
    ("pyramidnet", {"alpha": -1}, "alpha"),
    ("pyramidsepdrop", {"drop_rate": 1.0}, "[0, 1)"),
    ("pyramidsepdrop", {"drop_rate": -0.1}, "[0, 1)"),
    ("wrn", {"drop_mode": "layer"}, "batch, sample"),
    ("wrn", {"alpha": 48}, "wrn takes"),
    ("wrn", {"stem": "tiny"}, "unknown hyperparameter"),
    ("pyramidnet", {"stem": "tiny"}, "'cifar' or 'imagenet'"),
])
def test_invalid_requests_raise_value_error_saying_what_is_allowed(name, hparams, message):
    with pytest.raises(ValueError) as err:
        keras_wrn.build_model(name, **hparams)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError) as checked:  # the same error, found without building
        keras_wrn.check(name, **hparams)
    assert str(checked.value) == str(err.value)


@pytest.mark.parametrize("name", keras_wrn.list_models())
def test_check_accepts_every_preset(name):
    keras_wrn.check(name)


def test_unknown_name_suggests_closest():
    with pytest.raises(ValueError) as err:
        keras_wrn.build_model("pyramidsepdrop-110-a72")
    assert "pyramidsepdrop-110-a270" in str(err.value)
    with pytest.raises(ValueError, match="Did you mean wrn-28-10"):
        keras_wrn.build_model("wrn28-10")
