"""Image folders as sharded TFRecord files (`apps/make_tfrecords.py`, `--cache disk:PATH`) and
reading such a directory back as streamed examples.

Each split is written round-robin over its sorted files into shards of equal counts (to one
example), every class in every shard, each record the original encoded file and its label.
Shards are written to a temporary name and renamed; ``manifest.json`` (format, classes, each
split's files and counts) is written last, so a directory with a manifest is complete."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_wrn.data.examples import StreamExamples
from keras_wrn.data.source import DataError

MANIFEST = "manifest.json"
FORMAT = "keras_wrn-tfrecord-1"
SHARD_BYTES = 256 * 2**20  # a shard's target size; shard counts are multiples of 16
READ_BUFFER = 8 * 2**20
CYCLE_LENGTH = 16  # shards a worker reads at once


def default_shards(total_bytes: int, examples: int) -> int:
    """Shards for ``total_bytes``: ~256 MB each, a multiple of 16 (so 1, 2, 4, 8 or 16
    workers get equal shares), at most one per example."""
    return max(1, min(examples, 16 * math.ceil(total_bytes / (16 * SHARD_BYTES))))


def _checked_files(paths: list[str]) -> tf.data.Dataset:
    """(index, encoded file, decoded shape) of the files that decode, read in parallel (the
    shape is returned so that the decode is not pruned)."""

    def read(index, path):
        data = tf.io.read_file(path)
        return index, data, tf.shape(tf.io.decode_image(data, channels=3,
                                                        expand_animations=False))

    return (tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths))
            .map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .ignore_errors())


def _example(data: bytes, label: int) -> bytes:
    feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
               "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_split(paths: list[str], labels: list[int], output: Path, split: str,
                shards: int | None = None) -> dict:
    """Writes ``split``'s images (those that decode) into ``shards`` files under ``output``;
    returns its manifest entry: file names, counts per file, examples and files skipped."""
    if shards is None:
        shards = default_shards(sum(os.path.getsize(p) for p in paths), len(paths))
    names = [f"{split}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    partial = [output / f".{name}.{os.getpid()}.partial" for name in names]
    writers = [tf.io.TFRecordWriter(str(p)) for p in partial]
    counts = [0] * shards
    try:
        for kept, (index, data, _) in enumerate(_checked_files(paths).as_numpy_iterator()):
            writers[kept % shards].write(_example(data, labels[index]))
            counts[kept % shards] += 1
    finally:
        for writer in writers:
            writer.close()
    for temporary, name in zip(partial, names, strict=True):
        os.replace(temporary, output / name)
    return {"files": names, "counts": counts, "examples": sum(counts),
            "skipped": len(paths) - sum(counts)}


def write_manifest(output: Path, class_names: list[str], splits: dict[str, dict],
                   source: str) -> None:
    """The manifest, atomically, after every shard is in place."""
    manifest = {"format": FORMAT, "source": source, "classes": class_names, "splits": splits}
    temporary = output / f".{MANIFEST}.{os.getpid()}.partial"
    temporary.write_text(json.dumps(manifest, indent=1))
    os.replace(temporary, output / MANIFEST)


def read_manifest(directory: str | Path) -> dict | None:
    """The manifest of a TFRecord directory, or None when it has none."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    manifest = json.loads(path.read_text())
    if manifest.get("format") != FORMAT:
        raise DataError(f"{path} is not a keras_wrn TFRecord manifest ({FORMAT}); rewrite the "
                        f"directory with apps/make_tfrecords.py.")
    return manifest


def _parse(record: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    parsed = tf.io.parse_single_example(record, {
        "image": tf.io.FixedLenFeature([], tf.string),
        "label": tf.io.FixedLenFeature([], tf.int64)})
    return parsed["image"], tf.cast(parsed["label"], tf.int32)


def record_files(directory: Path, entry: dict, image_size: int) -> StreamExamples:
    """A split's shards as streamed examples: worker w of W reads shards w, w + W, ... (file
    sharding), in an order drawn from the epoch's seed, interleaving 16 at a time."""
    files = [str(directory / name) for name in entry["files"]]
    counts = entry["counts"]

    def mine(shard: int, shards: int) -> list[int]:
        if shards > len(files):
            raise DataError(f"{directory} has {len(files)} shard(s) for {shards} workers; "
                            f"rewrite it with apps/make_tfrecords.py --shards {shards} or more.")
        return list(range(shard, len(files), shards))

    def open_shard(shard: int, shards: int, seed: int | None) -> tf.data.Dataset:
        chosen = mine(shard, shards)
        if seed is None:
            return tf.data.TFRecordDataset([files[i] for i in chosen], buffer_size=READ_BUFFER
                                           ).map(_parse, num_parallel_calls=tf.data.AUTOTUNE)
        order = [chosen[i] for i in np.random.default_rng([seed, shard]).permutation(len(chosen))]
        return (tf.data.Dataset.from_tensor_slices([files[i] for i in order])
                .interleave(lambda f: tf.data.TFRecordDataset(f, buffer_size=READ_BUFFER),
                            cycle_length=min(CYCLE_LENGTH, len(order)),
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
                .map(_parse, num_parallel_calls=tf.data.AUTOTUNE))

    def sizes(shards: int) -> list[int]:
        return [sum(counts[i] for i in mine(shard, shards)) for shard in range(shards)]

    return StreamExamples(open_shard, sizes, image_size)
