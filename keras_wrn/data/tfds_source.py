"""Image-classification datasets from TensorFlow Datasets (`--dataset cifar10`, ...).

A dataset prepared under ``--tfds-data-dir`` (or TFDS's default folder) is read as it is; one
that is not prepared is downloaded only when the download host answers, otherwise the run stops
at once with a one-line error naming the offline alternatives.
"""

from __future__ import annotations

import socket

import tensorflow as tf
import tensorflow_datasets as tfds

from keras_wrn.data.source import DataError, DataSource

DOWNLOAD_HOST = ("storage.googleapis.com", 443)


def _online(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection(DOWNLOAD_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def _load(name: str, splits: list[str], data_dir: str | None, download: bool):
    return tfds.load(name, split=splits, data_dir=data_dir, download=download,
                     as_supervised=True, with_info=True)


def _size(dataset: tf.data.Dataset) -> int:
    size = int(dataset.cardinality())
    if size < 0:  # unknown (e.g. filtered or mocked): count once
        size = int(dataset.reduce(0, lambda count, _: count + 1))
    return size


def load_tfds(name: str, image_size: int, val_split: float = 0.1,
              data_dir: str | None = None, for_selection: bool = False) -> DataSource:
    """``train`` for training; ``test`` (or ``validation``) for validation if the dataset has
    one, else the last ``val_split`` of ``train``. ``for_selection`` (hyperparameter search):
    always the last ``val_split`` of ``train``, so that the test split is never selected on."""
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as err:  # tfds raises its own DatasetNotFoundError subclasses
        raise DataError(
            f"unknown TFDS dataset {name!r} ({type(err).__name__}); see tfds.list_builders(), "
            f"or use --data-dir DIR for an image folder."
        ) from None
    available = set(builder.info.splits.keys())
    held_out = None if for_selection else next(
        (s for s in ("test", "validation") if s in available), None)
    if held_out:
        splits = ["train", held_out]
    else:
        percent = round(val_split * 100)
        if percent < 1:
            raise DataError(f"{name} has no held-out split to use here; pass --val-split of "
                            f"at least 0.01 to hold out part of its training data.")
        splits = [f"train[:{100 - percent}%]", f"train[{100 - percent}%:]"]
    try:
        (train, val), info = _load(name, splits, data_dir, download=False)
    except (AssertionError, tfds.core.DatasetNotFoundError, FileNotFoundError):
        if not _online():
            raise DataError(
                f"dataset {name!r} is not prepared in {data_dir or '~/tensorflow_datasets'} and "
                f"cannot be downloaded offline; use --tfds-data-dir DIR with a prepared copy, "
                f"--data-dir DIR for an image folder, or --dataset synthetic."
            ) from None
        (train, val), info = _load(name, splits, data_dir, download=True)

    def to_uint8(image, label):
        image = tf.image.resize(image, (image_size, image_size), antialias=True)
        image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
        return image, tf.cast(label, tf.int32)

    label_feature = info.features[info.supervised_keys[1]]
    train = train.map(to_uint8, num_parallel_calls=tf.data.AUTOTUNE).cache()
    val = val.map(to_uint8, num_parallel_calls=tf.data.AUTOTUNE).cache()
    return DataSource(
        train=train,
        val=val,
        train_size=_size(train),
        val_size=_size(val),
        class_names=list(label_feature.names),
        val_from=f"TFDS {name} split {splits[1]!r}",
    )
