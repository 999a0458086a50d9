"""Data sources (TFDS, image folders, TFRecord shards, synthetic) and the tf.data pipeline."""

from __future__ import annotations

from keras_wrn.core import lazy
from keras_wrn.data.kinds import KINDS
from keras_wrn.data.source import DataError, DataSource

# Loaded on first use: the pipeline imports TensorFlow, the configuration's flags need none of it.
__getattr__, __dir__ = lazy.attach(__name__, {
    "augment_batch": "keras_wrn.data.augment", "Examples": "keras_wrn.data.examples",
    "StreamExamples": "keras_wrn.data.examples", "steps_per_epoch": "keras_wrn.data.examples",
    "load_image_folder": "keras_wrn.data.folder", "AugmentConfig": "keras_wrn.data.pipeline",
    "device_augmentable": "keras_wrn.data.pipeline", "eval_dataset": "keras_wrn.data.pipeline",
    "prepared": "keras_wrn.data.pipeline", "train_dataset": "keras_wrn.data.pipeline",
    "load_synthetic": "keras_wrn.data.synthetic", "load_tfrecord_dir": "keras_wrn.data.tfrecord"})

__all__ = ["KINDS", "AugmentConfig", "DataError", "DataSource", "Examples", "StreamExamples",
           "augment_batch", "device_augmentable", "eval_dataset", "load_data",
           "load_image_folder", "load_synthetic", "load_tfrecord_dir", "prepared",
           "steps_per_epoch", "train_dataset"]


def load_data(dataset: str | None, image_size: int, *, data_dir: str | None = None,
              val_dir: str | None = None, val_split: float = 0.1,
              tfds_data_dir: str | None = None, seed: int = 0,
              for_selection: bool = False, kind: str = "cifar", cache: str = "auto",
              cache_budget: int | None = None) -> DataSource:
    """An image folder or TFRecord directory when ``data_dir`` is given, else ``dataset``:
    ``"synthetic"`` or a TFDS name (``cifar10`` when left out). ``for_selection``: validation
    data for hyperparameter search, held out of the training data (a TFDS test split is never
    used). ``kind`` (cifar or imagenet) is how images are cropped; ``cache`` (auto, memory,
    disk:PATH or none) and ``cache_budget`` (bytes) decide what is held in memory."""
    from keras_wrn.data import cache as cache_choice
    from keras_wrn.data.folder import load_image_folder
    from keras_wrn.data.synthetic import load_synthetic

    cache_choice.check(cache)
    if data_dir:
        return load_image_folder(data_dir, image_size, val_split, val_dir, kind, cache,
                                 cache_budget)
    if dataset == "synthetic":
        return load_synthetic(image_size, seed=seed, kind=kind)
    from keras_wrn.data.tfds_source import load_tfds  # imports tensorflow_datasets

    return load_tfds(dataset or "cifar10", image_size, val_split, tfds_data_dir,
                     for_selection=for_selection, kind=kind, cache=cache,
                     cache_budget=cache_budget)
