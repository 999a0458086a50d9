"""Data sources (TFDS, image folders, TFRecord shards, synthetic) and the tf.data pipeline."""

from __future__ import annotations

from keras_wrn.data.augment import augment_batch
from keras_wrn.data.examples import Examples, StreamExamples, steps_per_epoch
from keras_wrn.data.folder import load_image_folder
from keras_wrn.data.pipeline import (
    KINDS,
    AugmentConfig,
    device_augmentable,
    eval_dataset,
    prepared,
    train_dataset,
)
from keras_wrn.data.source import DataError, DataSource
from keras_wrn.data.synthetic import load_synthetic
from keras_wrn.data.tfrecord import load_tfrecord_dir

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
