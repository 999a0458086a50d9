"""Measure a trained or exported model: top-1 / top-5 accuracy and loss; with --per-class, each
class's accuracy and the confusion matrix.

`--model` takes a training output directory, a `.keras` file, a SavedModel directory
(exports/NAME/VERSION), a `.tflite` or an `.onnx` file (onnxruntime, the `onnx` extra). With no
data flags, a training directory is evaluated on the validation split its run used; `--data-dir
DIR` evaluates every image of a folder, `--dataset NAME` the held-out split of a TFDS dataset
(or `synthetic`). `--per-class` writes OUTPUT/per_class.json and OUTPUT/confusion.png (`--output`,
default `evaluation`; the picture needs matplotlib, pip install 'keras_wrn[analysis]').

SavedModels and .tflite files are programs: loading one runs the graph it holds. Load them only
from sources you trust.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _app import add_evaluation_flags, fail, guarded, load_evaluation, parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_evaluation_flags(parser, "training output dir, .keras, SavedModel dir, .tflite or .onnx "
                                 "(from a trusted source)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--per-class", action="store_true",
                        help="print each class's accuracy; write per_class.json and "
                             "confusion.png into --output")
    parser.add_argument("--output", help="folder for --per-class's files (default: evaluation)")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    if args.batch_size < 1:
        fail(f"--batch-size must be >= 1, got {args.batch_size}.")
    if args.output and not args.per_class:
        fail("--output is where --per-class writes its files; add --per-class.")
    output = Path(args.output or "evaluation")
    if args.per_class:
        if output.exists() and not output.is_dir():
            fail(f"--output {output} is a file; pass a folder.")
        import matplotlib  # noqa: F401  (before the minutes of measuring: is the plot possible?)

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
    if args.per_class:
        _per_class(args, model, scores, source.class_names, output)
    if args.json:
        print(json.dumps(metrics))


def _per_class(args, model, scores, data_classes: list[str], output: Path) -> None:
    """Prints each class's accuracy and writes per_class.json and confusion.png."""
    from keras_wrn.analysis.confusion import per_class_report, write_per_class

    data = args.data_dir or args.dataset or "the run's validation split"
    report = per_class_report(scores, model.class_names or data_classes, model=str(args.model),
                              kind=model.kind, data=data)
    width = max(len(name) for name in [*report["classes"], "class"])
    print(f"{'class':<{width}}  accuracy  (correct/images)")
    for row in report["per_class"]:
        accuracy = "-" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
        print(f"{row['class']:<{width}}  {accuracy:<8}  ({row['correct']}/{row['examples']})")
    written = write_per_class(report, output, f"{args.model} on {data}")
    print(f"wrote {' and '.join(map(str, written))}")


if __name__ == "__main__":
    main()
