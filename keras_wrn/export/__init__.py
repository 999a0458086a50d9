"""Exports for serving and devices: SavedModel with preprocessing signatures, TFLite (float,
float16, dynamic range, int8, QAT int8, pruned int8), ONNX, and the report that measures each
against the float model. Each format is a `Format` record its module registers
(`keras_wrn.export.formats`). tensorflow-model-optimization is imported only by the QAT /
pruning path. The names load on first use, so export's flags parse without TensorFlow."""

from keras_wrn.core import lazy

_EXPORTER = ("FORMATS", "ExportData", "check_data", "check_formats", "export", "format_table")
__getattr__, __dir__ = lazy.attach(__name__, {
    **dict.fromkeys(_EXPORTER, "keras_wrn.export.exporter"),
    **dict.fromkeys(("Format", "Job", "register"), "keras_wrn.export.formats"),
    **dict.fromkeys(("ExportError", "model_base"), "keras_wrn.export.layout"),
    **dict.fromkeys(("ExportOptions", "ExportRequest"), "keras_wrn.export.request"),
    "export_run": "keras_wrn.export.launch", "LiteRTModel": "keras_wrn.export.litert"})

__all__ = ["FORMATS", "ExportData", "ExportError", "ExportOptions", "ExportRequest", "Format",
           "Job", "LiteRTModel", "check_data", "check_formats", "export", "export_run",
           "format_table", "model_base", "register"]
