r"""Export a trained model for TF Serving and devices, measured against the float model.

    python apps/export.py --model runs/cifar10-resnet20 --name cifar10_resnet20 \
        --formats saved_model,tflite_fp32,tflite_fp16,tflite_dynamic,tflite_int8

writes exports/NAME/VERSION/ (SavedModel; exports/NAME is a TF Serving base path),
exports/NAME/tflite/VERSION/*.tflite (tflite_micro also as a C++ header),
exports/NAME/onnx/VERSION/model.onnx and exports/NAME/report.json. With a training output
directory as --model, calibration uses its training data and evaluation its validation split.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    from keras_wrn.export.formats import ordered

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help=".keras file or training output directory")
    p.add_argument("--name", required=True,
                   help="model name (TF Serving's), one folder name inside --export-dir")
    p.add_argument("--version", type=int, help="integer version (default: next free)")
    p.add_argument("--formats", default="saved_model,tflite_fp32,tflite_int8",
                   help="comma-separated, of: " + "; ".join(
                       f"{fmt.name} ({fmt.help})" for fmt in ordered()))
    p.add_argument("--export-dir", default="exports")
    p.add_argument("--calibration-dir", help="training image folder (calibration, fine-tuning)")
    p.add_argument("--calibration-dataset", help="TFDS name or 'synthetic'")
    p.add_argument("--calibration-examples", type=int, default=200)
    p.add_argument("--eval-data-dir", help="evaluation image folder (every image)")
    p.add_argument("--eval-dataset", help="TFDS name or 'synthetic' (its held-out split)")
    p.add_argument("--eval-examples", type=int, default=0, help="0: all")
    p.add_argument("--tfds-data-dir")
    p.add_argument("--qat-epochs", type=int, default=0, help="QAT fine-tuning epochs")
    p.add_argument("--qat-lr", type=float, default=1e-3,
                   help="QAT / pruning fine-tuning's first LR, annealed to zero by a cosine")
    p.add_argument("--qat-targets", choices=("distill", "labels"), default="distill",
                   help="QAT fine-tunes on the float model's probabilities (distill: it learns "
                        "to answer as the float model does) or on the labels")
    p.add_argument("--freeze-bn-after", type=float, default=0.25,
                   help="QAT: batch-norm statistics frozen after this fraction of its steps")
    p.add_argument("--prune", type=float, default=0.0, help="target kernel sparsity")
    p.add_argument("--prune-epochs", type=int, default=1)
    p.add_argument("--fine-tune-steps", type=int, help="cap steps per QAT/pruning epoch")
    p.add_argument("--threads", type=int, default=1,
                   help="LiteRT and onnxruntime threads for latency")
    p.add_argument("--micro-examples", type=int, default=200,
                   help="evaluation images each int8 model runs on under TFLite Micro, one at a "
                        "time (0: only the arena size)")
    p.add_argument("--lesion", type=int, nargs="+", default=[], metavar="K",
                   help="depth ladder: also export the model without the K residual blocks "
                        "whose deletion costs least top-1 on the evaluation data, for each K "
                        "(in the first of --formats that is one of "
                        + ", ".join(fmt.name for fmt in ordered() if fmt.ladder) + ")")
    return p


def _arrays(dataset, limit: int) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for x, y in dataset.batch(1000).as_numpy_iterator():
        images.append(x)
        labels.append(y)
        if limit and sum(len(i) for i in images) >= limit:
            break
    images_np, labels_np = np.concatenate(images), np.concatenate(labels)
    if limit:
        images_np, labels_np = images_np[:limit], labels_np[:limit]
    return images_np.astype(np.float32), labels_np


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())

    from keras_wrn.data import DataError, load_data, train_dataset
    from keras_wrn.data.pipeline import AugmentConfig
    from keras_wrn.export import (
        FORMATS,
        ExportData,
        ExportError,
        ExportOptions,
        check_formats,
        export,
        format_table,
        model_base,
    )
    from keras_wrn.inference import load_model
    from keras_wrn.training.runs import check_classes, load_run_data

    options = ExportOptions(formats=formats, version=args.version, qat_epochs=args.qat_epochs,
                            qat_lr=args.qat_lr, prune_sparsity=args.prune,
                            prune_epochs=args.prune_epochs, fine_tune_steps=args.fine_tune_steps,
                            threads=args.threads, lesion=tuple(args.lesion),
                            micro_examples=args.micro_examples, qat_targets=args.qat_targets,
                            freeze_bn_after=args.freeze_bn_after)
    for flag, value, least in (("--calibration-examples", args.calibration_examples, 1),
                               ("--eval-examples", args.eval_examples, 0),
                               ("--qat-epochs", args.qat_epochs, 0),
                               ("--prune-epochs", args.prune_epochs, 1),
                               ("--fine-tune-steps", args.fine_tune_steps, 1),
                               ("--threads", args.threads, 1),
                               ("--micro-examples", args.micro_examples, 0)):
        if value is not None and value < least:
            fail(f"{flag} must be >= {least}, got {value}.")
    if not 0 <= args.freeze_bn_after <= 1:
        fail(f"--freeze-bn-after is a fraction of the QAT steps in [0, 1], got "
             f"{args.freeze_bn_after}.")
    try:
        check_formats(formats, options)
        model_base(args.export_dir, args.name)  # before the model loads: where it would go
    except ExportError as err:
        fail(str(err))
    try:
        run = load_model(args.model, ("keras",), "export converts the float weights").run
    except ValueError as err:
        fail(str(err))
    model, run_config, run_info = run.model, run.config, run.info
    # The fine-tuning's loss and augmentation are the training's.
    options.label_smoothing = run_config.get("label_smoothing", 0.0)
    size = model.input_shape[1]
    sources = {}
    kind = run_config.get("augmentation") or "cifar"  # how the training prepared images

    def source(data_dir, dataset, use_run):
        key = (data_dir, dataset, use_run)
        if key not in sources:
            if data_dir:
                sources[key] = load_data(None, size, data_dir=data_dir, val_split=0.0,
                                         kind=kind)
            elif dataset:
                sources[key] = load_data(dataset, size, tfds_data_dir=args.tfds_data_dir,
                                         kind=kind)
            elif use_run and run_config:
                sources[key] = load_run_data(run_config, size, args.tfds_data_dir)
            else:
                sources[key] = None
        return sources[key]

    def labelled_as_run(data, *flags: tuple[str, str | None]) -> None:
        """A one-line error unless ``data`` (from the first of ``flags`` given, else the run's
        own) has the run's classes: its labels are scored, or trained on."""
        what = next((f"{flag} {value}" for flag, value in flags if value), "the run's own data")
        try:
            check_classes(run, data.class_names, what)
        except ValueError as err:
            fail(str(err))

    try:
        data = ExportData()
        calibration = source(args.calibration_dir, args.calibration_dataset, True)
        if calibration is not None:
            if any(FORMATS[f].fine_tunes for f in formats):  # fine-tunes on its labels
                labelled_as_run(calibration, ("--calibration-dir", args.calibration_dir),
                                ("--calibration-dataset", args.calibration_dataset))
            data.calibration, _ = _arrays(calibration.train.shuffle(50_000, seed=0),
                                          args.calibration_examples)
            augmentation = AugmentConfig.from_recipe(run_config)

            def fine_tune(epoch, data=calibration, augmentation=augmentation):
                return train_dataset(data.train_examples, data.num_classes, 64, epoch, 0,
                                     augmentation)

            data.fine_tune = fine_tune
        evaluation = source(args.eval_data_dir, args.eval_dataset, True)
        if evaluation is not None:
            labelled_as_run(evaluation, ("--eval-data-dir", args.eval_data_dir),
                            ("--eval-dataset", args.eval_dataset))
            split = evaluation.train if args.eval_data_dir else evaluation.val
            if split is not None:
                if args.eval_examples:  # a sample of every class, not the first classes
                    split = split.shuffle(50_000, seed=0)
                data.eval_images, data.eval_labels = _arrays(split, args.eval_examples)
        known = evaluation or calibration
        class_names = run_info.get("class_names") or (
            known.class_names if known else [f"class_{i}" for i in range(model.output_shape[-1])])
        report = export(model, class_names, args.name, args.export_dir, data, options)
    except (ExportError, DataError) as err:
        fail(str(err))
    print(format_table(report))
    print(f"report: {Path(args.export_dir) / args.name / 'report.json'}")


if __name__ == "__main__":
    main()
