"""Reading a training run back: its model, configuration and run facts, and its data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import keras

from keras_wrn.data import DataSource, load_data
from keras_wrn.models.registry import deep_graphs


@dataclasses.dataclass
class TrainedRun:
    """A `.keras` model and, when it came from a training output directory, that run's
    ``config.json`` and ``run.json`` (class names, sizes)."""

    model: keras.Model
    config: dict[str, Any]
    info: dict[str, Any]


def load_run(path: str | Path) -> TrainedRun:
    """Loads a `.keras` file or a training output directory; one-line ValueError otherwise."""
    import keras_wrn  # noqa: F401  (registers the custom layers)

    path = Path(path)
    config, info = {}, {}
    if path.is_dir():
        for name, target in (("config.json", config), ("run.json", info)):
            if (path / name).is_file():
                target.update(json.loads((path / name).read_text()))
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
                     seed=config.get("seed", 0))
