"""One meaning of --model: a training folder, a .keras file, a SavedModel, a .tflite and an .onnx
file each load through keras_wrn.inference, and predict.py and evaluate.py give the same answers
from every kind; evaluate.py --per-class writes each class's accuracy and the confusion matrix.
The kinds are made from one small untrained model (no training, seconds)."""

from __future__ import annotations

import json
import shutil

import keras
import numpy as np
import pytest
from helpers import call_app, write_image_folder

import keras_wrn
from keras_wrn.export.onnx import convert as onnx_model
from keras_wrn.export.saved_model import write_saved_model
from keras_wrn.export.tflite import convert_keras
from keras_wrn.inference import ModelError, load_model, model_kind

CLASSES = ["class0", "class1", "class2"]


@pytest.fixture(scope="module")
def kinds(tmp_path_factory) -> dict:
    """{kind: --model path} of one model, and the image folder of its classes."""
    root = tmp_path_factory.mktemp("kinds")
    model = keras_wrn.build_model("resnet", depth=8, num_classes=3, input_shape=(8, 8, 3))
    classifier = model.get_layer("classifier")
    kernel, bias = classifier.get_weights()
    classifier.set_weights([kernel * 10, bias])  # logits far apart: no near-ties between kinds
    run = root / "run"
    run.mkdir()
    model.save(run / "model.keras")
    (run / "run.json").write_text(json.dumps({"class_names": CLASSES}))
    write_saved_model(model, CLASSES, root / "exports" / "1")
    for kind, content in (("tflite", convert_keras(model, "tflite_fp32")),
                          ("onnx", onnx_model(model))):
        folder = root / "exports" / kind / "1"
        folder.mkdir(parents=True)
        (folder / f"model.{kind}").write_bytes(content)
        (folder / "labels.txt").write_text("\n".join(CLASSES) + "\n")
    keras.backend.clear_session()
    return {"paths": {"run": run, "keras": run / "model.keras",
                      "saved_model": root / "exports" / "1",
                      "tflite": root / "exports" / "tflite" / "1" / "model.tflite",
                      "onnx": root / "exports" / "onnx" / "1" / "model.onnx"},
            "images": write_image_folder(root / "images", classes=3, per_class=4, size=8),
            "root": root}


def test_every_kind_loads_with_its_size_classes_and_the_same_logits(kinds):
    images = np.random.default_rng(0).uniform(0, 255, (5, 8, 8, 3)).astype(np.float32)
    loaded = {name: load_model(path) for name, path in kinds["paths"].items()}
    assert {name: m.kind for name, m in loaded.items()} == {
        "run": "keras", "keras": "keras", "saved_model": "saved_model", "tflite": "tflite",
        "onnx": "onnx"}
    reference = loaded["keras"].predict(images)
    for name, model in loaded.items():
        assert (model.image_size, model.num_classes, model.class_names) == (8, 3, CLASSES), name
        logits = model.predict(images)
        # A SavedModel gives log-probabilities: the logits less one constant per image.
        shift = logits - reference
        np.testing.assert_allclose(shift - shift.mean(-1, keepdims=True), 0, atol=1e-3,
                                   err_msg=name)
    assert loaded["run"].config == {} and loaded["saved_model"].run is None
    assert loaded["keras"].run.model.name == loaded["run"].run.model.name


def test_predict_gives_the_same_top_five_from_every_kind(kinds, tmp_path):
    image = kinds["images"] / "class1" / "001.png"
    answers = {}
    for name, path in kinds["paths"].items():
        line = call_app("predict.py", "--model", path, image).stdout.strip().splitlines()[-1]
        answers[name] = [label.rsplit(" ", 1)[0] for label in line.split(": ", 1)[1].split(", ")]
    assert len({tuple(ranked) for ranked in answers.values()}) == 1, answers
    assert sorted(answers["onnx"]) == CLASSES  # the names of labels.txt


def test_evaluate_scores_every_kind_alike(kinds):
    results = {name: json.loads(call_app("evaluate.py", "--model", path, "--data-dir",
                                         kinds["images"], "--json")
                                .stdout.strip().splitlines()[-1])
               for name, path in kinds["paths"].items()}
    reference = results["keras"]
    assert reference["examples"] == 12
    for name, metrics in results.items():
        assert metrics["examples"] == 12 and metrics["top1"] == reference["top1"], name
        assert metrics["top5"] == 1.0 and metrics["loss"] == pytest.approx(
            reference["loss"], rel=1e-3), name


def test_evaluate_per_class_prints_and_writes_the_confusion_matrix(kinds, tmp_path):
    out = tmp_path / "evaluation"
    result = call_app("evaluate.py", "--model", kinds["paths"]["onnx"], "--data-dir",
                      kinds["images"], "--per-class", "--output", out)
    report = json.loads((out / "per_class.json").read_text())
    assert (out / "confusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report["classes"] == CLASSES and report["kind"] == "onnx"
    confusion = np.array(report["confusion"])
    assert confusion.shape == (3, 3) and confusion.sum(1).tolist() == [4, 4, 4]
    for row, name in zip(report["per_class"], CLASSES, strict=True):
        index = CLASSES.index(name)
        assert row == {"class": name, "examples": 4, "correct": int(confusion[index, index]),
                       "accuracy": confusion[index, index] / 4}
        assert f"{name}  {row['accuracy']:.4f}" in result.stdout
    assert report["top1"] == pytest.approx(np.trace(confusion) / 12)
    assert f"wrote {out / 'per_class.json'} and {out / 'confusion.png'}" in result.stdout


def test_folders_name_what_to_pass(kinds, tmp_path):
    paths = kinds["paths"]
    assert model_kind(paths["onnx"].parent) == "onnx"  # a Triton-style version folder
    with pytest.raises(ModelError, match=r"holds exported versions; pass one: .*exports/1 "
                                         r"\(the newest\)"):
        model_kind(paths["saved_model"].parent)
    tflites = paths["tflite"].parent
    with pytest.raises(ModelError, match=r"holds TFLite models; pass one of them: .*model"
                                         r"\.tflite\."):
        model_kind(tflites)
    other = tmp_path / "weights.h5"
    shutil.copy(paths["keras"], other)
    with pytest.raises(ModelError, match=r"is not a model file; pass a training folder, a "
                                         r"SavedModel folder, or a \.keras, \.tflite or \.onnx"):
        model_kind(other)
    with pytest.raises(ModelError, match=r"^lesion deletes blocks of a Keras model: pass a "
                                         r"training folder or a \.keras file \(the one it was "
                                         r"exported from\), not an ONNX model"):
        load_model(paths["onnx"], ("keras",), "lesion deletes blocks")
