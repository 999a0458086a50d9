"""Any model keras_wrn trains or exports, loaded behind one interface: a training folder or a
`.keras` file, a SavedModel folder, a `.tflite` file and an `.onnx` file each give logits for
float32 0-255 RGB images, their input size and their class names. The ``--model`` of
apps/predict.py, evaluate.py, lesion.py and export.py is read here.

SavedModels and `.tflite` files are programs: loading one runs the graph it holds. Load them only
from sources you trust (`.keras` files load in Keras' safe mode)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# Each kind in words, as the one-line errors name it.
KINDS = {"keras": "a Keras model", "saved_model": "a SavedModel", "tflite": "a TFLite model",
         "onnx": "an ONNX model"}
WHAT_TO_PASS = "a training folder, a SavedModel folder, or a .keras, .tflite or .onnx file"


class ModelError(ValueError):
    """``--model`` names nothing this can load, or a kind the caller cannot use; one line that
    names what to pass."""


@dataclasses.dataclass
class LoadedModel:
    """A model ready to predict: ``kind`` (a key of KINDS), its square input ``image_size``,
    ``num_classes`` outputs and their ``class_names`` (None when its files name none). ``run``:
    a Keras model's training run (the model, its config.json and run.json)."""

    path: Path
    kind: str
    image_size: int
    num_classes: int
    class_names: list[str] | None
    logits: Callable[[np.ndarray], np.ndarray]
    run: Any = None  # keras_wrn.training.runs.TrainedRun, for the keras kind

    @property
    def config(self) -> dict[str, Any]:
        """The training run's configuration (flat keys), or {} for exports and lone files."""
        return self.run.config if self.run is not None else {}

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Logits [N, classes] for float32 0-255 RGB images [N, size, size, 3]. A SavedModel's
        are its log-probabilities: logits less a constant per image, which rank and score
        (softmax, cross-entropy) as the logits do, down to float32's smallest probability."""
        return np.asarray(self.logits(np.asarray(images, np.float32)), np.float32)


def model_kind(path: str | Path) -> str:
    """The kind of model at ``path`` (a key of KINDS), without loading it; ModelError when it
    is none of them."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"no model at {path}; pass {WHAT_TO_PASS}.")
    if path.is_dir():
        return _folder_kind(path)
    kind = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx"}.get(path.suffix)
    if kind is None:
        raise ModelError(f"{path} is not a model file; pass {WHAT_TO_PASS}.")
    return kind


def _folder_kind(path: Path) -> str:
    """A SavedModel, the ONNX version folder of an export, or else a training folder; an
    export's model folder or TFLite version folder is one line naming what in it to pass."""
    if (path / "saved_model.pb").is_file():
        return "saved_model"
    if (path / "model.onnx").is_file() and not (path / "model.keras").exists():
        return "onnx"
    versions = sorted(int(p.name) for p in path.iterdir()
                      if p.name.isdigit() and (p / "saved_model.pb").is_file())
    if versions:
        raise ModelError(f"{path} holds exported versions; pass one: {path / str(versions[-1])} "
                         f"(the newest), or a file of its tflite/ or onnx/ folders.")
    tflites = sorted(p.name for p in path.glob("*.tflite"))
    if tflites:
        raise ModelError(f"{path} holds TFLite models; pass one of them: "
                         f"{', '.join(str(path / name) for name in tflites[:3])}"
                         f"{', ...' if len(tflites) > 3 else ''}.")
    return "keras"


def load_model(path: str | Path, kinds: tuple[str, ...] = tuple(KINDS),
               purpose: str = "") -> LoadedModel:
    """The model at ``path``, if its kind is one of ``kinds``; else ModelError saying that
    ``purpose`` (what the caller does, e.g. "lesion deletes residual blocks") needs a Keras
    model. ValueError (one line) for a file that is not what it claims to be."""
    path = Path(path)
    kind = model_kind(path)
    if kind not in kinds:
        raise ModelError(f"{purpose} of a Keras model: pass a training folder or a .keras file "
                         f"(the one it was exported from), not {KINDS[kind]} ({path}).")
    return _LOADERS[kind](path)


def _keras(path: Path) -> LoadedModel:
    from keras_wrn.training.runs import load_run

    run = load_run(path)  # with the run.json beside the model, checked
    model = run.model
    return LoadedModel(path, "keras", run.image_size, run.num_classes, run.class_names,
                       model.predict_on_batch, run)


def _saved_model(path: Path) -> LoadedModel:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
        serve = loaded.signatures["serve_float"]
    except (KeyError, ValueError, OSError, tf.errors.OpError):
        raise ModelError(f"{path} is not a SavedModel from apps/export.py (no serve_float "
                         f"signature); pass an exports/NAME/VERSION folder.") from None
    size = serve.structured_input_signature[1]["images"].shape[1]
    classes = serve.structured_outputs["probabilities"].shape[-1]

    def logits(images: np.ndarray, loaded=loaded) -> np.ndarray:  # keeps the graph's owner
        probabilities = serve(images=tf.constant(images))["probabilities"].numpy()
        return np.log(np.maximum(probabilities, np.finfo(np.float32).tiny))

    names = labels_file(path / "assets" / "labels.txt", classes)
    return LoadedModel(path, "saved_model", size, classes, names, logits)


def _tflite(path: Path) -> LoadedModel:
    from keras_wrn.export.litert import LiteRTModel

    try:
        runner = LiteRTModel(path)
    except (ValueError, RuntimeError):
        raise ModelError(f"{path} is not a TFLite model; pass a .tflite file from "
                         f"apps/export.py.") from None
    classes = int(runner.output["shape"][-1])
    return LoadedModel(path, "tflite", int(runner.input["shape"][1]), classes,
                       labels_file(path.parent / "labels.txt", classes), runner.predict)


def _onnx(path: Path) -> LoadedModel:
    from keras_wrn.export.onnx import INPUT, OUTPUT, OnnxModel

    if path.is_dir():
        path = path / "model.onnx"
    try:
        runner = OnnxModel(str(path))
    except ModuleNotFoundError:
        raise
    except Exception:  # onnxruntime's own errors (InvalidProtobuf, Fail) share no base
        raise ModelError(f"{path} is not an ONNX model; pass a model.onnx from "
                         f"apps/export.py.") from None
    inputs, outputs = runner.session.get_inputs(), runner.session.get_outputs()
    if [i.name for i in inputs] != [INPUT] or [o.name for o in outputs] != [OUTPUT]:
        raise ModelError(f"{path} is not an ONNX model from apps/export.py (input {INPUT!r}, "
                         f"output {OUTPUT!r}); pass a model.onnx it wrote.")
    size, classes = int(inputs[0].shape[1]), int(outputs[0].shape[-1])
    return LoadedModel(path, "onnx", size, classes,
                       labels_file(path.parent / "labels.txt", classes), runner.predict)


_LOADERS = {"keras": _keras, "saved_model": _saved_model, "tflite": _tflite, "onnx": _onnx}


def labels_file(path: Path, outputs: int) -> list[str] | None:
    """The class names of a ``labels.txt`` (one a line; None when there is none), or a
    one-line ModelError when they are not one per output."""
    if not path.is_file():
        return None
    fix = ("put the labels.txt exported with the model beside it (one class name a line), or "
           "delete it to print class_N")
    try:
        names = path.read_text().splitlines()
    except UnicodeDecodeError:
        raise ModelError(f"{path} is not text; {fix}.") from None
    if len(names) != outputs:
        raise ModelError(f"{path} has {len(names)} labels but the model predicts {outputs} "
                         f"classes; {fix}.")
    return names
