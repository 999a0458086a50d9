"""The pictures people expect: a run's curves.png (drawn each epoch, skipped with one warning
without matplotlib, never the end of a run) and evaluate's confusion.png at any number of
classes."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from keras_wrn.analysis.confusion import confusion_figure, per_class_report
from keras_wrn.analysis.scores import Scores
from keras_wrn.training import curves

PNG = b"\x89PNG\r\n\x1a\n"


def _history(epochs: int) -> list[dict]:
    return [{"epoch": e, "train_loss": 2.0 / e, "train_acc": 0.2 * e, "lr": 0.1 * 0.2 ** (e // 2),
             "val_loss": 2.1 / e, "val_top1": 0.19 * e, "val_top5": 0.5 + 0.1 * e}
            for e in range(1, epochs + 1)]


def test_curves_show_loss_accuracy_and_the_learning_rate(tmp_path):
    path = tmp_path / "curves.png"
    curves.write_curves(_history(4), path, "run: wrn")
    assert path.read_bytes()[:8] == PNG
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary left
    figure = curves.curves_figure(_history(4), "run: wrn")
    loss, accuracy, lr = figure.axes
    assert [line.get_label() for line in loss.lines] == ["training", "validation"]
    assert [line.get_label() for line in accuracy.lines] == [
        "training (augmented batches)", "validation top-1", "validation top-5"]
    assert list(accuracy.lines[1].get_ydata()) == pytest.approx([19, 38, 57, 76])
    assert lr.get_xlabel() == "epoch"


def test_a_step_schedule_gets_a_log_scale_and_a_cosine_does_not():
    steps = [{**r, "lr": 0.1 * 0.1 ** ((r["epoch"] - 1) // 4)} for r in _history(12)]
    assert curves.curves_figure(steps, "run").axes[2].get_yscale() == "log"
    cosine = [{**r, "lr": 0.05 * (1 + np.cos(np.pi * r["epoch"] / 7)) / 2} for r in _history(6)]
    assert curves.curves_figure(cosine, "run").axes[2].get_yscale() == "linear"


def test_a_run_without_validation_draws_its_training_curves(tmp_path):
    history = [{k: v for k, v in r.items() if not k.startswith("val_")} for r in _history(2)]
    figure = curves.curves_figure(history, "run")
    assert [len(axes.lines) for axes in figure.axes] == [1, 1, 1]


def test_without_matplotlib_one_warning_and_training_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    monkeypatch.setattr(curves, "_warned", False)
    for epochs in (1, 2, 3):
        curves.write_curves(_history(epochs), tmp_path / "curves.png", "run")
    assert not (tmp_path / "curves.png").exists()
    assert capsys.readouterr().err == (
        "warning: no curves.png: matplotlib is not installed (pip install "
        "'keras_wrn[analysis]'); history.json and the TensorBoard logs in logs/ hold the same "
        "numbers.\n")


@pytest.mark.parametrize("classes", [3, 40, 200])
def test_the_confusion_matrix_names_its_classes_while_they_fit(classes):
    scores = Scores(classes)
    labels = np.repeat(np.arange(classes), 2)
    second = np.arange(2 * classes) % 2  # each class's second image taken for the next class
    scores.add(np.eye(classes)[(labels + second) % classes] * 5, labels)
    report = per_class_report(scores, [f"c{i}" for i in range(classes)])
    assert report["top1"] == 0.5
    assert [r["accuracy"] for r in report["per_class"]] == [0.5] * classes
    axes = confusion_figure(report, "model on data").axes[0]
    ticks = [t.get_text() for t in axes.get_yticklabels()]
    if classes <= 60:
        assert ticks[:2] == ["c0 (50%)", "c1 (50%)"]
        assert [t.get_text() for t in axes.get_xticklabels()][:2] == ["c0", "c1"]
    else:
        assert "c0" not in " ".join(ticks)
    assert bool(axes.texts) == (classes <= 20)  # counts in the cells of small matrices


def test_scores_match_their_definitions():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 0.0]])
    scores = Scores(3)
    scores.add(logits, np.array([0, 1, 1]))
    metrics = scores.metrics()
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    assert metrics["loss"] == pytest.approx(-(log_softmax[0, 0] + log_softmax[1, 1]
                                              + log_softmax[2, 1]) / 3)
    assert (metrics["top1"], metrics["top5"], metrics["examples"]) == (2 / 3, 1.0, 3)
    assert scores.confusion.tolist() == [[1, 0, 0], [0, 1, 1], [0, 0, 0]]
    assert scores.per_class(["a", "b", "c"])[2] == {"class": "c", "examples": 0, "correct": 0,
                                                   "accuracy": None}
    with pytest.raises(ValueError, match="the evaluation data is empty"):
        Scores(3).metrics()
