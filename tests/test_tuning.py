"""apps/tune.py: a short search writes best_config.json that train.py accepts, an interrupted
search continues without repeating finished trials, bad spaces fail in one line, and the
parameter budget holds for every trial."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from helpers import app_command, app_env, call_app, error_line, run_app, summary

from keras_wrn.models.registry import get_family
from keras_wrn.training import read_config_file, resolve_config
from keras_wrn.tuning import (
    SpaceError,
    count_params,
    default_space,
    load_space,
    make_oracle,
    smallest_corners,
    to_overrides,
)

SEARCH = ["--arch", "pyramidsepdrop", "--tuner", "random", "--epochs", "1",
          "--steps-per-epoch", "4", "--dataset", "synthetic", "--recipe", "quick"]


def _space(tmp_path, text: str):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    return path


SMALL_SPACE = "blocks_per_stage: {min: 1, max: 2}\nalpha: [12, 96]\nbottleneck: [false]\n"
BUDGET = 60_000  # depth 14 with alpha 96 is above it


def _trials(out) -> dict[str, tuple[str, float]]:
    """trial id -> (status, modification time of its trial.json)."""
    found = {}
    for path in (out / "search").glob("trial_*/trial.json"):
        try:
            found[path.parent.name] = (json.loads(path.read_text())["status"],
                                       path.stat().st_mtime)
        except (ValueError, KeyError, FileNotFoundError):
            continue  # being written
    return found


@pytest.mark.slow
def test_a_search_killed_in_its_second_trial_resumes_and_writes_a_best_config_within_budget(
        tmp_path):
    """kill -9 once the first trial is recorded, the same command again: the finished trial is
    not run again, and the search ends with its table, its best line and a best_config.json
    that train.py accepts as it is, every trial within the parameter budget."""
    out = tmp_path / "search"
    args = [*SEARCH, "--max-trials", "2", "--output-dir", out,
            "--space", _space(tmp_path, SMALL_SPACE), "--max-params", str(BUDGET),
            "--deterministic"]
    process = subprocess.Popen(app_command("tune.py", *args), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=app_env())
    deadline = time.time() + 300
    # Kill during the second trial, once the first is recorded as finished.
    while time.time() < deadline and process.poll() is None:
        if (out / "search" / "trial_1").exists():
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = _trials(out)
    assert before["trial_0"][0] == "COMPLETED"
    result = run_app("tune.py", *args)  # a subprocess: --deterministic is set before TF starts
    after = _trials(out)
    assert {status for status, _ in after.values()} == {"COMPLETED"} and len(after) == 2
    assert after["trial_0"][1] == before["trial_0"][1], "the finished trial was run again"

    assert summary(result.stdout)["trials"] == 2
    assert "| trial |" in result.stdout
    rows = json.loads((out / "trials.json").read_text())
    # One numbering, from 1, as keras-tuner's banner (the resumed search runs trial 2 only):
    # the table, the best line, the summary.
    assert "Search: Running Trial #2" in result.stdout and "Trial 2 Complete" in result.stdout
    assert "Running Trial #1" not in result.stdout
    assert sorted(r["trial"] for r in rows) == [1, 2]
    best_trial = summary(result.stdout)["best_trial"]
    assert best_trial == rows[0]["trial"]  # the rows are best first
    assert (f"best: trial {best_trial} ({out / 'search' / f'trial_{best_trial - 1}' / 'run'}), "
            in result.stdout)
    assert all(r["depth"] in (8, 14) and r["alpha"] in (12, 96) and 0 < r["params"] <= BUDGET
               and "val_top1" in r and r["seconds"] > 0 for r in rows), rows
    assert count_params("pyramidsepdrop", 10, depth=14, alpha=96) > BUDGET
    best = out / "best_config.json"
    config = resolve_config({}, read_config_file(str(best)))  # accepted as it is
    assert config.model.arch == "pyramidsepdrop"
    assert config.recipe.epochs == 4  # the quick recipe's
    assert config.runtime.deterministic  # every trial and the winner's training
    trained = call_app("train.py", "--config", best, "--epochs", "1", "--steps-per-epoch", "2",
                       "--output-dir", tmp_path / "winner")
    assert summary(trained.stdout)["epochs"] == 1


@pytest.mark.parametrize("kind", ["random", "bayesian", "hyperband"])
def test_the_same_seed_proposes_the_same_trials(kind):
    # keras-tuner draws a random seed when given 0, this project's default.
    space = load_space("pyramidsepdrop", None)

    def proposals(seed):
        oracle = make_oracle(kind, space, max_trials=3, max_epochs=3, seed=seed)
        return [oracle.populate_space(str(i))["values"] for i in range(3)]

    assert proposals(0) == proposals(0)
    assert proposals(0) != proposals(1)


def test_hyperband_proposals_resolve_to_training_configurations():
    """Hyperband adds its budget (tuner/epochs, tuner/bracket, ...) to every proposal; the
    parameter budget and the trials read the proposal as configuration keys without them."""
    space = load_space("pyramidsepdrop", None)
    values = make_oracle("hyperband", space, max_trials=3, max_epochs=3,
                         seed=0).populate_space("0")["values"]
    assert {"tuner/epochs", "tuner/bracket"} <= set(values)
    overrides = to_overrides("pyramidsepdrop", values)
    assert not any(key.startswith("tuner/") for key in overrides)
    config = resolve_config({"arch": "pyramidsepdrop", **overrides})
    assert config.model.depth == get_family("pyramidsepdrop").depth_rule.depth(
        values["blocks_per_stage"], bool(values.get("bottleneck")))


def test_invalid_search_space_gives_one_line_error(tmp_path):
    for text, expected in [("alpha: {min: 10}\n", "'alpha'"),
                           ("widen_factor: [2, 4]\n", "unknown key(s) widen_factor"),
                           ("alpha: [1\n", "cannot parse")]:
        with pytest.raises(SpaceError) as err:
            load_space("pyramidsepdrop", str(_space(tmp_path, text)))
        assert expected in str(err.value) and "\n" not in str(err.value)
    result = call_app("tune.py", *SEARCH, "--max-trials", "1", "--output-dir", tmp_path / "s",
                      "--space", _space(tmp_path, "alpha: {min: 10}\n"), check=False)
    assert result.returncode == 2 and "'alpha'" in error_line(result)
    result = call_app("tune.py", *SEARCH, "--output-dir", tmp_path / "s", "--seed", "-1",
                      check=False)
    assert result.returncode == 2 and "--seed must be >= 0" in error_line(result)


@pytest.mark.slow
def test_a_parameter_budget_no_configuration_fits_says_so_before_searching(tmp_path):
    result = call_app("tune.py", *SEARCH, "--max-trials", "1", "--max-params", "10",
                      "--output-dir", tmp_path / "s", check=False)
    assert result.returncode == 2
    line = error_line(result)
    assert "the smallest configuration of the search space has" in line
    smallest = int(line.split(" has ")[1].split(" parameters")[0].replace(",", ""))
    # One block per stage, alpha 12: PyramidSepDrop-8 (basic) or -11 (bottleneck).
    assert smallest == min(count_params("pyramidsepdrop", 10, depth=8, alpha=12),
                           count_params("pyramidsepdrop", 10, depth=11, alpha=12,
                                        bottleneck=True))
    assert not (tmp_path / "s").exists()


def test_the_smallest_corners_cover_each_choice_at_the_minimum_sizes():
    corners = smallest_corners(default_space("pyramidnet"))
    assert sorted((c["bottleneck"], c["drop_mode"]) for c in corners) == [
        (False, "batch"), (False, "sample"), (True, "batch"), (True, "sample")]
    assert all(c["blocks_per_stage"] == 1 and c["alpha"] == 12 and c["lr"] > 0
               for c in corners)
