"""apps/export.py and apps/predict.py on a small trained model: every format exports and runs,
int8 stays integer, predictions agree with the float model, SavedModel signatures answer
REST-shaped requests, versions are never overwritten, bad input gets one-line errors."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from helpers import TINY_RUN_GROUP, call_app, error_line, run_app

# One worker shares the fixtures; slow: the group starts first (conftest.py).
pytestmark = [pytest.mark.xdist_group(TINY_RUN_GROUP), pytest.mark.slow]

ALL_FORMATS = ("saved_model,tflite_fp32,tflite_fp16,tflite_dynamic,tflite_int8,tflite_int8_io,"
               "tflite_qat_int8,tflite_pruned_int8")


@pytest.fixture(scope="module")
def trained(tiny_run):
    return tiny_run[0]


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    exports = tmp_path_factory.mktemp("exports")
    result = run_app("export.py", "--model", trained, "--name", "tiny", "--formats", ALL_FORMATS,
                     "--export-dir", exports, "--qat-epochs", "1", "--prune", "0.5",
                     "--fine-tune-steps", "8", timeout=900)
    report = json.loads((exports / "tiny" / "report.json").read_text())
    return exports, report, result.stdout


def _row(report, fmt):
    return next(r for r in report["formats"] if r["format"] == fmt)


def test_every_format_exports_runs_and_agrees(exported):
    exports, report, stdout = exported
    assert report["version"] == 1 and report["eval_examples"] == 500
    assert "| tflite_int8 |" in stdout
    float_top1 = _row(report, "keras_float")["top1"]
    assert float_top1 > 0.6
    for fmt in ALL_FORMATS.split(","):
        row = _row(report, fmt)
        assert row["size_bytes"] > 0 and row["latency_ms"] > 0, fmt
        if fmt != "tflite_pruned_int8":
            assert row["agreement"] >= 0.95, (fmt, row)
    # Half of every kernel removed after 8 fine-tuning steps: far above chance, not lossless.
    pruned = _row(report, "tflite_pruned_int8")
    assert pruned["kernel_sparsity"] >= 0.45 and pruned["agreement"] > 0.5
    assert _row(report, "saved_model")["agreement"] == 1.0
    assert (exports / "tiny" / "1" / "saved_model.pb").is_file()
    assert (exports / "tiny" / "tflite" / "1" / "labels.txt").is_file()


def test_int8_models_have_no_float_ops_between_input_and_output(exported):
    _, report, _ = exported
    for fmt in ("tflite_int8", "tflite_int8_io", "tflite_qat_int8", "tflite_pruned_int8"):
        assert _row(report, fmt)["float_ops"] == 0, fmt
    fp32, int8 = _row(report, "tflite_fp32"), _row(report, "tflite_int8")
    assert int8["size_bytes"] < 0.5 * fp32["size_bytes"]
    pruned = _row(report, "tflite_pruned_int8")
    assert pruned["gzip_bytes"] < int8["gzip_bytes"]  # zeros compress


def test_int8_io_model_takes_and_gives_int8(exported):
    from ai_edge_litert.interpreter import Interpreter

    exports, _, _ = exported
    interpreter = Interpreter(model_path=str(exports / "tiny" / "tflite" / "1" /
                                             "tflite_int8_io.tflite"))
    assert interpreter.get_input_details()[0]["dtype"] == np.int8
    assert interpreter.get_output_details()[0]["dtype"] == np.int8


def _image(seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)


def test_saved_model_answers_rest_request_bodies(exported):
    exports, _, _ = exported
    loaded = tf.saved_model.load(str(exports / "tiny" / "1"))
    images = np.stack([_image(0), _image(1)])
    # Row format, default signature: {"instances": [image, image]} -> one uint8 tensor.
    body = json.loads(json.dumps({"instances": images.tolist()}))
    out = loaded.signatures["serving_default"](
        images=tf.constant(np.asarray(body["instances"], np.uint8)))
    assert out["probabilities"].shape == (2, 10)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)
    assert out["labels"].shape == (2, 5) and out["labels"].dtype == tf.string
    # Columnar format with encoded images: {"b64": ...} is base64-decoded by the server.
    png = [tf.io.encode_png(image).numpy() for image in images]
    body = json.loads(json.dumps({"signature_name": "serve_bytes", "inputs": {
        "image_bytes": [{"b64": base64.b64encode(p).decode()} for p in png]}}))
    decoded = [base64.b64decode(item["b64"]) for item in body["inputs"]["image_bytes"]]
    from_bytes = loaded.signatures[body["signature_name"]](image_bytes=tf.constant(decoded))
    np.testing.assert_allclose(from_bytes["probabilities"].numpy(),
                               out["probabilities"].numpy(), atol=1e-5)


def test_saved_model_cli_show_and_run(exported, tmp_path):
    exports, _, _ = exported
    path = str(exports / "tiny" / "1")
    cli = [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli"]
    shown = subprocess.run([*cli, "show", "--dir", path, "--all"], capture_output=True,
                           text=True, check=True).stdout
    for name in ("serving_default", "serve_float", "serve_bytes", "image_bytes"):
        assert name in shown
    np.save(tmp_path / "x.npy", np.stack([_image(2)]))
    ran = subprocess.run([*cli, "run", "--dir", path, "--tag_set", "serve", "--signature_def",
                          "serving_default", "--inputs", f"images={tmp_path / 'x.npy'}"],
                         capture_output=True, text=True, check=True).stdout
    assert "probabilities" in ran and "labels" in ran


def test_export_again_makes_version_2_and_keeps_version_1(exported, trained):
    exports, _, _ = exported
    before = (exports / "tiny" / "1" / "saved_model.pb").read_bytes()
    call_app("export.py", "--model", trained / "model.keras", "--name", "tiny",
             "--formats", "saved_model", "--export-dir", exports)
    assert (exports / "tiny" / "2" / "saved_model.pb").is_file()
    assert (exports / "tiny" / "1" / "saved_model.pb").read_bytes() == before
    assert (exports / "tiny" / "tflite" / "1" / "tflite_int8.tflite").is_file()
    clash = call_app("export.py", "--model", trained, "--name", "tiny", "--version", "1",
                     "--formats", "saved_model", "--export-dir", exports, check=False)
    assert "version 1 of tiny already exists" in error_line(clash)


def test_predict_with_every_kind_of_model(exported, trained, tmp_path):
    exports, _, _ = exported
    image = tmp_path / "x.png"
    image.write_bytes(tf.io.encode_png(_image(3)).numpy())
    # The SavedModel through the real command line, the other two in this process.
    runs = [run_app("predict.py", "--model", exports / "tiny" / "1", image)]
    runs += [call_app("predict.py", "--model", model, image)
             for model in (exports / "tiny" / "tflite" / "1" / "tflite_int8.tflite",
                           trained / "model.keras")]
    for run in runs:
        out = run.stdout.strip().splitlines()[-1]
        assert out.startswith(f"{image}: class_")
        assert len(out.split(", ")) == 5


def test_serving_request_builds_a_rest_body_and_its_answer(exported, tmp_path):
    exports, _, _ = exported
    image = tmp_path / "x.png"
    image.write_bytes(tf.io.encode_png(_image(4)).numpy())
    result = run_app("serving_request.py", "--model", exports / "tiny" / "1", image)
    body = json.loads(result.stdout.strip().splitlines()[-1])
    assert body["signature_name"] == "serve_bytes"
    assert base64.b64decode(body["instances"][0]["b64"]) == image.read_bytes()
    answer = json.loads(result.stderr.strip().splitlines()[-1])
    (prediction,) = answer["predictions"]
    assert set(prediction) == {"classes", "labels", "probabilities", "scores"}
    assert len(prediction["labels"]) == 5 and abs(sum(prediction["probabilities"]) - 1) < 1e-4
