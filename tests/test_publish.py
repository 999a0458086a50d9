"""An export's version appears only when every requested format and the report are done: a
format that fails, or SIGINT or SIGTERM in any phase, leaves no version for TF Serving to load,
and no staging folder."""

from __future__ import annotations

import importlib
import json
import signal
import subprocess
import time

import numpy as np
import pytest
from helpers import app_command, app_env, call_app

from keras_wrn import build_model
from keras_wrn.core.interrupts import LINES
from keras_wrn.export import ExportData, ExportError, ExportOptions, export, tflite
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
    convert = tflite.convert_keras

    def int8_fails(model, fmt, representative):
        if fmt == "tflite_int8":
            raise ExportError("tflite_int8: the converter failed")
        return convert(model, fmt, representative)

    monkeypatch.setattr(tflite, "convert_keras", int8_fails)
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


# Each phase of an export: where a stop signal arrives (the module and attribute called, and
# which call of it), and the formats that run it and something after it.
FORMATS = "saved_model,tflite_fp32,tflite_int8,tflite_micro,onnx"
PHASES = {
    "saved_model": ("saved_model:write_saved_model", None, FORMATS),
    "tflite_fp32": ("tflite:convert_keras", "tflite_fp32", FORMATS),
    "tflite_int8": ("tflite:convert_keras", "tflite_int8", FORMATS),
    "tflite_micro": ("tflite:convert_keras", "tflite_micro", FORMATS),
    "micro_arena": ("tflite_formats:write_micro", None, FORMATS),
    "tflite_qat_int8": ("optimized:optimized", "tflite_qat_int8", "saved_model,tflite_qat_int8"),
    "tflite_pruned_int8": ("optimized:optimized", "tflite_pruned_int8",
                           "saved_model,tflite_pruned_int8"),
    "litert": ("tflite_formats:tflite_row", None, FORMATS),
    "micro_check": ("micro:check", None, FORMATS),
    "onnx": ("onnx:convert", None, FORMATS),
    "report": ("exporter:write_json", None, FORMATS),
    "publish": ("exporter:publish", None, FORMATS),
}
# What the code running when the signal arrives does with its exception: lets it through,
# swallows it and goes on, or turns it into an error of its own. One signal per phase: over the
# 12 phases every (signal, mode) pair comes twice.
MODES = ("through", "swallowed", "error")
SIGNALS = (signal.SIGINT, signal.SIGTERM)
CASES = [(phase, SIGNALS[i % 2], MODES[i % 3]) for i, phase in enumerate(PHASES)]


@pytest.fixture(scope="module")
def ten_classes(tmp_path_factory):
    """An untrained 8x8 model of synthetic data's ten classes."""
    path = tmp_path_factory.mktemp("model") / "m.keras"
    build_model("resnet", depth=8, num_classes=10, input_shape=(8, 8, 3)).save(path)
    return path


@pytest.fixture
def no_stray_signals():
    """A signal the code under test failed to handle fails the test, not the whole session."""

    def stray(signum, frame):
        raise AssertionError(f"{signal.Signals(signum).name} reached the test's handler")

    previous = {s: signal.signal(s, stray) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _signal_at(monkeypatch, phase: str, signum: int, mode: str) -> None:
    """Sends ``signum`` to this process when ``phase`` starts; the phase's code treats the
    exception the handler raises as ``mode`` says."""
    attribute, fmt, _ = PHASES[phase]
    module, name = attribute.split(":")
    owner = importlib.import_module(f"keras_wrn.export.{module}")
    original = getattr(owner, name)
    sent = []

    def hooked(*args, **kwargs):
        if sent or (fmt is not None and fmt not in args):
            return original(*args, **kwargs)
        sent.append(phase)
        try:
            signal.raise_signal(signum)
        except BaseException as err:
            if mode == "through":
                raise
            if mode == "error":
                raise ExportError(f"{phase}: failed ({type(err).__name__})") from None
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, hooked)


@pytest.mark.slow
@pytest.mark.parametrize("phase, signum, mode", CASES,
                         ids=[f"{p}-{signal.Signals(s).name}-{m}" for p, s, m in CASES])
def test_a_signal_in_any_phase_stops_the_export_and_publishes_nothing(
        phase, signum, mode, ten_classes, tmp_path, monkeypatch, no_stray_signals):
    """SIGINT exits 130, SIGTERM 143, with one line, whatever the phase's code did with the
    signal's exception; no version, report or staging folder is left. A signal during the
    final renames lets them finish: the version is whole, then the export stops."""
    _signal_at(monkeypatch, phase, signum, mode)
    exports = tmp_path / "exports"
    result = call_app("export.py", "--model", ten_classes, "--name", "m", "--export-dir",
                      exports, "--formats", PHASES[phase][2], "--calibration-dataset",
                      "synthetic", "--eval-dataset", "synthetic", "--calibration-examples", "8",
                      "--eval-examples", "8", "--qat-epochs", "1", "--prune", "0.5",
                      "--fine-tune-steps", "1", "--micro-examples", "2", check=False)
    assert result.returncode == 128 + signum, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1] == LINES[signum]
    assert "Traceback" not in result.stderr and "error:" not in result.stderr
    if phase == "publish":
        base = exports / "m"
        assert existing_versions(base) == [1] and (base / "report.json").is_file()
        assert not [p for p in base.rglob("*") if p.name.startswith(".tmp")]
    else:
        assert not (exports / "m").exists()  # no version, report, staging or empty folder


@pytest.mark.slow
def test_sigterm_from_outside_stops_an_export_with_one_line(ten_classes, tmp_path):
    """The real command line: SIGTERM while the SavedModel is being written exits 143 with
    one line, and publishes nothing."""
    exports = tmp_path / "exports"
    process = subprocess.Popen(app_command("export.py", "--model", ten_classes, "--name", "m",
                                           "--export-dir", exports, "--formats",
                                           "saved_model,tflite_fp32"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=app_env())
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline \
            and not list(exports.glob("m/.tmp-*")):
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr[-2000:]
    assert stderr.strip().splitlines()[-1] == "terminated (SIGTERM)"
    assert "Traceback" not in stderr
    assert not (exports / "m").exists()
