"""One export: the files of a new version in every format asked for (the records of
`keras_wrn.export.formats`), each measured against the float Keras model (file size, top-1,
agreement of top-1 predictions, batch-1 latency; the int8 files under TFLite Micro too), and the
report, which names the machine it was measured on."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_wrn.analysis import residual_blocks
from keras_wrn.benchmark.machine import machine_info
from keras_wrn.core.artifacts import write_json
from keras_wrn.core.interrupts import StopSignals
from keras_wrn.export.formats import FORMATS, Format, Job, load_builtin, measure, ordered
from keras_wrn.export.layout import (
    ExportError,
    model_base,
    next_version,
    publish,
    staging_dir,
)
from keras_wrn.export.request import ExportOptions

load_builtin()  # the shipped formats register themselves


@dataclasses.dataclass
class ExportData:
    """Images as float32 0-255 arrays: calibration (and fine-tuning) from the training data,
    evaluation from held-out data."""

    calibration: np.ndarray | None = None
    # Epoch e's batches of (images, one-hot labels), shuffled and augmented as in training.
    fine_tune: Callable[[int], tf.data.Dataset] | None = None
    eval_images: np.ndarray | None = None
    eval_labels: np.ndarray | None = None


def check_formats(formats: list[str] | tuple[str, ...], options: ExportOptions) -> None:
    """ExportError for no format, an unknown one, or options a format cannot use."""
    names = ", ".join(f.name for f in ordered())
    if not formats:
        raise ExportError(f"--formats names no format; pass some of {names}.")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format(s) {', '.join(unknown)}; formats: {names}.")
    if options.lesion and not [f for f in formats if FORMATS[f].ladder]:
        ladders = ", ".join(f.name for f in ordered() if f.ladder)
        raise ExportError(f"--lesion exports its rungs in the first post-training TFLite "
                          f"format of --formats; add one of {ladders}.")
    if any(k < 1 for k in options.lesion):
        raise ExportError(f"--lesion takes numbers of blocks >= 1, got {list(options.lesion)}.")
    for fmt in formats:
        if FORMATS[fmt].check is not None:
            FORMATS[fmt].check(options)


def check_data(formats: tuple[str, ...], data: ExportData,
               lesion: tuple[int, ...] = ()) -> None:
    """Every format's inputs are there, before the first byte of an export is written."""
    if lesion and (data.eval_images is None or data.eval_labels is None):
        raise ExportError("--lesion picks the blocks to delete on labelled evaluation data; "
                          "pass --eval-data-dir or --eval-dataset (a training output "
                          "directory as --model brings its own).")
    needs = [f for f in formats if FORMATS[f].calibrates]
    if needs and data.calibration is None:
        raise ExportError(f"{needs[0]} needs calibration images; pass --calibration-dir or "
                          f"--calibration-dataset (a training output directory as --model "
                          f"brings its own).")
    tuned = [f for f in formats if FORMATS[f].fine_tunes]
    if tuned and data.fine_tune is None:
        raise ExportError(f"{tuned[0]} fine-tunes on training data; pass --calibration-dir or "
                          f"--calibration-dataset.")


def export(model: keras.Model, class_names: list[str], name: str, export_dir: str | Path,
           data: ExportData, options: ExportOptions, log=print) -> dict[str, Any]:
    """Writes version ``options.version`` (or the next one) of ``name`` and its report. Every
    format is written and measured in staging folders; the version appears (renamed into
    place) only once all of them and the report are done, so TF Serving never loads a version
    whose export failed or was interrupted. SIGINT and SIGTERM raise KeyboardInterrupt and
    :class:`~keras_wrn.core.interrupts.Terminated`, also when converter code swallowed them or made
    them an error of its own: checked between phases, before publishing and on any failure."""
    check_formats(options.formats, options)
    check_data(options.formats, data, options.lesion)
    blocks = len(residual_blocks(model))
    if options.lesion and max(options.lesion) >= blocks:
        raise ExportError(f"--lesion {max(options.lesion)}: the model has {blocks} residual "
                          f"blocks; delete fewer.")
    with StopSignals() as stops:
        return _export(model, class_names, model_base(export_dir, name), name, data, options,
                       log, stops)


def _groups(formats: tuple[str, ...]) -> list[tuple[str, list[Format]]]:
    """The formats by folder, in their ranks' order (those that fine-tune last: importing tfmot
    switches tf.keras to tf_keras for the process)."""
    groups: dict[str, list[Format]] = {}
    for fmt in ordered(formats):
        groups.setdefault(fmt.folder, []).append(fmt)
    return list(groups.items())


def _export(model: keras.Model, class_names: list[str], base: Path, name: str, data: ExportData,
            options: ExportOptions, log, stops: StopSignals) -> dict[str, Any]:
    """:func:`export` once its inputs are checked, ``stops`` recording the stop signals."""
    version = next_version(base, options.version)
    evaluate = data.eval_images is not None and len(data.eval_images) > 0
    rows: list[dict[str, Any]] = []
    reference = None
    if evaluate:
        reference_logits = np.asarray(model.predict(data.eval_images, batch_size=100, verbose=0))
        reference = reference_logits.argmax(-1)
        rows.append(measure("keras_float", reference_logits, reference, data.eval_labels))
    sample = (data.eval_images[0] if evaluate else
              np.zeros(model.input_shape[1:], np.float32))
    job = Job(model, class_names, name, data, options, reference, sample, log, stops.check)
    staged: dict[Path, Path] = {}  # final path: its staging folder
    groups = _groups(options.formats)
    made = [folder for folder in (*(base / f for f, _ in groups if f), base)
            if not folder.exists()]
    try:
        stops.check()
        for folder, formats in groups:
            final = base / folder / str(version) if folder else base / str(version)
            tmp = staged[final] = staging_dir(final)
            if folder:  # the SavedModel writes its own folder
                tmp.mkdir(parents=True)
                (tmp / "labels.txt").write_text("\n".join(class_names) + "\n")
            for fmt in formats:
                fmt.write(job, tmp)
                stops.check()
            for fmt in formats:
                rows.extend(fmt.measure(job, tmp, final))
                stops.check()
        report = {"name": name, "version": version, "threads": options.threads,
                  "litert_kernels": "xnnpack",
                  "eval_examples": len(data.eval_images) if evaluate else 0,
                  "machine": machine_info(), "formats": rows}
        for final, tmp in staged.items():  # beside the files it measures
            if final.parent != base:
                write_json(tmp / "report.json", report)
        report_tmp = base / f".tmp-report-{os.getpid()}.json"
        write_json(report_tmp, report)
        stops.check()
        # All renames or none: a signal now waits for the last one (then raises).
        with stops.deferred():
            # TF Serving watches BASE/VERSION: the SavedModel goes last.
            for final in sorted(staged, key=lambda f: f.parent == base):
                publish(staged.pop(final), final)
            os.replace(report_tmp, base / "report.json")
    except BaseException:
        for tmp in staged.values():  # never leave a half-written version
            shutil.rmtree(tmp, ignore_errors=True)
        (base / f".tmp-report-{os.getpid()}.json").unlink(missing_ok=True)
        for folder in made:  # and no empty model folder where there was none
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        stops.check()  # a signal that converter code turned into its own error
        raise
    return report


def format_table(report: dict[str, Any]) -> str:
    """The report as a Markdown table, under a line naming the CPU it was measured on."""
    cpu = report.get("machine", {}).get("cpu", {})
    simd = " ".join(cpu.get("simd", [])) or "no SIMD flags read"
    lines = [f"{report['name']} v{report['version']}: {report['eval_examples']} evaluation "
             f"images, latency at batch 1 with {report['threads']} thread(s) on "
             f"{cpu.get('name', 'an unnamed CPU')} ({simd})",
             "| format | size (KB) | gzip (KB) | top-1 | agreement | latency (ms) "
             "| TFLite Micro arena (KB) |",
             "|---|---:|---:|---:|---:|---:|---:|"]

    def cell(row, key, scale=1.0, digits=1):
        value = row.get(key)
        return "" if value is None else f"{value * scale:.{digits}f}"

    for row in report["formats"]:
        entry = row.get("micro") or {}
        arena = (cell(entry, "arena_bytes", 1 / 1024) if entry.get("runs")
                 else "fails" if entry else "")
        lines.append(f"| {row['format']} | {cell(row, 'size_bytes', 1 / 1024)} | "
                     f"{cell(row, 'gzip_bytes', 1 / 1024)} | {cell(row, 'top1', 100, 2)} | "
                     f"{cell(row, 'agreement', 100, 2)} | {cell(row, 'latency_ms', 1, 3)} | "
                     f"{arena} |")
    return "\n".join(lines)


__all__ = ["FORMATS", "ExportData", "ExportError", "ExportOptions", "check_data", "export",
           "format_table"]
