"""A user's image folder, one sub-folder per class (`--data-dir DIR`, `--val-dir DIR`); a
directory of TFRecord shards written from one is read by `keras_wrn.data.tfrecord`.

A folder that fits the cache budget is decoded once, in parallel, into memory (files that
cannot be decoded are left out and counted); a larger one is streamed file by file, or written
once as TFRecord shards (`--cache disk:PATH`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_wrn.data import cache as cache_choice
from keras_wrn.data import images, tfrecord
from keras_wrn.data.autotune import without_autotune
from keras_wrn.data.examples import Examples
from keras_wrn.data.source import DataError, DataSource

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def list_image_folder(
    root: str | Path, class_names: list[str] | None = None, training: bool = True
) -> tuple[list[str], list[int], list[str]]:
    """Sorted image paths, their labels and the class names (sub-folder names, sorted).
    ``training``: every class needs an image (the model would never see an empty one); a
    validation or evaluation folder may hold empty classes, which keep the label indices of
    the training classes, but needs an image somewhere."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data directory {root} does not exist; pass --data-dir DIR with one "
                        f"sub-folder per class, or --dataset synthetic to run offline.")
    # Hidden folders (.ipynb_checkpoints, .git) and files (macOS ._ forks) are not data.
    found = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if class_names is None:
        class_names = found
    elif found != class_names:
        raise DataError(f"{root} has classes {found[:5]}..., not the training classes "
                        f"{class_names[:5]}...; give --val-dir the same sub-folders as --data-dir.")
    paths, labels = [], []
    for label, name in enumerate(class_names):
        files = sorted(str(p) for p in (root / name).iterdir()
                       if p.suffix.lower() in IMAGE_EXTENSIONS and not p.name.startswith("."))
        if training and not files and len(class_names) >= 2:
            raise DataError(f"class folder {root / name} has no images "
                            f"({', '.join(IMAGE_EXTENSIONS)}); add images to it or remove it.")
        paths += files
        labels += [label] * len(files)
    if len(class_names) < 2 or not paths:
        raise DataError(f"{root} needs at least two class sub-folders with images "
                        f"({', '.join(IMAGE_EXTENSIONS)}); found {len(class_names)} classes, "
                        f"{len(paths)} images.")
    return paths, labels, class_names


def split_per_class(paths: list[str], labels: list[int],
                    fraction: float) -> tuple[tuple[list, list], tuple[list, list]]:
    """Holds out the last ``fraction`` of every class's sorted files (stratified, reproducible);
    DataError when that leaves a class nothing to train on."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"--val-split must be in (0, 1), got {fraction}; or pass --val-dir.")
    train, val = ([], []), ([], [])
    for label in sorted(set(labels)):
        files = [p for p, lab in zip(paths, labels, strict=True) if lab == label]
        cut = len(files) - max(1, round(len(files) * fraction))
        if cut < 1:
            raise DataError(f"class folder {Path(files[0]).parent} has {len(files)} image(s), "
                            f"all held out by --val-split {fraction:g}; add images, lower "
                            f"--val-split (0: none held out) or pass --val-dir.")
        for target, chunk in ((train, files[:cut]), (val, files[cut:])):
            target[0].extend(chunk)
            target[1].extend([label] * len(chunk))
    return train, val


def decode_images(paths: list[str], labels: list[int],
                  image_size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Decodes and resizes the images in parallel; returns uint8 images, labels and the number
    of files that could not be decoded."""

    def load(path, label):
        return images.decode_fixed(tf.io.read_file(path), image_size), label

    dataset = without_autotune(
        tf.data.Dataset.from_tensor_slices((paths, np.asarray(labels, np.int32)))
        .map(load, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
        .batch(4096))
    decoded, kept = [], []
    for batch_images, batch_labels in dataset.as_numpy_iterator():
        decoded.append(batch_images)
        kept.append(batch_labels)
    if not decoded:
        raise DataError(f"none of the {len(paths)} images could be decoded; check the files.")
    images_np, labels_np = np.concatenate(decoded), np.concatenate(kept)
    return images_np, labels_np, len(paths) - len(labels_np)


def memory_estimate(paths: list[str], image_size: int, kind: str) -> int:
    """Bytes the examples take in memory: decoded at ``image_size`` (cifar), or the encoded
    files (imagenet, whose crops are taken from the full image each epoch)."""
    if kind == "imagenet":
        return sum(os.path.getsize(p) for p in paths)
    return len(paths) * image_size * image_size * 3


def folder_examples(paths: list[str], labels: list[int], image_size: int, kind: str,
                    memory: bool) -> tuple[Examples, int]:
    """(examples, files skipped): decoded pixels (cifar) or encoded files (imagenet) in memory,
    or else the file paths, read as the epoch reaches them."""
    if not memory:
        return Examples(paths, labels, "path", image_size), 0
    if kind == "imagenet":
        return Examples([Path(p).read_bytes() for p in paths], labels, "encoded", image_size), 0
    pixels, kept, skipped = decode_images(paths, labels, image_size)
    return Examples(pixels, kept, "pixels", image_size), skipped


def load_image_folder(data_dir: str, image_size: int, val_split: float = 0.1,
                      val_dir: str | None = None, kind: str = "cifar", cache: str = "auto",
                      cache_budget: int | None = None, evaluation: bool = False) -> DataSource:
    """Training data from ``data_dir``; validation from ``val_dir`` or held out per class. A
    directory with a TFRecord manifest is read as its shards; ``cache`` decides whether the
    images are held in memory, streamed, or written once as TFRecords to ``disk:PATH``.
    ``evaluation``: the folder is measured, not trained on, and may hold empty classes."""
    manifest = tfrecord.read_manifest(data_dir)
    if manifest is not None:
        return tfrecord.manifest_source(Path(data_dir), manifest, image_size, kind,
                                f"the validation shards of {data_dir}")
    paths, labels, class_names = list_image_folder(data_dir, training=not evaluation)
    val_from = f"the last {val_split:.0%} of each class of {data_dir}"
    if val_dir:
        val_from = f"the folder {val_dir}"
        train_files = (paths, labels)
        val_paths, val_labels, _ = list_image_folder(val_dir, class_names, training=False)
        val_files = (val_paths, val_labels)
    elif val_split > 0:
        train_files, val_files = split_per_class(paths, labels, val_split)
    else:
        train_files, val_files = (paths, labels), ([], [])
        val_from = "none (--val-split 0)"
    disk = cache_choice.disk_path(cache)
    if disk is not None:
        return _disk_cache(disk, data_dir, class_names, train_files, val_files, image_size,
                           kind, val_from)
    estimate = memory_estimate(train_files[0] + val_files[0], image_size, kind)
    memory = cache_choice.in_memory(cache, estimate, cache_budget)
    train, skipped = folder_examples(*train_files, image_size, kind, memory)
    val = None
    if val_files[0]:
        val, val_skipped = folder_examples(*val_files, image_size, kind, memory)
        skipped += val_skipped
    return DataSource(train_examples=train, val_examples=val, class_names=class_names,
                      kind=kind, skipped=skipped, val_from=val_from, cached=memory)


def _disk_cache(disk: Path, data_dir: str, class_names: list[str], train_files, val_files,
                image_size: int, kind: str, val_from: str) -> DataSource:
    """``--cache disk:PATH``: the folder's TFRecords under PATH, written on first use (workers
    that start at once write the same files, each renamed into place whole)."""
    manifest = tfrecord.read_manifest(disk)
    if manifest is None:
        tfrecord.write_tfrecord_dir(disk, str(data_dir), class_names,
                           {"train": train_files, "validation": val_files})
        manifest = tfrecord.read_manifest(disk)
    elif manifest["classes"] != class_names or manifest["source"] != str(data_dir):
        raise DataError(f"{disk} holds TFRecords of {manifest['source']}, not {data_dir}; give "
                        f"--cache disk: another folder or delete that one.")
    return tfrecord.manifest_source(disk, manifest, image_size, kind, val_from)
