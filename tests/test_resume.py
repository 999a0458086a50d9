"""Resuming only the same run: values that make another run are refused before anything is
written; a longer run, another validation batch or another machine's plan are recorded."""

from __future__ import annotations

import json

import pytest
from helpers import TINY, call_app, error_line

from keras_wrn.core.artifacts import write_json
from keras_wrn.training import ConfigError, resolve_config
from keras_wrn.training.resume import resume_config

RESNET = {"arch": "resnet-20", "dataset": "synthetic"}


def _saved(run_dir, **values) -> None:
    write_json(run_dir / "config.json", resolve_config({**RESNET, **values}).to_dict())


def test_a_longer_run_keeps_its_own_step_milestones(tmp_path):
    _saved(tmp_path, epochs=10)
    given = {**RESNET, "epochs": 20}
    config, changed = resume_config(resolve_config(given), set(given), tmp_path)
    assert config.recipe.milestones == [5, 7.4725]  # the 10-epoch run's, not [10, 14.945]
    assert config.recipe.epochs == 20
    assert changed == {"epochs": [10, 20]}


def test_milestones_given_again_must_be_the_runs(tmp_path):
    _saved(tmp_path, epochs=10)
    given = {**RESNET, "epochs": 20, "milestones": [10, 15]}
    with pytest.raises(ConfigError, match=r"--milestones 10 15 \(the run's: 5 7.4725\)"):
        resume_config(resolve_config(given), set(given), tmp_path)


def test_a_data_folder_is_the_same_however_it_is_written(tmp_path, monkeypatch):
    images = tmp_path / "images"
    images.mkdir()
    run = tmp_path / "run"
    write_json(run / "config.json", resolve_config(
        {"arch": "resnet-20", "data_dir": str(images)}).to_dict())
    monkeypatch.chdir(tmp_path)
    given = {"arch": "resnet-20", "data_dir": "images"}
    _, changed = resume_config(resolve_config(given), set(given), run)
    assert changed == {}


@pytest.mark.parametrize("values, refused", [
    ({"arch": "resnet-56"}, "--arch resnet-56 (the run's: resnet-20)"),
    ({"batch_size": 64}, "--batch-size 64 (the run's: 128)"),
    ({"seed": 1}, "--seed 1 (the run's: 0)"),
    ({"val_split": 0.2}, "--val-split 0.2 (the run's: 0.1)"),
    ({"precision": "fp16"}, "--precision fp16 (the run's: auto)"),
])
def test_values_that_make_another_run_are_named(tmp_path, values, refused):
    _saved(tmp_path)
    given = {**RESNET, **values}
    with pytest.raises(ConfigError) as err:
        resume_config(resolve_config(given), set(given), tmp_path)
    assert refused in str(err.value)
    assert f"--config {tmp_path / 'config.json'}" in str(err.value)


def test_a_corrupt_config_json_is_one_line(tmp_path):
    (tmp_path / "config.json").write_bytes(b"\xff\x00 not json")
    with pytest.raises(ConfigError, match=r"is not a run's configuration.*another --output-dir"):
        resume_config(resolve_config(RESNET), set(RESNET), tmp_path)


def test_train_refuses_another_run_and_records_what_a_resume_changes(tmp_path):
    out = tmp_path / "run"
    args = [*TINY, "--steps-per-epoch", "2", "--output-dir", out]
    call_app("train.py", *args, "--epochs", "1")
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}

    other = call_app("train.py", *args, "--epochs", "1", "--batch-size", "32", "--seed", "1",
                     check=False)
    assert other.returncode == 2 and "Traceback" not in other.stderr
    assert error_line(other).startswith(f"error: {out} holds another run: --batch-size 32 "
                                        f"(the run's: 64); --seed 1 (the run's: 0).")
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*")
            if p.is_file()} == files

    longer = call_app("train.py", *args, "--epochs", "2", "--eval-batch-size", "100")
    assert "resuming with eval_batch_size 256 -> 100, epochs 1 -> 2" in longer.stdout
    (change,) = json.loads((out / "run.json").read_text())["changes"]
    assert change["changed"] == {"eval_batch_size": [256, 100], "epochs": [1, 2]}
    assert json.loads((out / "config.json").read_text())["recipe"]["epochs"] == 2

    shorter = call_app("train.py", *args, "--epochs", "1", check=False)
    assert shorter.returncode == 2
    assert error_line(shorter) == (f"error: {out} has trained 2 epochs, more than --epochs 1; "
                                   f"pass --epochs 2 or more to extend it, or another "
                                   f"--output-dir.")
    assert json.loads((out / "config.json").read_text())["recipe"]["epochs"] == 2
