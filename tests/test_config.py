"""Recipes, config files and flags resolve in the documented order; schedules are the papers'."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import tensorflow as tf
from helpers import call_app, error_line, load_app

from keras_wrn.data import AugmentConfig, load_synthetic, train_dataset
from keras_wrn.training import RECIPES, ConfigError, Trainer, read_config_file, resolve_config
from keras_wrn.training.config import KEYS, MAX_SCALED_LR, schedule_line
from keras_wrn.training.flags import given_config
from keras_wrn.training.schedule import WarmupDecay


def test_family_picks_its_paper_recipe():
    config = resolve_config({"arch": "pyramidsepdrop-110-a270"})
    recipe = config.recipe
    assert (recipe.name, recipe.epochs, recipe.lr, recipe.milestones) == \
        ("pyramidsepdrop-cifar", 300, 0.5, [150, 225])
    wrn = resolve_config({"arch": "wrn-28-10"}).recipe
    assert (wrn.lr_decay, wrn.weight_decay, wrn.milestones) == (0.2, 5e-4, [60, 120, 160])


def test_flags_override_file_override_recipe(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("arch: wrn\nepochs: 7\nbatch-size: 32\nlr: 0.3\n")
    config = resolve_config({"lr": 0.01, "epochs": None}, read_config_file(str(path)))
    recipe = config.recipe
    assert (config.model.arch, recipe.name, recipe.epochs, recipe.batch_size, recipe.lr) == \
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


def test_linear_lr_scaling_is_capped_and_warms_up():
    base = {"arch": "pyramidsepdrop", "lr_scaling": "linear"}  # pyramidsepdrop-cifar: 0.5, 128
    assert resolve_config(base).scaled_lr() == (0.5, 0)  # the recipe's batch: its values
    # Batch 1024: 0.5 x 8 = 4.0 is capped at Goyal et al.'s largest LR, 3.2, after 5 epochs of
    # warm-up; without scaling, the paper's values.
    assert resolve_config({**base, "batch_size": 1024}).scaled_lr() == (MAX_SCALED_LR, 5.0)
    assert MAX_SCALED_LR == 3.2
    assert resolve_config({**base, "batch_size": 1024, "lr_scaling": "none"}).scaled_lr() == \
        (0.5, 0)
    # Every factor above 1 warms up 5 epochs, however short the run; a smaller batch does not.
    assert resolve_config({**base, "batch_size": 256, "epochs": 10}).scaled_lr() == (1.0, 5.0)
    assert resolve_config({**base, "batch_size": 64}).scaled_lr() == (0.25, 0)
    # The cap limits what scaling adds: an LR given above it is kept, not lowered.
    assert resolve_config({**base, "batch_size": 1024, "lr": 5.0}).scaled_lr() == (5.0, 5.0)


@pytest.mark.slow
def test_scaled_run_ramps_up_to_the_capped_lr_with_finite_losses(tmp_path):
    """A tiny PyramidSepDrop on its recipe at batch 1024, one step per epoch: the 5-epoch
    warm-up is 5 steps, so 8 steps cover the ramp and the capped LR."""
    config = resolve_config({"arch": "pyramidsepdrop", "depth": 8, "alpha": 12,
                             "dataset": "synthetic", "image_size": 8, "batch_size": 1024,
                             "lr_scaling": "linear", "steps_per_epoch": 1,
                             "strategy": "one_device"})
    data = load_synthetic(8, train_examples=8 * 1024, val_examples=8)
    trainer = Trainer(config, tf.distribute.get_strategy(), data, tmp_path, log=lambda _: None)
    assert (trainer.lr, trainer.schedule.warmup_steps) == (MAX_SCALED_LR, 5)
    batches = train_dataset(data.train_examples, data.num_classes, 1024, 0, 0, AugmentConfig())
    for step, batch in enumerate(batches):
        loss, _, lr = trainer.train_step(batch).numpy()
        assert lr == pytest.approx(MAX_SCALED_LR * min(step + 1, 5) / 5), step
        assert np.isfinite(loss), step
    assert step == 7


@pytest.mark.parametrize("line, message", [
    ("lr: 1e-3", "--lr (config key recipe.lr) must be a number, got '1e-3' (YAML reads a "),
    ('epochs: "abc"', "--epochs (config key recipe.epochs) must be an integer, got 'abc'"),
    ('depth: "8"', "--depth (config key model.depth) must be an integer or null, got '8'"),
    ("epochs: 1.5", "--epochs (config key recipe.epochs) must be an integer, got 1.5"),
    ("nesterov: 1", "--nesterov (config key recipe.nesterov) must be true or false, got 1"),
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
    assert (config.recipe.lr, config.recipe.milestones, config.recipe.nesterov) == \
        (1, [1, 2.5], False)


def test_config_json_is_nested_by_section_and_flat_files_still_load(tmp_path):
    config = resolve_config({"arch": "wrn-16-8", "lr": 0.05, "precision": "bf16",
                             "val_split": 0.2})
    nested = config.to_dict()
    assert set(nested) == {"model", "data", "recipe", "runtime"}
    assert (nested["model"]["arch"], nested["recipe"]["lr"], nested["recipe"]["name"],
            nested["runtime"]["precision"], nested["data"]["val_split"]) == \
        ("wrn-16-8", 0.05, "wrn-cifar", "bf16", 0.2)
    (tmp_path / "nested.json").write_text(json.dumps(nested))
    flat = {name: getattr(getattr(config, key.section), key.field.name)
            for name, key in KEYS.items()}
    (tmp_path / "flat.json").write_text(json.dumps(flat))  # as files were before sections
    for name in ("nested.json", "flat.json"):
        assert resolve_config({}, read_config_file(str(tmp_path / name))) == config


@pytest.mark.parametrize("text, message", [
    ('{"mixed_precision": "bf16"}', "key mixed_precision was renamed: use precision"),
    ('{"runtime": {"mixed_precision": null}}',
     "key runtime.mixed_precision was renamed: use precision"),
    ('{"recipe": {"warmup": 5}}', "unknown option recipe.warmup"),
    ('{"model": {"lr": 0.1}}', "key model.lr belongs in section recipe: write recipe.lr"),
    ('{"recipe": {"warmup_epochs": 1, "seed": 3}}',
     "key recipe.seed belongs in section runtime: write runtime.seed"),
])
def test_renamed_and_misplaced_keys_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "old.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        read_config_file(str(path))
    assert "\n" not in str(err.value)


def test_recipes_hold_recipe_values_only():
    """Execution switches belong to the runtime section, never to a recipe."""
    for name, values in RECIPES.items():
        assert {KEYS[key].section for key in values} == {"recipe"}, name
        assert resolve_config({"recipe": name}).recipe.name == name


def _options(parser) -> dict[str, argparse.Action]:
    actions = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            actions.update(_options(action.choices["train"]))
        actions.update({option: action for option in action.option_strings})
    return actions


def test_train_tune_and_benchmark_spell_every_configuration_flag_alike():
    train = _options(load_app("train").build_parser())
    flags = {key.flag for key in KEYS.values()}
    assert flags <= set(train)
    for app, expected in (("tune", flags), ("benchmark", {
            "--arch", "--drop-rate", "--batch-size", "--precision", "--jit-compile"})):
        options = _options(load_app(app).build_parser())
        shared = flags & set(options)
        assert expected <= shared, (app, expected - shared)
        for flag in shared:
            ours, theirs = train[flag], options[flag]
            assert (type(ours), ours.type, ours.choices, ours.nargs) == \
                (type(theirs), theirs.type, theirs.choices, theirs.nargs), (app, flag)
    # What a flag reads, a config file reads under the same name.
    args = load_app("train").build_parser().parse_args(["--widen-factor", "4", "--no-flip"])
    assert given_config(args) == {"widen_factor": 4, "flip": False}


def test_an_older_runs_folder_still_loads_for_evaluation_and_export(tmp_path):
    """A key this version renamed or dropped does not stop evaluate/export/lesion reading the
    run's data keys (a new training run with that file is refused, as above)."""
    import keras_wrn
    from keras_wrn.training.runs import load_run

    run = tmp_path / "run"
    run.mkdir()
    keras_wrn.build_model("resnet", depth=8).save(run / "model.keras")
    (run / "config.json").write_text(json.dumps({"arch": "resnet", "dataset": "synthetic",
                                                 "val_split": 0.2, "mixed_precision": None}))
    assert load_run(run).config == {"arch": "resnet", "dataset": "synthetic", "val_split": 0.2}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_a_shorter_run_keeps_the_recipes_schedule_as_fractions_of_its_length(name):
    """--epochs scales the recipe's milestones and warm-up (He et al.'s 91 and 136 of 182
    epochs stay at 50% and 75%); the recipe's own length keeps them; explicit values stay."""
    recipe = RECIPES[name]
    epochs = max(recipe["epochs"] // 3, 1)
    ratio = epochs / recipe["epochs"]
    config = resolve_config({"recipe": name, "epochs": epochs}).recipe
    assert config.milestones == pytest.approx([m * ratio for m in recipe["milestones"]], 1e-3)
    assert config.warmup_epochs == pytest.approx(recipe["warmup_epochs"] * ratio, 1e-3)
    assert all(0 < m < epochs for m in config.milestones)
    same = resolve_config({"recipe": name}).recipe
    assert (same.milestones, same.warmup_epochs) == (recipe["milestones"],
                                                     recipe["warmup_epochs"])
    explicit = resolve_config({"recipe": name, "epochs": epochs, "milestones": [1.0],
                               "warmup_epochs": 0.5}).recipe
    assert (explicit.milestones, explicit.warmup_epochs) == ([1.0], 0.5)


def test_the_readmes_short_wrn_run_decays_and_prints_its_schedule():
    config = resolve_config({"arch": "wrn-28-10", "epochs": 10})
    assert config.recipe.milestones == [3.0, 6.0, 8.0]  # 60/120/160 of 200
    assert schedule_line(config) == ("schedule: step, LR 0.1, x0.2 at epochs 3, 6, 8, "
                                     "warm-up 0 epoch(s), 10 epochs")
