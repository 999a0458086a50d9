"""Measure a trained model: top-1 / top-5 accuracy and loss.

`--model` takes a `.keras` file or a training output directory. With no data flags, a training
directory is evaluated on the validation split its run used; `--data-dir DIR` evaluates every
image of a folder, `--dataset NAME` the held-out split of a TFDS dataset (or `synthetic`).
"""

from __future__ import annotations

import argparse
import json
import sys

from _app import fail, guarded


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help=".keras file or training output dir")
    parser.add_argument("--data-dir", help="image folder, one sub-folder per class")
    parser.add_argument("--dataset", help="TFDS name or 'synthetic'")
    parser.add_argument("--tfds-data-dir")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    return parser


@guarded
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.batch_size < 1:
        fail(f"--batch-size must be >= 1, got {args.batch_size}.")

    from keras_wrn.data import DataError, eval_dataset
    from keras_wrn.training import evaluate
    from keras_wrn.training.runs import evaluation_data, load_run

    try:
        run = load_run(args.model)
        source, examples = evaluation_data(run, args.data_dir, args.dataset,
                                           args.tfds_data_dir)
    except (DataError, ValueError) as err:
        fail(str(err))
    model = run.model
    if source.skipped:
        print(f"warning: skipped {source.skipped} unreadable images", file=sys.stderr)
    metrics = evaluate(model, eval_dataset(examples, source.num_classes, args.batch_size))
    print(f"top1 {metrics['top1']:.4f}  top5 {metrics['top5']:.4f}  loss {metrics['loss']:.4f}  "
          f"examples {metrics['examples']}")
    if args.json:
        print(json.dumps(metrics))


if __name__ == "__main__":
    main()
