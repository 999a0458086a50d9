"""Top-5 labels and probabilities for images, from a training output directory, a .keras file,
a SavedModel directory, a .tflite or an .onnx file (class names from the run.json beside a
.keras file, the SavedModel, or the labels.txt beside a .tflite or .onnx file).

SavedModels and .tflite files are programs: loading one runs the graph it holds. Load them only
from sources you trust. (.keras files load in Keras' safe mode, which refuses Python code.)"""

from __future__ import annotations

import argparse

import numpy as np
from _app import decode_image_file, fail, guarded, parse


def _resized(images: list, size: int) -> np.ndarray:
    """Decoded images, resized to ``size`` x ``size`` (bilinear, antialiased: as the
    SavedModel's serve_bytes resizes), as one float32 batch."""
    import tensorflow as tf

    return np.stack([tf.image.resize(image, (size, size), antialias=True).numpy()
                     for image in images]).astype(np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    exp = np.exp(logits - logits.max(-1, keepdims=True))
    return exp / exp.sum(-1, keepdims=True)


def predict(model_path: str, decoded: list, top: int) -> list[list[tuple[str, float]]]:
    """For each decoded image, the ``top`` (label, probability) pairs."""
    from keras_wrn.inference import load_model

    try:
        model = load_model(model_path)
    except ValueError as err:
        fail(str(err))
    probabilities = _softmax(model.predict(_resized(decoded, model.image_size)))
    names = model.class_names or [f"class_{i}" for i in range(model.num_classes)]
    order = np.argsort(-probabilities, axis=-1)[:, :top]
    return [[(names[i], float(p[i])) for i in row]
            for row, p in zip(order, probabilities, strict=True)]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True,
                        help="training output dir, .keras, SavedModel dir, .tflite or .onnx "
                             "(from a trusted source)")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--top", type=int, default=5)
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    if args.top < 1:
        fail(f"--top must be >= 1, got {args.top}.")
    from keras_wrn.inference import model_kind

    try:
        model_kind(args.model)  # before the images: a path that is no model at all
    except ValueError as err:
        fail(str(err))
    decoded = [decode_image_file(image) for image in args.images]  # or one line naming it
    for image, ranked in zip(args.images, predict(args.model, decoded, args.top), strict=True):
        shown = ", ".join(f"{label} {p:.3f}" for label, p in ranked)
        print(f"{image}: {shown}")


if __name__ == "__main__":
    main()
