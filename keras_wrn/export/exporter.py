"""One export: the SavedModel, TFLite and ONNX files of a new version, each measured against the
float Keras model (file size, top-1, agreement of top-1 predictions, batch-1 latency; the int8
files under TFLite Micro too), and the report, which names the machine it was measured on."""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_wrn.analysis import residual_blocks, without_blocks
from keras_wrn.benchmark.machine import machine_info
from keras_wrn.export import micro, tflite
from keras_wrn.export.layout import (
    ExportError,
    model_base,
    next_version,
    publish,
    staging_dir,
)
from keras_wrn.export.litert import LiteRTModel
from keras_wrn.export.saved_model import write_saved_model
from keras_wrn.interrupts import StopSignals
from keras_wrn.training.artifacts import write_json

OPTIMIZED_FORMATS = ("tflite_qat_int8", "tflite_pruned_int8")
FORMATS = ("saved_model", *tflite.PTQ_FORMATS, *OPTIMIZED_FORMATS, "onnx")


@dataclasses.dataclass
class ExportData:
    """Images as float32 0-255 arrays: calibration (and fine-tuning) from the training data,
    evaluation from held-out data."""

    calibration: np.ndarray | None = None
    # Epoch e's batches of (images, one-hot labels), shuffled and augmented as in training.
    fine_tune: Callable[[int], tf.data.Dataset] | None = None
    eval_images: np.ndarray | None = None
    eval_labels: np.ndarray | None = None


@dataclasses.dataclass
class ExportOptions:
    formats: tuple[str, ...] = ("saved_model", "tflite_fp32", "tflite_int8")
    version: int | None = None
    qat_epochs: int = 0
    qat_lr: float = 1e-3  # the fine-tuning's first LR, annealed to zero
    freeze_bn_after: float = 0.25  # QAT: batch norms frozen after this fraction of the steps
    qat_targets: str = "distill"  # the float model's probabilities, or "labels"
    label_smoothing: float = 0.0  # the training recipe's
    prune_sparsity: float = 0.0
    prune_epochs: int = 1
    fine_tune_steps: int | None = None  # cap per fine-tuning epoch (None: the whole data)
    threads: int = 1
    lesion: tuple[int, ...] = ()  # depth ladder: also K blocks deleted, for each K
    micro_examples: int = 200  # evaluation images run under TFLite Micro (one at a time)


def check_formats(formats: list[str] | tuple[str, ...], options: ExportOptions) -> None:
    if not formats:
        raise ExportError(f"--formats names no format; pass some of {', '.join(FORMATS)}.")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ExportError(f"unknown format(s) {', '.join(unknown)}; formats: {', '.join(FORMATS)}.")
    if "tflite_qat_int8" in formats and options.qat_epochs < 1:
        raise ExportError("tflite_qat_int8 needs --qat-epochs N (N >= 1).")
    if "tflite_pruned_int8" in formats and not 0 < options.prune_sparsity < 1:
        raise ExportError("tflite_pruned_int8 needs --prune SPARSITY in (0, 1).")
    if options.lesion and not [f for f in formats if f in tflite.PTQ_FORMATS]:
        raise ExportError(f"--lesion exports its rungs in the first post-training TFLite "
                          f"format of --formats; add one of {', '.join(tflite.PTQ_FORMATS)}.")
    if any(k < 1 for k in options.lesion):
        raise ExportError(f"--lesion takes numbers of blocks >= 1, got {list(options.lesion)}.")
    if "tflite_micro" in formats and not micro.available():
        raise ExportError("tflite_micro runs the model under TFLite Micro, which needs the "
                          "tflite-micro package; pip install 'keras_wrn[micro]'.")
    if "onnx" in formats:
        from keras_wrn.export import onnx

        onnx.check_installed()


def _gzip_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def _dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _optimized(model: keras.Model, fmt: str, data: ExportData,
               options: ExportOptions) -> tuple[bytes, dict[str, Any]]:
    """QAT or pruned int8 TFLite (tensorflow-model-optimization, imported only here), and what
    to report about it."""
    from keras_wrn.export import optimize

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
    converter = tflite.configure(tflite.keras_converter(twin), fmt,
                                 tflite.representative_dataset(data.calibration))
    return tflite.convert(converter, fmt), extra


def _measure(name: str, logits: np.ndarray, reference: np.ndarray,
             labels: np.ndarray | None) -> dict[str, Any]:
    predicted = logits.argmax(-1)
    row = {"format": name, "agreement": float((predicted == reference).mean())}
    if labels is not None:
        row["top1"] = float((predicted == labels).mean())
    return row


def cheapest_blocks(model: keras.Model, data: ExportData) -> list[str]:
    """The residual blocks ordered by what deleting each alone costs in top-1 on the evaluation
    data (least first; ties by position, input side first)."""
    costs = []
    for index, block in enumerate(residual_blocks(model)):
        logits = without_blocks(model, [block]).predict(data.eval_images, batch_size=100,
                                                         verbose=0)
        costs.append((-float((logits.argmax(-1) == data.eval_labels).mean()), index, block))
    return [block for _, _, block in sorted(costs)]


def _write_ladder(model: keras.Model, fmt: str, data: ExportData, lesion: tuple[int, ...],
                  tmp: Path, representative, log) -> list[dict[str, Any]]:
    """The depth ladder: for each K, the model without the K cheapest blocks as ``fmt``
    (``fmt_minusK.tflite``); the rows to measure, as the other formats are."""
    order = cheapest_blocks(model, data)
    rungs = []
    for k in sorted(set(lesion)):
        removed = order[:k]
        name = f"{fmt}_minus{k}"
        content = tflite.convert_keras(without_blocks(model, removed), fmt, representative)
        (tmp / f"{name}.tflite").write_bytes(content)
        log(f"{name}: {len(content):,} bytes, blocks {', '.join(removed)} deleted")
        rungs.append({"format": name, "blocks_removed": k, "removed": removed})
    return rungs


def check_data(formats: tuple[str, ...], data: ExportData,
               lesion: tuple[int, ...] = ()) -> None:
    """Every format's inputs are there, before the first byte of an export is written."""
    if lesion and (data.eval_images is None or data.eval_labels is None):
        raise ExportError("--lesion picks the blocks to delete on labelled evaluation data; "
                          "pass --eval-data-dir or --eval-dataset (a training output "
                          "directory as --model brings its own).")
    needs = [f for f in formats if f in tflite.INT8_FORMATS]
    if needs and data.calibration is None:
        raise ExportError(f"{needs[0]} needs calibration images; pass --calibration-dir or "
                          f"--calibration-dataset (a training output directory as --model "
                          f"brings its own).")
    tuned = [f for f in formats if f in OPTIMIZED_FORMATS]
    if tuned and data.fine_tune is None:
        raise ExportError(f"{tuned[0]} fine-tunes on training data; pass --calibration-dir or "
                          f"--calibration-dataset.")


def _saved_model_row(path: Path, final: Path, data: ExportData, reference: np.ndarray | None,
                     sample: np.ndarray) -> dict[str, Any]:
    row = {"format": "saved_model", "path": str(final), "size_bytes": _dir_size(path)}
    if reference is None:
        return row
    serve = tf.saved_model.load(str(path)).signatures["serve_float"]
    probabilities = np.concatenate([
        serve(images=tf.constant(data.eval_images[i:i + 100]))["probabilities"].numpy()
        for i in range(0, len(data.eval_images), 100)])
    row.update(_measure("saved_model", np.log(probabilities + 1e-12), reference,
                        data.eval_labels))
    one = tf.constant(sample[None])
    serve(images=one)
    start = time.perf_counter()
    for _ in range(20):
        serve(images=one)
    row["latency_ms"] = (time.perf_counter() - start) / 20 * 1000
    return row


def _micro_entry(fmt: str, content: bytes, litert: np.ndarray | None, data: ExportData,
                 options: ExportOptions, arena: int | None) -> dict[str, Any] | None:
    """The int8 row's ``micro`` entry (None without the tflite-micro package), against LiteRT's
    logits on the evaluation images (None without them). Only tflite_micro must run there: for
    the other formats a failure is reported, not raised."""
    if not micro.available():
        return None
    if litert is None:
        images, litert = np.zeros((0, 0, 0, 3), np.float32), np.zeros((0, 0), np.float32)
    else:
        images, litert = (data.eval_images[:options.micro_examples],
                          litert[:options.micro_examples])
    try:
        return micro.check(content, images, litert, fmt, arena)
    except ExportError as err:
        if fmt == "tflite_micro":
            raise
        return {"runs": False, "error": str(err)}


def _tflite_row(fmt: str, path: Path, final: Path, data: ExportData,
                reference: np.ndarray | None, sample: np.ndarray,
                options: ExportOptions, arena: int | None = None) -> dict[str, Any]:
    runner = LiteRTModel(path, num_threads=options.threads)
    content = path.read_bytes()
    row = {"format": fmt, "path": str(final), "size_bytes": path.stat().st_size,
           "gzip_bytes": _gzip_size(path), "latency_ms": runner.latency_ms(sample),
           "float_ops": len(tflite.float_tensor_ops(content))
           if fmt in tflite.INT8_FORMATS else None}
    logits = None
    if reference is not None:
        logits = runner.predict(data.eval_images)
        row.update(_measure(fmt, logits, reference, data.eval_labels))
    if fmt in tflite.INT8_FORMATS:
        row["micro"] = _micro_entry(fmt, content, logits, data, options, arena)
    return row


def _write_micro(content: bytes, tmp: Path, name: str, log) -> int:
    """Checks that tflite_micro runs under TFLite Micro (ExportError naming the op it lacks) and
    writes its C++ header beside it; returns the arena size."""
    arena = micro.arena_size(content, "tflite_micro")
    header = micro.c_header(content, name, arena, tflite.op_names(content))
    (tmp / "tflite_micro.h").write_text(header)
    log(f"tflite_micro: runs under TFLite Micro in a {arena:,}-byte arena (tflite_micro.h)")
    return arena


def _write_onnx(model: keras.Model, class_names: list[str], tmp: Path, final: Path,
                data: ExportData, reference: np.ndarray | None, sample: np.ndarray,
                options: ExportOptions, log) -> dict[str, Any]:
    """``model.onnx`` and ``labels.txt`` in ``tmp`` (a Triton-style VERSION folder), measured
    with onnxruntime."""
    from keras_wrn.export import onnx

    start = time.perf_counter()
    content = onnx.convert(model)
    tmp.mkdir(parents=True)
    (tmp / "model.onnx").write_bytes(content)
    (tmp / "labels.txt").write_text("\n".join(class_names) + "\n")
    log(f"onnx: {len(content):,} bytes in {time.perf_counter() - start:.1f} s")
    runner = onnx.OnnxModel(content, options.threads)
    row = {"format": "onnx", "path": str(final / "model.onnx"), "size_bytes": len(content),
           "gzip_bytes": _gzip_size(tmp / "model.onnx"),
           "latency_ms": runner.latency_ms(sample), "opset": onnx.OPSET,
           "provider": runner.provider}
    if reference is not None:
        row.update(_measure("onnx", runner.predict(data.eval_images), reference,
                            data.eval_labels))
    return row


def export(model: keras.Model, class_names: list[str], name: str, export_dir: str | Path,
           data: ExportData, options: ExportOptions, log=print) -> dict[str, Any]:
    """Writes version ``options.version`` (or the next one) of ``name`` and its report. Every
    format is written and measured in staging folders; the version appears (renamed into
    place) only once all of them and the report are done, so TF Serving never loads a version
    whose export failed or was interrupted. SIGINT and SIGTERM raise KeyboardInterrupt and
    :class:`~keras_wrn.interrupts.Terminated`, also when converter code swallowed them or made
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
        rows.append(_measure("keras_float", reference_logits, reference, data.eval_labels))
    sample = (data.eval_images[0] if evaluate else
              np.zeros(model.input_shape[1:], np.float32))
    staged: dict[Path, Path] = {}  # final path: its staging folder
    made = [folder for folder in (base / "tflite", base / "onnx", base) if not folder.exists()]
    tflite_formats = [f for f in options.formats if f not in ("saved_model", "onnx")]
    try:
        stops.check()
        if "saved_model" in options.formats:
            final = base / str(version)
            tmp = staged[final] = staging_dir(final)
            write_saved_model(model, class_names, tmp)
            log(f"saved_model: {_dir_size(tmp):,} bytes")
            stops.check()
            rows.append(_saved_model_row(tmp, final, data, reference, sample))
            stops.check()
        if tflite_formats:
            final = base / "tflite" / str(version)
            tmp = staged[final] = staging_dir(final)
            tmp.mkdir(parents=True)
            (tmp / "labels.txt").write_text("\n".join(class_names) + "\n")
            # Keras 3 conversions first: importing tfmot (QAT / pruning) switches tf.keras to
            # tf_keras.
            ordered = sorted(tflite_formats, key=lambda f: f in OPTIMIZED_FORMATS)
            representative = (tflite.representative_dataset(data.calibration)
                              if data.calibration is not None else None)
            extras: dict[str, dict[str, Any]] = {}
            arena = None
            rung_format = next((f for f in ordered if f in tflite.PTQ_FORMATS), None)
            rungs = (_write_ladder(model, rung_format, data, options.lesion, tmp,
                                   representative, log) if options.lesion else [])
            stops.check()
            for fmt in ordered:
                start = time.perf_counter()
                if fmt in OPTIMIZED_FORMATS:
                    content, extras[fmt] = _optimized(model, fmt, data, options)
                else:
                    content = tflite.convert_keras(model, fmt, representative)
                stops.check()
                (tmp / f"{fmt}.tflite").write_bytes(content)
                log(f"{fmt}: {len(content):,} bytes in {time.perf_counter() - start:.1f} s")
                if fmt == "tflite_micro":
                    arena = _write_micro(content, tmp, name, log)
                    stops.check()
            for fmt in ordered:
                rows.append({**_tflite_row(fmt, tmp / f"{fmt}.tflite",
                                           final / f"{fmt}.tflite", data, reference, sample,
                                           options, arena if fmt == "tflite_micro" else None),
                             **extras.get(fmt, {})})
                stops.check()
            for rung in rungs:
                file = f"{rung['format']}.tflite"
                rows.append({**_tflite_row(rung_format, tmp / file, final / file, data,
                                           reference, sample, options), **rung})
                stops.check()
        if "onnx" in options.formats:
            final = base / "onnx" / str(version)
            tmp = staged[final] = staging_dir(final)
            rows.append(_write_onnx(model, class_names, tmp, final, data, reference, sample,
                                    options, log))
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
