"""A user's image folder, one sub-folder per class (`--data-dir DIR`, `--val-dir DIR`).

Images are decoded and resized once, in parallel, into memory; files that cannot be decoded are
left out and counted instead of stopping training mid-epoch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_wrn.data.source import DataError, DataSource

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def list_image_folder(
    root: str | Path, class_names: list[str] | None = None
) -> tuple[list[str], list[int], list[str]]:
    """Sorted image paths, their labels and the class names (sub-folder names, sorted)."""
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
        paths += files
        labels += [label] * len(files)
    if len(class_names) < 2 or not paths:
        raise DataError(f"{root} needs at least two class sub-folders with images "
                        f"({', '.join(IMAGE_EXTENSIONS)}); found {len(class_names)} classes, "
                        f"{len(paths)} images.")
    return paths, labels, class_names


def split_per_class(paths: list[str], labels: list[int],
                    fraction: float) -> tuple[tuple[list, list], tuple[list, list]]:
    """Holds out the last ``fraction`` of every class's sorted files (stratified, reproducible)."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"--val-split must be in (0, 1), got {fraction}; or pass --val-dir.")
    train, val = ([], []), ([], [])
    for label in sorted(set(labels)):
        files = [p for p, lab in zip(paths, labels, strict=True) if lab == label]
        cut = len(files) - max(1, round(len(files) * fraction))
        for target, chunk in ((train, files[:cut]), (val, files[cut:])):
            target[0].extend(chunk)
            target[1].extend([label] * len(chunk))
    return train, val


def decode_images(paths: list[str], labels: list[int],
                  image_size: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Decodes and resizes the images in parallel; returns uint8 images, labels and the number
    of files that could not be decoded."""

    def load(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
        image = tf.image.resize(image, (image_size, image_size), antialias=True)
        return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8), label

    dataset = (tf.data.Dataset.from_tensor_slices((paths, np.asarray(labels, np.int32)))
               .map(load, num_parallel_calls=tf.data.AUTOTUNE)
               .ignore_errors()
               .batch(4096))
    images, kept = [], []
    for batch_images, batch_labels in dataset.as_numpy_iterator():
        images.append(batch_images)
        kept.append(batch_labels)
    if not images:
        raise DataError(f"none of the {len(paths)} images could be decoded; check the files.")
    images_np, labels_np = np.concatenate(images), np.concatenate(kept)
    return images_np, labels_np, len(paths) - len(labels_np)


def load_image_folder(data_dir: str, image_size: int, val_split: float = 0.1,
                      val_dir: str | None = None) -> DataSource:
    """Training data from ``data_dir``; validation from ``val_dir`` or held out per class."""
    paths, labels, class_names = list_image_folder(data_dir)
    val_from = f"the last {val_split:.0%} of each class of {data_dir}"
    if val_dir:
        val_from = f"the folder {val_dir}"
        train_files = (paths, labels)
        val_paths, val_labels, _ = list_image_folder(val_dir, class_names)
        val_files = (val_paths, val_labels)
    elif val_split > 0:
        train_files, val_files = split_per_class(paths, labels, val_split)
    else:
        train_files, val_files = (paths, labels), ([], [])
        val_from = "none (--val-split 0)"
    x_train, y_train, skipped = decode_images(*train_files, image_size)
    val, val_size = None, 0
    if val_files[0]:
        x_val, y_val, val_skipped = decode_images(*val_files, image_size)
        skipped += val_skipped
        val, val_size = tf.data.Dataset.from_tensor_slices((x_val, y_val)), len(y_val)
    return DataSource(
        train=tf.data.Dataset.from_tensor_slices((x_train, y_train)),
        val=val,
        train_size=len(y_train),
        val_size=val_size,
        class_names=class_names,
        skipped=skipped,
        val_from=val_from,
    )
