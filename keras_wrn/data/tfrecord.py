"""Image folders as sharded TFRecord files (`apps/make_tfrecords.py`, `--cache disk:PATH`) and
reading such a directory back as streamed examples.

Each split is written round-robin over its sorted files into shards of equal counts (to one
example), every class in every shard, each record the original encoded file and its label.
Shards are written to a temporary name and renamed; ``manifest.json`` (format, classes, each
split's files, their counts and byte sizes, and its examples per class) is written last, so a
directory with a manifest is complete. Reading one checks the manifest's fields and every shard
on disk at its recorded size (manifests of earlier versions, without sizes: at least 16 bytes
a record), so a damaged directory is one line before training, not a hang or a traceback."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_wrn.data.autotune import without_autotune
from keras_wrn.data.examples import StreamExamples
from keras_wrn.data.source import DataError, DataSource

MANIFEST = "manifest.json"
FORMAT = "keras_wrn-tfrecord-1"
SHARD_BYTES = 256 * 2**20  # a shard's target size; shard counts are multiples of 16
READ_BUFFER = 8 * 2**20
CYCLE_LENGTH = 16  # shards a worker reads at once
RECORD_BYTES = 16  # a record's framing (its length and two CRCs): a floor on a shard's size
SPLITS = ("train", "validation")
REWRITE = ("write the directory again with apps/make_tfrecords.py (a --cache disk: folder: "
           "delete it to have it rewritten)")


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

    return without_autotune(
        tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths))
        .map(read, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        .ignore_errors())


def _example(data: bytes, label: int) -> bytes:
    feature = {"image": tf.train.Feature(bytes_list=tf.train.BytesList(value=[data])),
               "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label]))}
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def write_split(paths: list[str], labels: list[int], num_classes: int, output: Path,
                split: str, shards: int | None = None) -> dict:
    """Writes ``split``'s images (those that decode) into ``shards`` files under ``output``;
    returns its manifest entry: file names, counts and bytes per file, examples, examples per
    class and files skipped."""
    if shards is None:
        shards = default_shards(sum(os.path.getsize(p) for p in paths), len(paths))
    names = [f"{split}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    partial = [output / f".{name}.{os.getpid()}.partial" for name in names]
    writers = [tf.io.TFRecordWriter(str(p)) for p in partial]
    counts, class_counts = [0] * shards, [0] * num_classes
    try:
        for kept, (index, data, _) in enumerate(_checked_files(paths).as_numpy_iterator()):
            writers[kept % shards].write(_example(data, labels[index]))
            counts[kept % shards] += 1
            class_counts[labels[index]] += 1
    finally:
        for writer in writers:
            writer.close()
    for temporary, name in zip(partial, names, strict=True):
        os.replace(temporary, output / name)
    return {"files": names, "counts": counts,
            "sizes": [os.path.getsize(output / name) for name in names],
            "examples": sum(counts), "class_counts": class_counts,
            "skipped": len(paths) - sum(counts)}


def write_manifest(output: Path, class_names: list[str], splits: dict[str, dict],
                   source: str) -> None:
    """The manifest, atomically, after every shard is in place."""
    manifest = {"format": FORMAT, "source": source, "classes": class_names, "splits": splits}
    temporary = output / f".{MANIFEST}.{os.getpid()}.partial"
    temporary.write_text(json.dumps(manifest, indent=1))
    os.replace(temporary, output / MANIFEST)


def read_manifest(directory: str | Path) -> dict | None:
    """The manifest of a TFRecord directory, or None when it has none. DataError (one line
    naming the file and the fix) unless its fields hold together and every shard it lists is
    on disk at its recorded size."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except ValueError as err:  # not UTF-8, or not JSON
        raise DataError(f"{path} is not JSON ({' '.join(str(err).split())}); {REWRITE}.") \
            from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise DataError(f"{path} is not a keras_wrn TFRecord manifest ({FORMAT}); rewrite the "
                        f"directory with apps/make_tfrecords.py.")
    _check_fields(path, manifest)
    for entry in manifest["splits"].values():
        check_shards(Path(directory), entry)
    return manifest


def _counts(value: object, length: int | None = None) -> bool:
    """Whether ``value`` is a list of ``length`` (any, when None) counts: integers >= 0."""
    return isinstance(value, list) and (length is None or len(value) == length) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)


def _check_fields(path: Path, manifest: dict) -> None:
    """DataError naming the first field of the manifest that is missing, of the wrong type or
    inconsistent with the others (counts that do not add up)."""

    def fail(problem: str) -> None:
        raise DataError(f"{path}: {problem}; {REWRITE}.")

    def need(ok: bool, problem: str) -> None:
        if not ok:
            fail(problem)

    classes, splits = manifest.get("classes"), manifest.get("splits")
    need(isinstance(manifest.get("source"), str), "no source folder (source)")
    need(isinstance(classes, list) and all(isinstance(c, str) for c in classes)
         and len(set(classes)) == len(classes), "classes is not a list of distinct names")
    need(len(classes) >= 2, f"{len(classes)} class(es); training needs at least two")
    need(isinstance(splits, dict) and "train" in splits, "no train split (splits.train)")
    for name, entry in splits.items():
        need(name in SPLITS, f"unknown split {name!r} (splits are {', '.join(SPLITS)})")
        need(isinstance(entry, dict), f"split {name} is not a mapping")
        files = entry.get("files")
        need(isinstance(files, list) and all(
            isinstance(f, str) and f not in ("", ".", "..") and Path(f).name == f
            for f in files), f"{name}.files is not a list of file names in the directory")
        need(_counts(entry.get("counts"), len(files)),
             f"{name}.counts is not a count per file ({len(files)})")
        need(entry.get("examples") == sum(entry["counts"]) and _counts([entry["examples"]]),
             f"{name}.examples is not the sum of {name}.counts ({sum(entry['counts'])})")
        need(entry["examples"] >= 1, f"split {name} has no examples")
        need(_counts([entry.get("skipped")]), f"{name}.skipped is not a count")
        need("sizes" not in entry or _counts(entry["sizes"], len(files)),
             f"{name}.sizes is not a byte size per file ({len(files)})")
        class_counts = entry.get("class_counts")
        if class_counts is None:  # written before per-class counts were recorded
            continue
        need(_counts(class_counts, len(classes)) and sum(class_counts) == entry["examples"],
             f"{name}.class_counts is not a count per class ({len(classes)}) adding up to "
             f"{name}.examples ({entry['examples']})")
        if name == "train" and 0 in class_counts:
            fail(f"class {classes[class_counts.index(0)]!r} has no training examples")


def check_shards(directory: Path, entry: dict) -> None:
    """DataError naming the first of a split's shards that is missing, or whose size is not
    the one the manifest records (without sizes: under 16 bytes a record, truncated)."""
    for index, name in enumerate(entry["files"]):
        shard = directory / name
        if not shard.is_file():
            raise DataError(f"TFRecord shard {shard} does not exist; {REWRITE}.")
        size, count = shard.stat().st_size, entry["counts"][index]
        if "sizes" in entry and size != entry["sizes"][index]:
            raise DataError(f"TFRecord shard {shard} is {size} bytes, not the "
                            f"{entry['sizes'][index]} its manifest records (truncated or "
                            f"replaced); {REWRITE}.")
        if size < RECORD_BYTES * count:
            raise DataError(f"TFRecord shard {shard} is {size} bytes, too few for its {count} "
                            f"records (truncated); {REWRITE}.")


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

    return StreamExamples(open_shard, sizes, image_size,
                          check=lambda: check_shards(directory, entry))


def write_tfrecord_dir(output: Path, source: str, class_names: list[str],
                       splits: dict[str, tuple[list, list]], shards: int | None = None) -> dict:
    """Writes each split's shards, then the manifest; returns the manifest's splits."""
    output.mkdir(parents=True, exist_ok=True)
    entries = {name: write_split(*files, len(class_names), output, name, shards)
               for name, files in splits.items() if files[0]}
    write_manifest(output, class_names, entries, source)
    return entries


def load_tfrecord_dir(directory: str | Path, image_size: int, kind: str = "cifar") -> DataSource:
    """A directory written by apps/make_tfrecords.py: its train and validation shards."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    if manifest is None:
        raise DataError(f"{directory} has no {MANIFEST}; write it with "
                        f"apps/make_tfrecords.py --data-dir FOLDER --output {directory}.")
    return manifest_source(directory, manifest, image_size, kind,
                            f"the validation shards of {directory}")


def manifest_source(directory: Path, manifest: dict, image_size: int, kind: str,
                     val_from: str) -> DataSource:
    """The shards of a checked manifest (``read_manifest``) as a source."""
    splits = manifest["splits"]
    val = splits.get("validation")
    skipped = sum(entry["skipped"] for entry in splits.values())
    return DataSource(
        train_examples=record_files(directory, splits["train"], image_size),
        val_examples=record_files(directory, val, image_size) if val else None,
        class_names=manifest["classes"], kind=kind, skipped=skipped,
        val_from=val_from if val else "none (no validation shards)", cached=False)
