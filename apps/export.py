r"""Export a trained model for TF Serving and devices, measured against the float model.

    python apps/export.py --model runs/cifar10-resnet20 --name cifar10_resnet20 \
        --formats saved_model,tflite_fp32,tflite_fp16,tflite_dynamic,tflite_int8

writes exports/NAME/VERSION/ (SavedModel; exports/NAME is a TF Serving base path),
exports/NAME/tflite/VERSION/*.tflite (tflite_micro also as a C++ header),
exports/NAME/onnx/VERSION/model.onnx and exports/NAME/report.json. With a training output
directory as --model, calibration uses its training data and evaluation its validation split.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    from keras_wrn.export.request import add_export_flags

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_export_flags(p)
    return p


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    from keras_wrn.data import DataError
    from keras_wrn.export import ExportError, export_run, format_table
    from keras_wrn.export.request import request_from_args

    request = request_from_args(args)
    try:
        report = export_run(request)
    except (ExportError, DataError, ValueError) as err:
        fail(str(err))
    print(format_table(report))
    print(f"report: {Path(request.export_dir) / request.name / 'report.json'}")


if __name__ == "__main__":
    main()
