"""The ``onnx`` export format: the inference model for ONNX Runtime, TensorRT and OpenVINO,
converted with tf2onnx and checked with onnxruntime (both an extra, imported here only).

The graph is the SavedModel's function: ``images`` float32 [batch, H, W, 3] RGB in 0-255 (NHWC,
normalised inside) to ``logits`` [batch, classes]. The inference call is traced and frozen
first: tf2onnx's own ``from_function`` turns the constants Keras captures (the normalisation's
mean and variance) into extra graph inputs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from keras_wrn.core import lazy
from keras_wrn.export.formats import Format, Job, gzip_size, measure, register
from keras_wrn.export.layout import ExportError
from keras_wrn.export.litert import median_latency_ms

keras = lazy.module("keras")
tf = lazy.module("tensorflow")

OPSET = 18
INPUT, OUTPUT = "images", "logits"


def _modules():
    try:
        import onnxruntime
        import tf2onnx
    except ModuleNotFoundError:
        raise ExportError("the onnx format needs tf2onnx and onnxruntime; "
                          "pip install 'keras_wrn[onnx]'.") from None
    return tf2onnx, onnxruntime


def check_installed() -> None:
    """ExportError naming the extra if tf2onnx or onnxruntime is missing."""
    _modules()


def _frozen_graph(model: keras.Model):
    """The inference call as a GraphDef with every variable and captured constant folded in,
    and its input and output tensor names."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name=INPUT)
    call = tf.function(lambda images: model(images, training=False)).get_concrete_function(spec)
    frozen = convert_variables_to_constants_v2(call)
    return (frozen.graph.as_graph_def(), [t.name for t in frozen.inputs],
            [t.name for t in frozen.outputs])


def _rename(graph, old: str, new: str) -> None:
    """Renames a graph input or output and every reference to it."""
    for value in (*graph.input, *graph.output):
        if value.name == old:
            value.name = new
    for node in graph.node:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def convert(model: keras.Model) -> bytes:
    """The model as a serialised ONNX ModelProto (opset OPSET, batch dimension ``batch``);
    ExportError naming the op if tf2onnx cannot convert one."""
    tf2onnx, _ = _modules()
    graph_def, inputs, outputs = _frozen_graph(model)
    from tensorflow.python.util import deprecation

    try:
        with deprecation.silence():  # tf2onnx calls TensorFlow 1 APIs, each with a warning
            proto, _ = tf2onnx.convert.from_graph_def(graph_def, input_names=inputs,
                                                      output_names=outputs, opset=OPSET)
    except Exception as err:  # tf2onnx raises plain Exceptions and ValueErrors
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise ExportError(f"onnx: tf2onnx cannot convert the model ({reason}).") from None
    unsupported = [node.op_type for node in proto.graph.node
                   if node.domain not in ("", "ai.onnx")]
    if unsupported:
        raise ExportError(f"onnx: the model needs {unsupported[0]}, outside the ONNX standard "
                          f"ops.")
    _rename(proto.graph, inputs[0], INPUT)
    _rename(proto.graph, outputs[0], OUTPUT)
    proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    return proto.SerializeToString()


class OnnxModel:
    """An ONNX model (its bytes or path) under onnxruntime's CPU provider: logits for float
    0-255 images."""

    def __init__(self, content: bytes | str, num_threads: int = 1):
        import onnxruntime  # alone: running a model needs no tf2onnx

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(content, options,
                                                    providers=["CPUExecutionProvider"])
        self.provider = self.session.get_providers()[0]

    def predict(self, images: np.ndarray, batch_size: int = 50) -> np.ndarray:
        """Logits for float32 0-255 images [N, H, W, 3]."""
        return np.concatenate([
            self.session.run([OUTPUT], {INPUT: images[i:i + batch_size].astype(np.float32)})[0]
            for i in range(0, len(images), batch_size)])

    def latency_ms(self, image: np.ndarray, runs: int = 50, warmup: int = 5) -> float:
        """Median wall time of one batch-1 inference, in milliseconds."""
        feed = {INPUT: image[None].astype(np.float32)}
        return median_latency_ms(lambda: self.session.run([OUTPUT], feed), runs, warmup)


def _write(job: Job, folder: Path) -> list[str]:
    start = time.perf_counter()
    content = convert(job.model)
    (folder / "model.onnx").write_bytes(content)
    job.log(f"onnx: {len(content):,} bytes in {time.perf_counter() - start:.1f} s")
    return ["model.onnx"]


def _measure(job: Job, folder: Path, final: Path) -> list[dict[str, Any]]:
    """Sizes, the opset, onnxruntime's provider, batch-1 latency and accuracy."""
    path = folder / "model.onnx"
    runner = OnnxModel(path.read_bytes(), job.options.threads)
    row = {"format": "onnx", "path": str(final / "model.onnx"), "size_bytes": path.stat().st_size,
           "gzip_bytes": gzip_size(path), "latency_ms": runner.latency_ms(job.sample),
           "opset": OPSET, "provider": runner.provider}
    if job.reference is not None:
        row.update(measure("onnx", runner.predict(job.data.eval_images), job.reference,
                           job.data.eval_labels))
    return [row]


# A Triton model folder's layout: EXPORT_DIR/NAME/onnx/VERSION/model.onnx.
register(Format(name="onnx", rank=40, folder="onnx", write=_write, measure=_measure,
                check=lambda options: check_installed(),
                help="ONNX (opset 18) for ONNX Runtime, TensorRT and OpenVINO"))
