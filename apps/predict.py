"""Top-5 labels and probabilities for images, from a SavedModel directory, a .tflite file or a
.keras file (class names from the SavedModel, the labels.txt beside a .tflite file, or the
run.json beside a .keras file).

SavedModels and .tflite files are programs: loading one runs the graph it holds. Load them only
from sources you trust. (.keras files load in Keras' safe mode, which refuses Python code.)"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _app import decode_image_file, fail, guarded


def _resized(images: list, size: int) -> np.ndarray:
    """Decoded images, resized to ``size`` x ``size``, as one float32 batch."""
    import tensorflow as tf

    return np.stack([tf.image.resize(image, (size, size), antialias=True).numpy()
                     for image in images]).astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def predict(model_path: Path, images: list[str], decoded: list,
            top: int) -> list[list[tuple[str, float]]]:
    """For each image (its path, and its decoded pixels), the ``top`` (label, probability)
    pairs."""
    if (model_path / "saved_model.pb").is_file():
        import tensorflow as tf

        try:
            serve = tf.saved_model.load(str(model_path)).signatures["serve_bytes"]
        except (KeyError, ValueError, OSError, tf.errors.OpError):
            fail(f"{model_path} is not a SavedModel from apps/export.py (no serve_bytes "
                 f"signature); pass an exports/NAME/VERSION directory.")
        out = serve(image_bytes=tf.constant([Path(p).read_bytes() for p in images]))
        labels, scores = out["labels"].numpy(), out["scores"].numpy()
        return [[(label.decode(), float(s)) for label, s in zip(row_l, row_s, strict=True)][:top]
                for row_l, row_s in zip(labels, scores, strict=True)]
    if model_path.suffix == ".tflite":
        from keras_wrn.export import LiteRTModel

        try:
            runner = LiteRTModel(model_path)
        except (ValueError, RuntimeError):
            fail(f"{model_path} is not a TFLite model; pass a .tflite file from apps/export.py.")
        probabilities = _softmax(runner.predict(_resized(decoded, runner.input["shape"][1])))
        names = _labels_file(model_path.parent / "labels.txt", probabilities.shape[-1])
    elif model_path.suffix == ".keras":
        from keras_wrn.training.runs import load_run

        try:
            run = load_run(model_path)  # with the run.json beside it, checked
        except ValueError as err:
            fail(str(err))
        logits = run.model.predict(_resized(decoded, run.model.input_shape[1]), verbose=0)
        probabilities = _softmax(np.asarray(logits))
        names = run.info.get("class_names")
    else:
        fail(f"{model_path} is not a SavedModel directory, a .tflite or a .keras file.")
    names = names or [f"class_{i}" for i in range(probabilities.shape[-1])]
    order = np.argsort(-probabilities, axis=-1)[:, :top]
    return [[(names[i], float(p[i])) for i in row] for row, p in zip(order, probabilities,
                                                                      strict=True)]


def _labels_file(path: Path, outputs: int) -> list[str] | None:
    """The class names of a ``labels.txt`` (one a line; None when there is none), or a
    one-line error when they are not one per output."""
    if not path.is_file():
        return None
    try:
        names = path.read_text().splitlines()
    except UnicodeDecodeError:
        fail(f"{path} is not text; put the labels.txt exported with the model beside it (one "
             f"class name a line), or delete it to print class_N.")
    if len(names) != outputs:
        fail(f"{path} has {len(names)} labels but the model predicts {outputs} classes; put "
             f"the labels.txt exported with the model beside it (one class name a line), or "
             f"delete it to print class_N.")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True,
                        help="SavedModel dir, .tflite or .keras (from a trusted source)")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--top", type=int, default=5)
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.top < 1:
        fail(f"--top must be >= 1, got {args.top}.")
    model_path = Path(args.model)
    if not model_path.exists():
        fail(f"no model at {model_path}; pass a SavedModel directory, .tflite or .keras file.")
    decoded = [decode_image_file(image) for image in args.images]  # or one line naming it
    for image, ranked in zip(args.images, predict(model_path, args.images, decoded, args.top),
                             strict=True):
        shown = ", ".join(f"{label} {p:.3f}" for label, p in ranked)
        print(f"{image}: {shown}")


if __name__ == "__main__":
    main()
