"""Reading a training run back: its model, configuration and run facts, and its data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras

from keras_wrn.data import DataSource, load_data, load_image_folder
from keras_wrn.models.registry import deep_graphs
from keras_wrn.training.config import TrainConfig, read_config_file


@dataclasses.dataclass
class TrainedRun:
    """A `.keras` model and, when it came from a training output directory, that run's
    ``config.json`` (as flat keys) and ``run.json`` (class names, sizes)."""

    model: keras.Model
    config: dict[str, Any]
    info: dict[str, Any]


def load_run(path: str | Path) -> TrainedRun:
    """Loads a `.keras` file or a training output directory; one-line ValueError otherwise."""
    import keras_wrn  # noqa: F401  (registers the custom layers)

    path = Path(path)
    config, info = {}, {}
    if path.is_dir():
        if (path / "config.json").is_file():
            # An older run's keys this version does not know are not needed to reload it.
            config = read_config_file(str(path / "config.json"), strict=False)
        if (path / "run.json").is_file():
            info = json.loads((path / "run.json").read_text())
        path = path / "model.keras"
    if not path.is_file():
        raise ValueError(f"no model at {path}; pass a .keras file or a training output "
                         f"directory.")
    try:
        with deep_graphs():
            model = keras.models.load_model(path)
    except Exception as err:
        raise ValueError(f"{path} is not a Keras model ({type(err).__name__}); pass a .keras "
                         f"file written by apps/train.py.") from None
    return TrainedRun(model, config, info)


def load_run_data(config: dict[str, Any], image_size: int,
                  tfds_data_dir: str | None = None) -> DataSource:
    """The data a run was trained on, split as the run split it."""
    return load_data(config.get("dataset"), image_size, data_dir=config.get("data_dir"),
                     val_dir=config.get("val_dir"), val_split=config.get("val_split", 0.1),
                     tfds_data_dir=tfds_data_dir or config.get("tfds_data_dir"),
                     seed=config.get("seed", 0), kind=config.get("augmentation") or "cifar",
                     cache=_evaluation_cache(config.get("cache")))


def _evaluation_cache(cache: str | None) -> str:
    """A run's cache choice for reading its data again: its TFRecords if it wrote them."""
    return cache if cache and cache.startswith("disk:") else "auto"


def load_config_data(config: TrainConfig, for_selection: bool = False) -> DataSource:
    """The data of a resolved configuration (``for_selection``: never a TFDS test split)."""
    data = config.data
    return load_data(data.dataset, config.input_size(), data_dir=data.data_dir,
                     val_dir=data.val_dir, val_split=data.val_split,
                     tfds_data_dir=data.tfds_data_dir, seed=config.runtime.seed,
                     for_selection=for_selection, kind=config.recipe.augmentation or "cifar",
                     cache=data.cache, cache_budget=config.cache_budget())


def evaluation_data(run: TrainedRun, data_dir: str | None = None, dataset: str | None = None,
                    tfds_data_dir: str | None = None) -> tuple[DataSource, Any]:
    """(source, unbatched examples) to measure ``run`` on: every image of ``data_dir``, the
    held-out split of ``dataset``, or else the validation split the run trained with.
    ValueError (one line) when there is none or its classes do not match the model's."""
    size = run.model.input_shape[1]
    kind = run.config.get("augmentation") or "cifar"
    if data_dir:  # its empty class folders, if any, keep the labels of the model's classes
        source = load_image_folder(data_dir, size, val_split=0.0, kind=kind, evaluation=True)
        examples = source.train
    elif dataset:
        source = load_data(dataset, size, tfds_data_dir=tfds_data_dir, kind=kind)
        examples = source.val
    elif run.config:
        source = load_run_data(run.config, size, tfds_data_dir)
        examples = source.val
    else:
        raise ValueError("no evaluation data: pass --data-dir DIR or --dataset NAME.")
    if examples is None:
        raise ValueError("that data has no held-out split; pass --data-dir DIR to evaluate a "
                         "folder.")
    if source.num_classes != run.model.output_shape[-1]:
        raise ValueError(f"the data has {source.num_classes} classes but the model predicts "
                         f"{run.model.output_shape[-1]}; evaluate on the data the model was "
                         f"trained for.")
    return source, examples
