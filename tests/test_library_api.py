"""The library functions the apps call, called from Python as a notebook would: a run, a
search and an export, each small and on the synthetic data."""

from __future__ import annotations

import json

import pytest

from keras_wrn.export import ExportError, ExportOptions, ExportRequest, export_run
from keras_wrn.training.config import ConfigError
from keras_wrn.training.launch import TrainSummary, train_run
from keras_wrn.tuning.launch import SearchResult, search
from keras_wrn.tuning.options import SearchError, SearchOptions

TINY = {"arch": "resnet", "depth": 8, "recipe": "quick", "dataset": "synthetic",
        "epochs": 1, "steps_per_epoch": 4}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A tiny run trained by train_run, then its folder."""
    out = tmp_path_factory.mktemp("api") / "run"
    lines: list[str] = []
    summary = train_run({**TINY, "output_dir": str(out)}, echo=lines.append)
    assert isinstance(summary, TrainSummary)
    assert summary.arch == "resnet" and summary.epochs == 1
    assert summary.output_dir == str(out)
    assert any(line.startswith("resnet: ") for line in lines)
    return out


def test_train_run_writes_the_run_record(run_dir):
    run = json.loads((run_dir / "run.json").read_text())
    assert run["num_classes"] == 10 and run["params"] > 0
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"]["arch"] == "resnet"


def test_train_run_refuses_another_run_in_the_folder(run_dir):
    with pytest.raises(ConfigError, match="holds another run"):
        train_run({**TINY, "depth": 14, "output_dir": str(run_dir)})


def test_export_run_exports_the_run(run_dir, tmp_path):
    request = ExportRequest(model=str(run_dir), name="tiny", export_dir=str(tmp_path),
                            eval_examples=50,
                            options=ExportOptions(formats=("tflite_fp32",), threads=1))
    report = export_run(request, log=lambda *_: None)
    assert (tmp_path / "tiny" / "report.json").is_file()
    assert "tflite_fp32" in json.dumps(report)


def test_export_request_is_checked_before_anything_loads(tmp_path):
    request = ExportRequest(model=str(tmp_path / "none"), name="x", export_dir=str(tmp_path),
                            options=ExportOptions(threads=0))
    with pytest.raises(ExportError, match="--threads must be >= 1"):
        export_run(request)


def test_search_runs_one_trial(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text("blocks_per_stage: [1]\n")
    result = search("resnet", {k: v for k, v in TINY.items() if k not in ("arch", "depth")},
                    tmp_path / "search", SearchOptions(max_trials=1, space=str(space)))
    assert isinstance(result, SearchResult)
    assert len(result.rows) == 1 and result.best_trial == 1
    assert result.best_config.is_file()


def test_search_refuses_a_preset(tmp_path):
    with pytest.raises(SearchError, match="--arch takes a family"):
        search("wrn-28-10", {}, tmp_path / "s")
