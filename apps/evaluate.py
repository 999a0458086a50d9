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


@guarded
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help=".keras file or training output dir")
    parser.add_argument("--data-dir", help="image folder, one sub-folder per class")
    parser.add_argument("--dataset", help="TFDS name or 'synthetic'")
    parser.add_argument("--tfds-data-dir")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        fail(f"--batch-size must be >= 1, got {args.batch_size}.")

    from keras_wrn.data import DataError, eval_dataset, load_data
    from keras_wrn.training import evaluate
    from keras_wrn.training.runs import load_run, load_run_data

    try:
        run = load_run(args.model)
        model, size = run.model, run.model.input_shape[1]
        if args.data_dir:
            source = load_data(None, size, data_dir=args.data_dir, val_split=0.0)
            examples = source.train
        elif args.dataset:
            source = load_data(args.dataset, size, tfds_data_dir=args.tfds_data_dir)
            examples = source.val
        elif run.config:
            source = load_run_data(run.config, size, args.tfds_data_dir)
            examples = source.val
        else:
            fail("no evaluation data: pass --data-dir DIR or --dataset NAME.")
    except (DataError, ValueError) as err:
        fail(str(err))
    if examples is None:
        fail("that data has no held-out split; pass --data-dir DIR to evaluate a folder.")
    if source.num_classes != model.output_shape[-1]:
        fail(f"the data has {source.num_classes} classes but the model predicts "
             f"{model.output_shape[-1]}; evaluate on the data the model was trained for.")
    if source.skipped:
        print(f"warning: skipped {source.skipped} unreadable images", file=sys.stderr)
    metrics = evaluate(model, eval_dataset(examples, source.num_classes, args.batch_size))
    print(f"top1 {metrics['top1']:.4f}  top5 {metrics['top5']:.4f}  loss {metrics['loss']:.4f}  "
          f"examples {metrics['examples']}")
    if args.json:
        print(json.dumps(metrics))


if __name__ == "__main__":
    main()
