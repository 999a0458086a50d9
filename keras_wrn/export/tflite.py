"""TFLite conversion of a float Keras 3 model: fp32, fp16 weights, dynamic range, full int8 with
float or int8 input/output. Builtin ops only: a model that would need the Flex delegate is an
error, not a silent fallback."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterable

import numpy as np

from keras_wrn.core import lazy
from keras_wrn.export.layout import ExportError

keras = lazy.module("keras")
tf = lazy.module("tensorflow")

# tflite_micro is tflite_int8_io (int8 from input to output) that must run under TFLite Micro.
PTQ_FORMATS = ("tflite_fp32", "tflite_fp16", "tflite_dynamic", "tflite_int8", "tflite_int8_io",
               "tflite_micro")
INT8_FORMATS = ("tflite_int8", "tflite_int8_io", "tflite_micro", "tflite_qat_int8",
                "tflite_pruned_int8")

Representative = Callable[[], Iterable[list[np.ndarray]]]


def representative_dataset(images: np.ndarray) -> Representative:
    """Calibration generator over float32 0-255 images, one per step (batch 1)."""

    def generate():
        for image in images:
            yield [image[None].astype(np.float32)]

    return generate


def configure(converter: tf.lite.TFLiteConverter, fmt: str,
              representative: Representative | None) -> tf.lite.TFLiteConverter:
    """Sets the converter options of ``fmt``."""
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if fmt == "tflite_fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif fmt == "tflite_dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif fmt in INT8_FORMATS:
        if representative is None:
            raise ExportError(f"{fmt} needs calibration images; pass --calibration-dir or "
                              f"--calibration-dataset.")
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if fmt in ("tflite_int8_io", "tflite_micro"):
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
    return converter


def convert(converter: tf.lite.TFLiteConverter, fmt: str) -> bytes:
    """Runs the converter; one-line ExportError if the model needs non-builtin ops."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # Keras prints its export's endpoints
            return converter.convert()
    except Exception as err:  # ConverterError carries the MLIR diagnostics
        lines = [line.strip() for line in str(err).splitlines() if "op" in line and line.strip()]
        hint = lines[0][:200] if lines else type(err).__name__
        raise ExportError(f"{fmt}: the model needs ops outside the TFLite builtins ({hint}); "
                          f"Flex ops are not allowed.") from None


def keras_converter(model: keras.Model) -> tf.lite.TFLiteConverter:
    """Converter for a Keras 3 model or its tf_keras twin: its inference call traced once and
    frozen. ``from_keras_model`` would write and reload a SavedModel on every conversion, which
    took most of an export's time (README, Deploy)."""
    spec = tf.TensorSpec((None, *model.input_shape[1:]), tf.float32)
    call = tf.function(lambda images: model(images, training=False)).get_concrete_function(spec)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([call], model)
    converter.experimental_lower_to_saved_model = False  # True would save a SavedModel first
    return converter


def convert_keras(model: keras.Model, fmt: str,
                  representative: Representative | None = None) -> bytes:
    """A Keras 3 model as TFLite in one of PTQ_FORMATS."""
    if fmt not in PTQ_FORMATS:
        raise ExportError(f"unknown TFLite format {fmt!r}; use one of {', '.join(PTQ_FORMATS)}.")
    return convert(configure(keras_converter(model), fmt, representative), fmt)


def op_names(content: bytes) -> list[str]:
    """The model's operators in execution order (CONV_2D, ADD, ...)."""
    from ai_edge_litert.interpreter import Interpreter

    return [op["op_name"] for op in Interpreter(model_content=content)._get_ops_details()]


def float_tensor_ops(content: bytes) -> list[str]:
    """Operators between input and output that read or write a float32 tensor: empty for a
    fully integer model (the QUANTIZE of a float input and the DEQUANTIZE of a float output are
    the I/O conversion, not part of the network)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content)
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    inputs = {d["index"] for d in interpreter.get_input_details()}
    outputs = {d["index"] for d in interpreter.get_output_details()}
    found = []
    for op in interpreter._get_ops_details():  # the public API has no op list
        if op["op_name"] == "QUANTIZE" and set(op["inputs"]) <= inputs:
            continue
        if op["op_name"] == "DEQUANTIZE" and set(op["outputs"]) <= outputs:
            continue
        tensors = [*op["inputs"], *op["outputs"]]
        if any(i >= 0 and details[i]["dtype"] == np.float32 for i in tensors):
            found.append(op["op_name"])
    return found
