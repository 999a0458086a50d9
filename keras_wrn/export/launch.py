"""An export from Python or the command line: the request checked, the trained model and its
data loaded (calibration from the training data, evaluation from held-out data, each checked
against the run's classes), then every format written and measured. apps/export.py parses its
generated flags and calls :func:`export_run`."""

from __future__ import annotations

from typing import Any

import numpy as np

from keras_wrn.export.request import ExportRequest


def _arrays(dataset: Any, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (float32) and labels of an unbatched dataset, the first ``limit`` (0: all)."""
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


def export_run(request: ExportRequest, log: Any = print) -> dict[str, Any]:
    """Exports ``request.model`` as ``request`` asks and returns the report (also written as
    EXPORT_DIR/NAME/report.json). Raises ExportError, DataError or ValueError, each one line;
    nothing is written before the request, the formats and the target folder pass."""
    from keras_wrn.data import load_data, train_dataset
    from keras_wrn.data.pipeline import AugmentConfig
    from keras_wrn.export.exporter import FORMATS, ExportData, check_formats, export
    from keras_wrn.export.layout import model_base
    from keras_wrn.inference import load_model
    from keras_wrn.training.runs import check_classes, load_run_data

    options = request.options
    request.check()
    check_formats(options.formats, options)
    model_base(request.export_dir, request.name)  # before the model loads: where it would go
    run = load_model(request.model, ("keras",), "export converts the float weights").run
    model, run_config, run_info = run.model, run.config, run.info
    # The fine-tuning's loss and augmentation are the training's.
    options.label_smoothing = run_config.get("label_smoothing", 0.0)
    size = model.input_shape[1]
    sources: dict[tuple, Any] = {}
    kind = run_config.get("augmentation") or "cifar"  # how the training prepared images

    def source(data_dir: str | None, dataset: str | None) -> Any:
        """The data a folder or dataset names, else the run's own (None without either)."""
        key = (data_dir, dataset)
        if key not in sources:
            if data_dir:
                sources[key] = load_data(None, size, data_dir=data_dir, val_split=0.0,
                                         kind=kind)
            elif dataset:
                sources[key] = load_data(dataset, size, tfds_data_dir=request.tfds_data_dir,
                                         kind=kind)
            elif run_config:
                sources[key] = load_run_data(run_config, size, request.tfds_data_dir)
            else:
                sources[key] = None
        return sources[key]

    def labelled_as_run(data: Any, *flags: tuple[str, str | None]) -> None:
        """ValueError unless ``data`` (from the first of ``flags`` given, else the run's own)
        has the run's classes: its labels are scored, or trained on."""
        what = next((f"{flag} {value}" for flag, value in flags if value), "the run's own data")
        check_classes(run, data.class_names, what)

    data = ExportData()
    calibration = source(request.calibration_dir, request.calibration_dataset)
    if calibration is not None:
        if any(FORMATS[f].fine_tunes for f in options.formats):  # fine-tunes on its labels
            labelled_as_run(calibration, ("--calibration-dir", request.calibration_dir),
                            ("--calibration-dataset", request.calibration_dataset))
        data.calibration, _ = _arrays(calibration.train.shuffle(50_000, seed=0),
                                      request.calibration_examples)
        augmentation = AugmentConfig.from_recipe(run_config)

        def fine_tune(epoch: int, data: Any = calibration, augmentation: Any = augmentation
                      ) -> Any:
            return train_dataset(data.train_examples, data.num_classes, 64, epoch, 0,
                                 augmentation)

        data.fine_tune = fine_tune
    evaluation = source(request.eval_data_dir, request.eval_dataset)
    if evaluation is not None:
        labelled_as_run(evaluation, ("--eval-data-dir", request.eval_data_dir),
                        ("--eval-dataset", request.eval_dataset))
        split = evaluation.train if request.eval_data_dir else evaluation.val
        if split is not None:
            if request.eval_examples:  # a sample of every class, not the first classes
                split = split.shuffle(50_000, seed=0)
            data.eval_images, data.eval_labels = _arrays(split, request.eval_examples)
    known = evaluation or calibration
    class_names = run_info.get("class_names") or (
        known.class_names if known else [f"class_{i}" for i in range(model.output_shape[-1])])
    return export(model, class_names, request.name, request.export_dir, data, options, log=log)
