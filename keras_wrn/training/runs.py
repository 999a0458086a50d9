"""Reading a training run back: its model, configuration and run facts, and its data."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, Protocol

import keras

from keras_wrn.data import DataSource, load_data, load_image_folder
from keras_wrn.models.registry import deep_graphs
from keras_wrn.training.config import TrainConfig, read_config_file


@dataclasses.dataclass
class TrainedRun:
    """A `.keras` model and, from its run's folder, that run's ``config.json`` (as flat keys;
    when the folder was given) and ``run.json`` (class names, sizes)."""

    model: keras.Model
    config: dict[str, Any]
    info: dict[str, Any]

    @property
    def image_size(self) -> int:
        return self.model.input_shape[1]

    @property
    def num_classes(self) -> int:
        return self.model.output_shape[-1]

    @property
    def class_names(self) -> list[str] | None:
        """The run's class names (run.json's), or None when it kept none."""
        return self.info.get("class_names")


class Classifier(Protocol):
    """What data is checked against and chosen for: a model's input size, outputs, class
    names (None: unknown) and its run's configuration ({}: no run). A TrainedRun, or any
    model keras_wrn.inference loads."""

    image_size: int
    num_classes: int
    class_names: list[str] | None
    config: dict[str, Any]


def load_run(path: str | Path) -> TrainedRun:
    """Loads a `.keras` file or a training output directory, with the ``run.json`` beside the
    model (checked against it); one-line ValueError otherwise."""
    from keras_wrn import layers

    layers.register()  # the custom layers, for load_model

    path = Path(path)
    config = {}
    if path.is_dir():
        if (path / "config.json").is_file():
            # An older run's keys this version does not know are not needed to reload it.
            config = read_config_file(str(path / "config.json"), strict=False)
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
    info = read_run_info(path.parent / "run.json", model.output_shape[-1])
    return TrainedRun(model, config, info)


def read_run_info(path: Path, outputs: int) -> dict[str, Any]:
    """A run's ``run.json`` ({} when there is none), once it is a JSON object whose
    ``class_names``, if any, are ``outputs`` strings: the names every app labels with.
    ValueError (one line, naming the file and the fix) otherwise."""
    if not path.is_file():
        return {}
    fix = "restore it from the run, or delete it (the model then loads without class names)"
    try:
        info = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not JSON ({str(err).splitlines()[0][:80]}); "
                         f"{fix}.") from None
    if not isinstance(info, dict):
        raise ValueError(f"{path} must hold a JSON object (the run's facts), not "
                         f"{_brief(info)}; {fix}.")
    names = info.get("class_names")
    if names is None:
        return info
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path}: class_names must be a list of strings, got "
                         f"{_brief(names)}; {fix}.")
    if len(names) != outputs:
        raise ValueError(f"{path} names {len(names)} classes but the model beside it predicts "
                         f"{outputs}: they are not one run's; {fix}.")
    return info


def _brief(value: Any, limit: int = 60) -> str:
    """``value`` as JSON, cut to ``limit`` characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_classes(run: Classifier, class_names: list[str], what: str) -> None:
    """ValueError (one line) unless data whose classes are ``class_names`` (``what``: which
    data, as its flag) has the model's: the run's class names in order, or as many classes
    when the run kept no names. The same count with other names would score labels against
    classes they do not mean."""
    outputs = run.num_classes
    if len(class_names) != outputs:
        raise ValueError(f"{what} has {len(class_names)} classes but the model predicts "
                         f"{outputs}; use data of the classes the model was trained on.")
    names = run.class_names
    if names is None or names == class_names:
        return
    differ = [i for i, (ours, theirs) in enumerate(zip(names, class_names, strict=True))
              if ours != theirs]
    more = ", ..." if len(differ) > 3 else ""
    raise ValueError(
        f"{what} has other classes than the model's run: "
        f"{', '.join(repr(class_names[i]) for i in differ[:3])}{more} where the run has "
        f"{', '.join(repr(names[i]) for i in differ[:3])}{more} ({len(differ)} of {outputs} "
        f"differ); use images of the run's classes, named and ordered as in its run.json.")


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


def planned_steps(config: TrainConfig, for_selection: bool = False) -> int | None:
    """The training steps of a resolved configuration's run, from the data's file listing or
    metadata before TensorFlow starts (None: unknown until loaded, or not needed): what decides
    whether the run's plan compiles with XLA's auto-clustering, a CPU-only choice, so a forced
    one or a machine with an NVIDIA driver lists nothing."""
    from keras_wrn.data.sizes import train_size_hint
    from keras_wrn.runtime.devices import gpu_driver_present

    if config.runtime.xla_fusion is not None or gpu_driver_present():
        return None
    data = config.data
    size = train_size_hint(data.dataset, data.data_dir, data.val_dir, data.val_split,
                           data.tfds_data_dir, for_selection)
    if size is None:
        return None
    per_epoch = size // config.recipe.batch_size
    if config.runtime.steps_per_epoch:
        per_epoch = min(per_epoch, config.runtime.steps_per_epoch)
    return per_epoch * config.recipe.epochs


def evaluation_data(run: Classifier, data_dir: str | None = None, dataset: str | None = None,
                    tfds_data_dir: str | None = None) -> tuple[DataSource, Any]:
    """(source, unbatched examples) to measure ``run`` on: every image of ``data_dir``, the
    held-out split of ``dataset``, or else the validation split the run trained with.
    ValueError (one line) when there is none or its classes do not match the model's."""
    size = run.image_size
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
    what = (f"--data-dir {data_dir}" if data_dir else f"--dataset {dataset}" if dataset
            else "the run's validation data")
    check_classes(run, source.class_names, what)
    return source, examples
