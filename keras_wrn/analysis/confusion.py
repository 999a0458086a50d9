"""Per-class results of an evaluation as files: ``per_class.json`` (each class's accuracy and the
confusion matrix) and ``confusion.png`` (the matrix as a picture, each row as fractions of its
true class, the class names with their accuracy). The picture needs matplotlib (the
``analysis`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from keras_wrn.analysis.scores import Scores
from keras_wrn.core.artifacts import write_json
from keras_wrn.core.figures import new_figure, save_png

NAMED_UP_TO = 60  # classes: beyond, the axes are numbered, not named
COUNTED_UP_TO = 20  # classes: up to these, each cell shows its count


def per_class_report(scores: Scores, class_names: list[str], **facts: Any) -> dict[str, Any]:
    """``facts`` (the model, the data), the overall metrics, each class's accuracy and the
    confusion matrix (rows: true classes, columns: predicted, in ``classes``' order)."""
    return {**facts, **scores.metrics(), "classes": class_names,
            "per_class": scores.per_class(class_names),
            "confusion": scores.confusion.tolist()}


def confusion_figure(report: dict[str, Any], title: str) -> Any:
    """The confusion matrix of a :func:`per_class_report`, rows normalised to fractions."""
    counts = np.asarray(report["confusion"])
    classes = len(counts)
    totals = counts.sum(1, keepdims=True)
    fractions = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    side = min(max(4 + 0.4 * classes, 6.5), 18)
    figure = new_figure(side + 1.5, side)
    axes = figure.subplots()
    image = axes.imshow(fractions, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    colorbar = figure.colorbar(image, ax=axes, shrink=0.8)
    colorbar.set_label("fraction of the true class's images")
    if classes <= NAMED_UP_TO:
        ticks = np.arange(classes)
        accuracy = [row["accuracy"] for row in report["per_class"]]
        axes.set_yticks(ticks, [f"{name} ({'-' if a is None else f'{a:.0%}'})"
                                for name, a in zip(report["classes"], accuracy, strict=True)])
        axes.set_xticks(ticks, report["classes"], rotation=45, ha="right",
                        rotation_mode="anchor")
    if classes <= COUNTED_UP_TO:
        for (row, column), count in np.ndenumerate(counts):
            if count:
                axes.text(column, row, str(count), ha="center", va="center", fontsize="small",
                          color="white" if fractions[row, column] > 0.5 else "black")
    if classes <= NAMED_UP_TO:
        axes.set(xlabel="predicted class", ylabel="true class (its accuracy)")
    else:
        axes.set(xlabel="predicted class (index in per_class.json's classes)",
                 ylabel="true class (index)")
    counted = " (in the cells: images)" if classes <= COUNTED_UP_TO else ""
    axes.set_title(f"{title}\ntop-1 {report['top1']:.1%} on {report['examples']:,} "
                   f"images{counted}")
    return figure


def write_per_class(report: dict[str, Any], output: str | Path, title: str) -> list[Path]:
    """Writes ``OUTPUT/per_class.json`` and ``OUTPUT/confusion.png`` (atomically); their
    paths."""
    output = Path(output)
    figure = confusion_figure(report, title)  # before any file: matplotlib may be missing
    write_json(output / "per_class.json", report)
    save_png(figure, output / "confusion.png")
    return [output / "per_class.json", output / "confusion.png"]
