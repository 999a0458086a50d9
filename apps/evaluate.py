"""Measure a trained model: top-1 / top-5 accuracy and loss.

`--model` takes a `.keras` file or a training output directory. With no data flags, a training
directory is evaluated on the validation split its run used; `--data-dir DIR` evaluates every
image of a folder, `--dataset NAME` the held-out split of a TFDS dataset (or `synthetic`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _path  # noqa: F401


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


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

    import keras

    import keras_wrn  # noqa: F401  (registers the custom layers)
    from keras_wrn.data import DataError, eval_dataset, load_data
    from keras_wrn.training import evaluate

    path = Path(args.model)
    run_config = {}
    if path.is_dir():
        if (path / "config.json").exists():
            run_config = json.loads((path / "config.json").read_text())
        path = path / "model.keras"
    if not path.is_file():
        fail(f"no model at {path}; pass --model FILE.keras or a training output directory.")
    try:
        model = keras.models.load_model(path)
    except Exception as err:
        fail(f"{path} is not a Keras model ({type(err).__name__}); pass a .keras file "
             f"written by apps/train.py.")
    size = model.input_shape[1]
    try:
        if args.data_dir:
            source = load_data(None, size, data_dir=args.data_dir, val_split=0.0)
            examples = source.train
        elif args.dataset or run_config:
            source = load_data(
                args.dataset or run_config.get("dataset"), size,
                data_dir=None if args.dataset else run_config.get("data_dir"),
                val_dir=None if args.dataset else run_config.get("val_dir"),
                val_split=run_config.get("val_split", 0.1),
                tfds_data_dir=args.tfds_data_dir or run_config.get("tfds_data_dir"),
                seed=run_config.get("seed", 0),
            )
            if source.val is None:
                fail("the run held out no validation data; pass --data-dir or --dataset.")
            examples = source.val
        else:
            fail("no evaluation data: pass --data-dir DIR or --dataset NAME.")
    except (DataError, ValueError) as err:
        fail(str(err))
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
