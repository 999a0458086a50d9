"""A run's training curves as a picture, ``curves.png`` beside ``history.json``: loss, accuracy
and learning rate per epoch, training and validation. Redrawn after every epoch; without
matplotlib (the ``analysis`` extra) one warning says so and the run trains on without it."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

from keras_wrn.core import console
from keras_wrn.core.figures import new_figure, save_png

_warned = False  # one warning a process, not one an epoch


def write_curves(history: list[dict[str, Any]], path: str | Path, title: str) -> None:
    """Draws ``history`` (history.json's records) to ``path``; a picture that cannot be drawn
    is a warning, never the end of a run."""
    global _warned
    try:
        figure = curves_figure(history, title)
        save_png(figure, path)
    except Exception as err:  # days of training outweigh one picture
        if not _warned:
            missing = isinstance(err, ModuleNotFoundError) and (err.name or "").startswith(
                "matplotlib")
            reason = ("matplotlib is not installed (pip install 'keras_wrn[analysis]')"
                      if missing else f"{type(err).__name__}: {str(err)[:120]}")
            console.say(f"warning: no {Path(path).name}: {reason}; history.json and the "
                        f"TensorBoard logs in logs/ hold the same numbers.", sys.stderr)
            _warned = True


def curves_figure(history: list[dict[str, Any]], title: str) -> Any:
    """Three panels against the epoch: loss, top-1 accuracy (%) and learning rate."""
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    style = {"marker": "o", "markersize": 3} if len(epochs) <= 40 else {}
    figure = new_figure(13, 3.8)
    loss, accuracy, lr = figure.subplots(1, 3)

    def plot(axes, key, label, scale=1.0, **extra):
        points = [(r["epoch"], r[key] * scale) for r in history if r.get(key) is not None]
        if points:
            axes.plot(*zip(*points, strict=True), label=label, **style, **extra)

    plot(loss, "train_loss", "training")
    plot(loss, "val_loss", "validation")
    loss.set(title="Loss", ylabel="cross-entropy")
    plot(accuracy, "train_acc", "training (augmented batches)", 100)
    plot(accuracy, "val_top1", "validation top-1", 100)
    plot(accuracy, "val_top5", "validation top-5", 100, linestyle=":")
    accuracy.set(title="Accuracy", ylabel="accuracy (%)")
    plot(lr, "lr", "at the epoch's last step", color="C2")
    if _steps_down(history):
        lr.set_yscale("log")  # each x0.1 (or x0.2) a step of the same height
    lr.set(title="Learning rate", ylabel="learning rate")
    for axes in (loss, accuracy, lr):
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend(fontsize="small")
    figure.suptitle(title)
    return figure


def _steps_down(history: list[dict[str, Any]]) -> bool:
    """Whether the learning rate is a step schedule spanning more than 20x: constant from epoch
    to epoch but for a few changes (milestones, a short warm-up). A cosine changes every epoch,
    and on a log scale its last epochs, near zero, would flatten the rest."""
    rates = [r["lr"] for r in history if r.get("lr") is not None]
    if not rates or min(rates) <= 0 or max(rates) / min(rates) <= 20:
        return False
    changes = sum(abs(b - a) > 1e-6 * a for a, b in itertools.pairwise(rates))
    return changes <= min(6, (len(rates) - 1) / 2)
