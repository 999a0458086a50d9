"""The post-training TFLite formats (float, float16 weights, dynamic range, int8, int8 from input
to output, and TFLite Micro's), each measured with LiteRT and, for int8, under TFLite Micro; and
the lesion ladder's rungs, written in the first of them an export makes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from keras_wrn.analysis import cheapest_blocks, without_blocks
from keras_wrn.export import micro, tflite
from keras_wrn.export.formats import Format, Job, gzip_size, measure, register
from keras_wrn.export.layout import ExportError
from keras_wrn.export.litert import LiteRTModel


def representative(job: Job) -> tflite.Representative | None:
    """The calibration generator of the job's images, None without them."""
    images = job.data.calibration
    return tflite.representative_dataset(images) if images is not None else None


def tflite_row(fmt: str, path: Path, final: Path, job: Job,
               arena: int | None = None) -> dict[str, Any]:
    """A .tflite file's row: sizes, LiteRT latency and accuracy, float ops left in an int8
    model, and for int8 whether (and in what arena) it runs under TFLite Micro."""
    runner = LiteRTModel(path, num_threads=job.options.threads)
    content = path.read_bytes()
    int8 = fmt in tflite.INT8_FORMATS
    row = {"format": fmt, "path": str(final), "size_bytes": path.stat().st_size,
           "gzip_bytes": gzip_size(path), "latency_ms": runner.latency_ms(job.sample),
           "float_ops": len(tflite.float_tensor_ops(content)) if int8 else None}
    logits = None
    if job.reference is not None:
        logits = runner.predict(job.data.eval_images)
        row.update(measure(fmt, logits, job.reference, job.data.eval_labels))
    if int8:
        row["micro"] = _micro_entry(fmt, content, logits, job, arena)
    return row


def _micro_entry(fmt: str, content: bytes, litert: np.ndarray | None, job: Job,
                 arena: int | None) -> dict[str, Any] | None:
    """The int8 row's ``micro`` entry (None without the tflite-micro package), against LiteRT's
    logits on the evaluation images (None without them). Only tflite_micro must run there: for
    the other formats a failure is reported, not raised."""
    if not micro.available():
        return None
    examples = job.options.micro_examples
    if litert is None:
        images, litert = np.zeros((0, 0, 0, 3), np.float32), np.zeros((0, 0), np.float32)
    else:
        images, litert = job.data.eval_images[:examples], litert[:examples]
    try:
        return micro.check(content, images, litert, fmt, arena)
    except ExportError as err:
        if fmt == "tflite_micro":
            raise
        return {"runs": False, "error": str(err)}


def write_micro(content: bytes, folder: Path, name: str, log) -> int:
    """Checks that tflite_micro runs under TFLite Micro (ExportError naming the op it lacks) and
    writes its C++ header beside it; returns the arena size."""
    arena = micro.arena_size(content, "tflite_micro")
    header = micro.c_header(content, name, arena, tflite.op_names(content))
    (folder / "tflite_micro.h").write_text(header)
    log(f"tflite_micro: runs under TFLite Micro in a {arena:,}-byte arena (tflite_micro.h)")
    return arena


def _write_ladder(job: Job, fmt: str, folder: Path) -> list[dict[str, Any]]:
    """The depth ladder: for each K of ``--lesion``, the model without the K cheapest blocks as
    ``fmt`` (``fmt_minusK.tflite``); what each rung's row adds."""
    data = job.data
    order = cheapest_blocks(job.model, data.eval_images, data.eval_labels)
    rungs = []
    for k in sorted(set(job.options.lesion)):
        removed = order[:k]
        name = f"{fmt}_minus{k}"
        content = tflite.convert_keras(without_blocks(job.model, removed), fmt,
                                       representative(job))
        (folder / f"{name}.tflite").write_bytes(content)
        job.log(f"{name}: {len(content):,} bytes, blocks {', '.join(removed)} deleted")
        rungs.append({"format": name, "blocks_removed": k, "removed": removed})
        job.check()
    return rungs


def _writer(fmt: str):
    def write(job: Job, folder: Path) -> list[str]:
        if job.options.lesion and "ladder" not in job.notes:  # the first post-training format
            job.notes["ladder"] = (fmt, _write_ladder(job, fmt, folder))
        start = time.perf_counter()
        content = tflite.convert_keras(job.model, fmt, representative(job))
        job.check()
        (folder / f"{fmt}.tflite").write_bytes(content)
        job.log(f"{fmt}: {len(content):,} bytes in {time.perf_counter() - start:.1f} s")
        if fmt == "tflite_micro":
            job.notes["arena"] = write_micro(content, folder, job.name, job.log)
        return [f"{fmt}.tflite"]

    return write


def _measurer(fmt: str):
    def measure_rows(job: Job, folder: Path, final: Path) -> list[dict[str, Any]]:
        file = f"{fmt}.tflite"
        rows = [tflite_row(fmt, folder / file, final / file, job,
                           job.notes.get("arena") if fmt == "tflite_micro" else None)]
        ladder_format, rungs = job.notes.get("ladder", (None, []))
        for rung in rungs if ladder_format == fmt else []:
            job.check()
            file = f"{rung['format']}.tflite"
            rows.append({**tflite_row(fmt, folder / file, final / file, job), **rung})
        return rows

    return measure_rows


def _needs_micro(options: Any) -> None:
    if not micro.available():
        raise ExportError("tflite_micro runs the model under TFLite Micro, which needs the "
                          "tflite-micro package; pip install 'keras_wrn[micro]'.")


HELP = {
    "tflite_fp32": "float TFLite",
    "tflite_fp16": "TFLite with float16 weights",
    "tflite_dynamic": "TFLite with int8 weights, float activations (dynamic range)",
    "tflite_int8": "full-integer TFLite, float input and output (needs calibration images)",
    "tflite_int8_io": "full-integer TFLite, int8 input and output (needs calibration images)",
    "tflite_micro": "tflite_int8_io checked under TFLite Micro, with a C++ header",
}
register(*(Format(name=fmt, rank=10 + rank, help=HELP[fmt], folder="tflite", write=_writer(fmt),
                  measure=_measurer(fmt), calibrates=fmt in tflite.INT8_FORMATS, ladder=True,
                  check=_needs_micro if fmt == "tflite_micro" else None)
           for rank, fmt in enumerate(tflite.PTQ_FORMATS)))
