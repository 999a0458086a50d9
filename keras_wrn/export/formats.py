"""The export formats as records: each format's module declares where its files go, what it
needs, how it is written and how it is measured, and registers it; the exporter, the layout of
the export folders and export.py's help read the records."""

from __future__ import annotations

import dataclasses
import gzip
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


@dataclasses.dataclass
class Job:
    """What every format's writer and measurer is given for one export."""

    model: Any  # the float Keras model
    class_names: list[str]
    name: str
    data: Any  # exporter.ExportData
    options: Any  # exporter.ExportOptions
    reference: np.ndarray | None  # the float model's top-1 on the evaluation images
    sample: np.ndarray  # one image, for latency
    log: Callable[[str], None]
    check: Callable[[], None]  # raises a stop signal received since the last check
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)  # a format's, for its row


@dataclasses.dataclass(frozen=True)
class Format:
    """One export format.

    ``write(job, folder)`` writes its files into the staging folder of its ``folder`` (created,
    with ``labels.txt``, except for the SavedModel's root) and returns their names;
    ``measure(job, folder, final)`` returns its report row, ``final`` being where the files will
    be published. ``check(options)`` refuses options or a missing package (ExportError)."""

    name: str
    rank: int  # its place in the export order, the reports and the help (fine-tuning last)
    help: str
    folder: str  # "": EXPORT_DIR/NAME/VERSION (TF Serving's); else EXPORT_DIR/NAME/FOLDER/VERSION
    write: Callable[[Job, Path], list[str]]
    measure: Callable[[Job, Path, Path], list[dict[str, Any]]]
    check: Callable[[Any], None] | None = None
    calibrates: bool = False  # int8: needs calibration images
    fine_tunes: bool = False  # QAT, pruning: needs training data; written after the others
    ladder: bool = False  # a post-training TFLite format: the lesion ladder's rungs are in it


FORMATS: dict[str, Format] = {}


def register(*formats: Format) -> None:
    """Adds formats to the registry; a name registered twice is a programming error."""
    for fmt in formats:
        if fmt.name in FORMATS:
            raise ValueError(f"export format {fmt.name!r} is registered already.")
        FORMATS[fmt.name] = fmt


# The modules of the formats keras_wrn ships, each registering its own on import.
BUILTIN = ("saved_model", "tflite_formats", "optimized", "onnx")


def load_builtin() -> None:
    """Imports the shipped formats' modules (which load TensorFlow only when they convert)."""
    for module in BUILTIN:
        importlib.import_module(f"keras_wrn.export.{module}")


def ordered(names: list[str] | tuple[str, ...] | None = None) -> list[Format]:
    """The formats named (default: every one), in their ranks' order."""
    load_builtin()
    chosen = FORMATS.values() if names is None else (FORMATS[n] for n in dict.fromkeys(names))
    return sorted(chosen, key=lambda f: f.rank)


def folders() -> list[str]:
    """The folders of versions beside the SavedModel's (``tflite``, ``onnx``, ...)."""
    load_builtin()
    return sorted({fmt.folder for fmt in FORMATS.values() if fmt.folder})


def gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def measure(name: str, logits: np.ndarray, reference: np.ndarray,
            labels: np.ndarray | None) -> dict[str, Any]:
    """Agreement of top-1 with the float model's, and top-1 where labels are known."""
    predicted = logits.argmax(-1)
    row = {"format": name, "agreement": float((predicted == reference).mean())}
    if labels is not None:
        row["top1"] = float((predicted == labels).mean())
    return row
