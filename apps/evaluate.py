"""Measure a trained or exported model: top-1 / top-5 accuracy and loss.

`--model` takes a training output directory, a `.keras` file, a SavedModel directory
(exports/NAME/VERSION), a `.tflite` or an `.onnx` file (onnxruntime, the `onnx` extra). With no
data flags, a training directory is evaluated on the validation split its run used; `--data-dir
DIR` evaluates every image of a folder, `--dataset NAME` the held-out split of a TFDS dataset
(or `synthetic`).

SavedModels and .tflite files are programs: loading one runs the graph it holds. Load them only
from sources you trust.
"""

from __future__ import annotations

import argparse
import json

from _app import add_evaluation_flags, fail, guarded, load_evaluation


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_evaluation_flags(parser, "training output dir, .keras, SavedModel dir, .tflite or .onnx "
                                 "(from a trusted source)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.batch_size < 1:
        fail(f"--batch-size must be >= 1, got {args.batch_size}.")

    from keras_wrn.analysis.scores import score
    from keras_wrn.data import eval_dataset

    model, source, examples = load_evaluation(args)
    batches = eval_dataset(examples, source.num_classes, args.batch_size).as_numpy_iterator()
    scores = score(model.predict, batches, source.num_classes)
    try:
        metrics = scores.metrics()
    except ValueError as err:
        fail(str(err))
    print(f"top1 {metrics['top1']:.4f}  top5 {metrics['top5']:.4f}  loss {metrics['loss']:.4f}  "
          f"examples {metrics['examples']}")
    if args.json:
        print(json.dumps(metrics))


if __name__ == "__main__":
    main()
