"""Exports for serving and devices: SavedModel with preprocessing signatures, TFLite (float,
float16, dynamic range, int8, QAT int8, pruned int8), ONNX, and the report that measures each
against the float model. Each format is a `Format` record its module registers
(`keras_wrn.export.formats`). tensorflow-model-optimization is imported only by the QAT /
pruning path."""

from keras_wrn.export.exporter import (
    FORMATS,
    ExportData,
    ExportOptions,
    check_data,
    check_formats,
    export,
    format_table,
)
from keras_wrn.export.formats import Format, Job, register
from keras_wrn.export.layout import ExportError, model_base
from keras_wrn.export.litert import LiteRTModel

__all__ = ["FORMATS", "ExportData", "ExportError", "ExportOptions", "Format", "Job", "LiteRTModel",
           "check_data", "check_formats", "export", "format_table", "model_base", "register"]
