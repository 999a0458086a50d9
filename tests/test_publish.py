"""An export's version appears only when every requested format and the report are done: a
format that fails leaves no version for TF Serving to load, and no staging folder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_wrn import build_model
from keras_wrn.export import ExportData, ExportError, ExportOptions, export, exporter
from keras_wrn.export.layout import existing_versions


@pytest.mark.slow
def test_a_failed_format_publishes_nothing_and_the_next_export_publishes_all(tmp_path,
                                                                           monkeypatch):
    model = build_model("resnet", depth=8, num_classes=2, input_shape=(8, 8, 3))
    rng = np.random.default_rng(0)
    data = ExportData(calibration=rng.uniform(0, 255, (8, 8, 8, 3)).astype(np.float32),
                      eval_images=rng.uniform(0, 255, (4, 8, 8, 3)).astype(np.float32),
                      eval_labels=np.array([0, 1, 0, 1]))
    options = ExportOptions(formats=("saved_model", "tflite_fp32", "tflite_int8"))
    convert = exporter.tflite.convert_keras

    def int8_fails(model, fmt, representative):
        if fmt == "tflite_int8":
            raise ExportError("tflite_int8: the converter failed")
        return convert(model, fmt, representative)

    monkeypatch.setattr(exporter.tflite, "convert_keras", int8_fails)
    base = tmp_path / "m"
    with pytest.raises(ExportError, match="converter failed"):
        export(model, ["a", "b"], "m", tmp_path, data, options, log=lambda _: None)
    assert not base.exists()  # no version, report, staging or empty folder

    monkeypatch.undo()
    report = export(model, ["a", "b"], "m", tmp_path, data, options, log=lambda _: None)
    assert report["version"] == 1 and existing_versions(base) == [1]
    assert (base / "1" / "saved_model.pb").is_file()
    assert sorted(p.name for p in (base / "tflite" / "1").iterdir()) == [
        "labels.txt", "report.json", "tflite_fp32.tflite", "tflite_int8.tflite"]
    assert json.loads((base / "report.json").read_text()) == report
    assert [row["format"] for row in report["formats"]] == [
        "keras_float", "saved_model", "tflite_fp32", "tflite_int8"]
    assert all(str(base) in row["path"] for row in report["formats"][1:])
    assert [p.name for p in base.iterdir() if p.name.startswith(".")] == []
