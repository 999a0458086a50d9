"""Image-classification datasets from TensorFlow Datasets (`--dataset cifar10`, ...).

A dataset prepared under ``--tfds-data-dir`` (or TFDS's default folder) is read as it is; one
that is not prepared is downloaded only when the download host answers, otherwise the run stops
at once with a one-line error naming the offline alternatives. A dataset whose decoded images
fit the cache budget is held in memory (CIFAR); a larger one (ImageNet) is streamed.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from keras_wrn.data import cache as cache_choice
from keras_wrn.data import images
from keras_wrn.data.autotune import without_autotune
from keras_wrn.data.examples import Examples, StreamExamples
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
              data_dir: str | None = None, for_selection: bool = False, kind: str = "cifar",
              cache: str = "auto", cache_budget: int | None = None) -> DataSource:
    """``train`` for training; ``test`` (or ``validation``) for validation if the dataset has
    one, else the last ``val_split`` of ``train``. ``for_selection`` (hyperparameter search):
    always the last ``val_split`` of ``train``, so that the test split is never selected on.
    Decoded into memory when it fits the cache budget, else streamed from TFDS's files."""
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
    sizes = [_split_size(info, split, lambda d=dataset: d)
             for split, dataset in zip(splits, (train, val), strict=True)]
    # imagenet crops each epoch from the image as TFDS decodes it: cached only when the
    # dataset's images have one size (the estimate is unbounded otherwise).
    shape = info.features[info.supervised_keys[0]].shape
    side = shape[0] if kind == "imagenet" else image_size
    estimate = sum(sizes) * side * (shape[1] if kind == "imagenet" else side) * 3 \
        if side and (kind != "imagenet" or shape[1]) else float("inf")
    memory = cache_choice.in_memory(cache, estimate, cache_budget)
    if memory:
        train_examples, val_examples = _in_memory(train, image_size, kind), \
            _in_memory(val, image_size, kind)
    else:
        train_examples, val_examples = (
            _stream(name, split, size, data_dir, image_size)
            for split, size in zip(splits, sizes, strict=True))
    label_feature = info.features[info.supervised_keys[1]]
    return DataSource(
        train_examples=train_examples,
        val_examples=val_examples,
        class_names=list(label_feature.names),
        kind=kind,
        val_from=f"TFDS {name} split {splits[1]!r}",
        cached=memory,
    )


def _split_size(info, split, open: Callable[[], tf.data.Dataset]) -> int:
    """Examples in ``split``: from the dataset's metadata, else counted once through
    ``open()`` (opened only then)."""
    try:
        return int(info.splits[split].num_examples)
    except (KeyError, ValueError):
        return _size(open())


def _in_memory(dataset: tf.data.Dataset, image_size: int, kind: str) -> Examples:
    """The split decoded into memory: resized to ``image_size`` (cifar), or as TFDS decodes it
    (imagenet, cropped from the full image each epoch)."""

    def resize(image, label):
        if kind != "imagenet":
            image = images.decode_fixed(image, image_size, encoded=False)
        return image, tf.cast(label, tf.int32)

    pixels, labels = [], []
    for x, y in without_autotune(dataset.map(resize, num_parallel_calls=tf.data.AUTOTUNE)
                                 .batch(4096)).as_numpy_iterator():
        pixels.append(x)
        labels.append(y)
    return Examples(np.concatenate(pixels), np.concatenate(labels), "pixels", image_size)


def _stream(name: str, split: str, size: int, data_dir: str | None,
            image_size: int) -> StreamExamples:
    """The split read from TFDS's files as encoded images, not cached: worker w of W reads
    the w-th of W even sub-splits, its files shuffled with the epoch's seed."""

    def sub_split(shard: int, shards: int) -> str:
        return split if shards == 1 else tfds.even_splits(split, shards)[shard]

    def open_shard(shard: int, shards: int, seed: int | None) -> tf.data.Dataset:
        read = tfds.ReadConfig(shuffle_seed=seed) if seed is not None else None
        dataset = tfds.load(name, split=sub_split(shard, shards), data_dir=data_dir,
                            as_supervised=True, shuffle_files=seed is not None,
                            read_config=read, decoders={"image": tfds.decode.SkipDecoding()})
        return dataset.map(lambda image, label: (image, tf.cast(label, tf.int32)))

    def sizes(shards: int) -> list[int]:
        if shards == 1:
            return [size]
        info = tfds.builder(name, data_dir=data_dir).info
        return [_split_size(info, sub_split(w, shards), lambda w=w: open_shard(w, shards, None))
                for w in range(shards)]

    return StreamExamples(open_shard, sizes, image_size)
