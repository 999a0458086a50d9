"""Data sources (TFDS, image folders, synthetic) and the tf.data training pipeline."""

from __future__ import annotations

from keras_wrn.data.folder import load_image_folder
from keras_wrn.data.pipeline import AugmentConfig, eval_dataset, train_dataset
from keras_wrn.data.source import DataError, DataSource
from keras_wrn.data.synthetic import load_synthetic

__all__ = ["AugmentConfig", "DataError", "DataSource", "eval_dataset", "load_data",
           "load_image_folder", "load_synthetic", "train_dataset"]


def load_data(dataset: str | None, image_size: int, *, data_dir: str | None = None,
              val_dir: str | None = None, val_split: float = 0.1,
              tfds_data_dir: str | None = None, seed: int = 0,
              for_selection: bool = False) -> DataSource:
    """An image folder when ``data_dir`` is given, else ``dataset``: ``"synthetic"`` or a TFDS
    name (``cifar10`` when left out). ``for_selection``: validation data for hyperparameter
    search, held out of the training data (a TFDS test split is never used)."""
    if data_dir:
        return load_image_folder(data_dir, image_size, val_split, val_dir)
    if dataset == "synthetic":
        return load_synthetic(image_size, seed=seed)
    from keras_wrn.data.tfds_source import load_tfds  # imports tensorflow_datasets

    return load_tfds(dataset or "cifar10", image_size, val_split, tfds_data_dir,
                     for_selection=for_selection)
