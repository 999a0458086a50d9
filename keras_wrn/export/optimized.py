"""The int8 TFLite formats that fine-tune first: quantisation-aware training and magnitude
pruning (tensorflow-model-optimization, imported only while one is written: importing it
switches tf.keras to tf_keras for the process, so these are written after the others)."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from keras_wrn.core import lazy
from keras_wrn.export import tflite
from keras_wrn.export.formats import Format, Job, register
from keras_wrn.export.layout import ExportError
from keras_wrn.export.tflite_formats import representative, tflite_row

tf = lazy.module("tensorflow")


def optimized(job: Job, fmt: str) -> tuple[bytes, dict[str, Any]]:
    """QAT or pruned int8 TFLite, and what to report about it."""
    from keras_wrn.export import optimize

    model, data, options = job.model, job.data, job.options
    epochs = options.qat_epochs if fmt == "tflite_qat_int8" else options.prune_epochs
    parts = [data.fine_tune(epoch) for epoch in range(epochs)]
    if options.fine_tune_steps:
        parts = [part.take(options.fine_tune_steps) for part in parts]
    batches = functools.reduce(tf.data.Dataset.concatenate, parts)
    steps = int(batches.cardinality())
    if fmt == "tflite_qat_int8":
        twin = optimize.quantize_aware(model, data.calibration)
        optimize.fine_tune(twin, batches, options.qat_lr, freeze_bn_after=options.freeze_bn_after,
                           label_smoothing=options.label_smoothing,
                           teacher=model if options.qat_targets == "distill" else None)
        extra = {"qat_epochs": options.qat_epochs, "qat_steps": steps, "qat_lr": options.qat_lr,
                 "qat_targets": options.qat_targets,
                 "freeze_bn_after_steps": round(steps * options.freeze_bn_after)}
    else:
        pruned, callbacks = optimize.prune(model, options.prune_sparsity, steps)
        optimize.fine_tune(pruned, batches, options.qat_lr, callbacks,
                           label_smoothing=options.label_smoothing)
        twin = optimize.strip_pruning(pruned)
        extra = {"kernel_sparsity": round(optimize.kernel_sparsity(twin), 4),
                 "prune_epochs": options.prune_epochs}
    converter = tflite.configure(tflite.keras_converter(twin), fmt, representative(job))
    return tflite.convert(converter, fmt), extra


def _writer(fmt: str):
    def write(job: Job, folder: Path) -> list[str]:
        start = time.perf_counter()
        content, job.notes[fmt] = optimized(job, fmt)
        job.check()
        (folder / f"{fmt}.tflite").write_bytes(content)
        job.log(f"{fmt}: {len(content):,} bytes in {time.perf_counter() - start:.1f} s")
        return [f"{fmt}.tflite"]

    return write


def _measurer(fmt: str):
    def measure(job: Job, folder: Path, final: Path) -> list[dict[str, Any]]:
        file = f"{fmt}.tflite"
        return [{**tflite_row(fmt, folder / file, final / file, job), **job.notes[fmt]}]

    return measure


def _needs_qat_epochs(options: Any) -> None:
    if options.qat_epochs < 1:
        raise ExportError("tflite_qat_int8 needs --qat-epochs N (N >= 1).")


def _needs_sparsity(options: Any) -> None:
    if not 0 < options.prune_sparsity < 1:
        raise ExportError("tflite_pruned_int8 needs --prune SPARSITY in (0, 1).")


register(
    Format(name="tflite_qat_int8", rank=30, folder="tflite", write=_writer("tflite_qat_int8"),
           measure=_measurer("tflite_qat_int8"), check=_needs_qat_epochs, calibrates=True,
           fine_tunes=True,
           help="int8 TFLite after quantisation-aware fine-tuning (--qat-epochs)"),
    Format(name="tflite_pruned_int8", rank=31, folder="tflite", write=_writer("tflite_pruned_int8"),
           measure=_measurer("tflite_pruned_int8"), check=_needs_sparsity, calibrates=True,
           fine_tunes=True, help="int8 TFLite of the model pruned to --prune sparsity"),
)
