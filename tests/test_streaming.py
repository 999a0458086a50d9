"""Streaming input: image folders read file by file, TFRecord shards, the cache choice, ImageNet
augmentation, file sharding across workers (two of them: test_cluster), exact resume (after
kill -9: test_fault_injection) and bounded memory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    TINY_MODEL,
    app_env,
    call_app,
    error_line,
    write_image_folder,
)

import keras_wrn  # noqa: F401  (registers the custom layers for loading)
from keras_wrn.data import AugmentConfig, DataError, load_data, train_dataset
from keras_wrn.data.folder import list_image_folder
from keras_wrn.data.images import _crop_window, center_crop, random_resized_crop
from keras_wrn.data.tfrecord import read_manifest

CIFAR = AugmentConfig(crop_padding=4, flip=True, cutout=6)
IMAGENET = AugmentConfig(kind="imagenet")


def _batches(source, augmentation, epoch, batch=8, **kwargs):
    dataset = train_dataset(source.train_examples, source.num_classes, batch, epoch, 3,
                            augmentation, **kwargs)
    steps = source.train_size // batch
    return [(x.numpy(), y.numpy()) for x, y in dataset.take(steps)]


def _equal(a, b):
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)


@pytest.mark.parametrize("kind", ["cifar", "imagenet"])
def test_a_streamed_folder_gives_the_in_memory_examples(tmp_path, kind):
    """Same seed, same epochs: the batches read file by file are the cached ones, pixel for
    pixel (decoded pixels cached for cifar, encoded files for imagenet)."""
    root = write_image_folder(tmp_path / "images", per_class=12, size=40)
    size, augmentation = (32, CIFAR) if kind == "cifar" else (24, IMAGENET)
    memory = load_data(None, size, data_dir=str(root), kind=kind, cache="memory")
    streamed = load_data(None, size, data_dir=str(root), kind=kind, cache="none")
    assert memory.cached and not streamed.cached
    assert memory.train_examples.form == ("pixels" if kind == "cifar" else "encoded")
    assert streamed.train_examples.form == "path"
    for epoch in (0, 1):
        _equal(_batches(memory, augmentation, epoch), _batches(streamed, augmentation, epoch))
    assert not np.array_equal(_batches(memory, augmentation, 0)[0][1],
                              _batches(memory, augmentation, 1)[0][1])  # reshuffled
    # Validation: prepared the same way too.
    for (xa, ya), (xb, yb) in zip(memory.val, streamed.val, strict=True):
        np.testing.assert_array_equal(xa, xb)
        assert ya == yb


@pytest.mark.parametrize("source", ["folder", "tfrecords"])
def test_a_resumed_epoch_reads_the_batches_the_whole_epoch_reads_from_there(tmp_path, source):
    """Resuming at step k skips k batches before any file is read: batches k, k+1, ... are
    the uninterrupted epoch's, crops included (each example's draws keyed by its position)."""
    root = write_image_folder(tmp_path / "images", per_class=12, size=40)
    data_dir = root
    if source == "tfrecords":
        data_dir = tmp_path / "records"
        call_app("make_tfrecords.py", "--data-dir", root, "--output", data_dir, "--shards", "3")
    streamed = load_data(None, 24, data_dir=str(data_dir), kind="imagenet", cache="none")
    assert not streamed.cached
    whole = _batches(streamed, IMAGENET, 1, batch=4)
    for skip in (1, 3):
        _equal(_batches(streamed, IMAGENET, 1, batch=4, skip_batches=skip)[:len(whole) - skip],
               whole[skip:])


def test_two_shards_of_an_epoch_make_the_single_worker_batches(tmp_path):
    """With every W-th example per worker, W workers' batches together are the one-worker
    global batches (the same examples, the same augmentation)."""
    root = write_image_folder(tmp_path / "images", per_class=12, size=40)
    source = load_data(None, 32, data_dir=str(root), cache="none")
    one = _batches(source, CIFAR, 2, batch=8)
    halves = [_batches(source, CIFAR, 2, batch=4, shard=w, shards=2) for w in (0, 1)]
    for step, (x, _) in enumerate(one):
        together = np.concatenate([halves[0][step][0], halves[1][step][0]])
        assert sorted(i.tobytes() for i in x) == sorted(i.tobytes() for i in together)


def test_cache_auto_holds_a_small_set_in_memory_and_streams_one_over_the_budget(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=12, size=40)
    small = load_data(None, 32, data_dir=str(root), cache="auto")
    over = load_data(None, 32, data_dir=str(root), cache="auto", cache_budget=32 * 32 * 3 * 10)
    assert small.cached and small.train_examples.form == "pixels"
    assert not over.cached and over.train_examples.form == "path"
    with pytest.raises(DataError, match="--cache must be auto, memory, disk:PATH or none"):
        load_data(None, 32, data_dir=str(root), cache="bogus")
    # Through train.py: the flag, its budget and what the run did with it.
    result = call_app("train.py", *TINY_MODEL, "--data-dir", root, "--cache-budget-gb", "0",
                      "--batch-size", "8", "--steps-per-epoch", "1", "--epochs", "1",
                      "--output-dir", tmp_path / "run")
    assert "streamed from the files" in result.stdout
    assert json.loads((tmp_path / "run" / "run.json").read_text())["data_cached"] is False
    bad = call_app("train.py", *TINY_MODEL, "--data-dir", root, "--cache", "ram", check=False)
    assert bad.returncode == 2
    assert error_line(bad) == "error: --cache must be auto, memory, disk:PATH or none, " \
                              "got 'ram'."


def test_tfrecord_shards_hold_every_image_once_with_the_manifest(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=11, size=40,
                              corrupt=["broken.jpg"])
    out = tmp_path / "records"
    result = call_app("make_tfrecords.py", "--data-dir", root, "--output", out,
                      "--shards", "4")
    # class0's 12 files (broken.jpg sorts last) and 11 in each other class: 31 / 3 held out.
    assert "train: 31 images in 4 shards\n" in result.stdout
    assert "validation: 2 images in 4 shards, 1 unreadable left out" in result.stdout
    manifest = read_manifest(out)
    assert manifest["classes"] == ["class0", "class1", "class2"]
    counts = manifest["splits"]["train"]["counts"]
    assert sum(counts) == 31 and max(counts) - min(counts) <= 1
    # What loading checks the directory against: each shard's bytes, each class's examples.
    assert manifest["splits"]["train"]["class_counts"] == [11, 10, 10]
    assert manifest["splits"]["validation"]["class_counts"] == [0, 1, 1]
    for entry in manifest["splits"].values():
        assert entry["sizes"] == [(out / name).stat().st_size for name in entry["files"]]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["manifest.json", *manifest["splits"]["train"]["files"],
         *manifest["splits"]["validation"]["files"]])  # no partial file left
    records = load_data(None, 32, data_dir=str(out))
    folder = load_data(None, 32, data_dir=str(root), cache="memory")
    assert (records.train_size, records.val_size, records.class_names) == \
        (folder.train_size, folder.val_size, folder.class_names)

    def content(dataset):
        return sorted((x.numpy().tobytes(), int(y)) for x, y in dataset)

    assert content(records.train) == content(folder.train)  # the same pixels, other order
    # Each worker's share of an epoch: its shards, every image once across workers.
    shares = [[int(p) for p, _, _ in records.train_examples.epoch(5, w, 2)] for w in (0, 1)]
    assert [len(s) for s in shares] == records.train_examples.shard_sizes(2)
    assert sorted(shares[0] + shares[1]) == sorted(set(shares[0] + shares[1]))
    with pytest.raises(DataError, match=r"4 shard\(s\) for 8 workers; rewrite it with "
                                        r"apps/make_tfrecords.py --shards 8"):
        records.train_examples.shard_sizes(8)
    again = call_app("make_tfrecords.py", "--data-dir", root, "--output", out, check=False)
    assert again.returncode == 2 and "already holds TFRecords" in error_line(again)


def test_a_shard_truncated_after_loading_fails_the_read_naming_it_and_old_manifests_load(
        tmp_path):
    """A shard truncated once the data is loaded fails the read (no ignore_errors over
    TFRecords to swallow it) and the source names it. A manifest without byte sizes or class
    counts (written before they were recorded) still loads."""
    root = write_image_folder(tmp_path / "images", per_class=8, size=16)
    out = tmp_path / "records"
    call_app("make_tfrecords.py", "--data-dir", root, "--output", out, "--shards", "2")
    old = tmp_path / "old"
    shutil.copytree(out, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for entry in manifest["splits"].values():
        del entry["sizes"], entry["class_counts"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    assert (load_data(None, 16, data_dir=str(old)).train_size, read_manifest(old)) == \
        (21, manifest)
    source = load_data(None, 16, data_dir=str(out))
    shard = out / manifest["splits"]["train"]["files"][1]
    size = shard.stat().st_size
    os.truncate(shard, size - 10)
    with pytest.raises(tf.errors.DataLossError) as err:
        for _ in train_dataset(source.train_examples, 3, 4, 0, 0, CIFAR):
            pass
    assert str(source.read_error(err.value)) == (
        f"TFRecord shard {shard} is {size - 10} bytes, not the {size} its manifest records "
        f"(truncated or replaced); write the directory again with apps/make_tfrecords.py (a "
        f"--cache disk: folder: delete it to have it rewritten).")


def test_disk_cache_writes_the_tfrecords_once_and_reuses_them(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=8, size=40)
    cache = tmp_path / "cache"
    first = load_data(None, 32, data_dir=str(root), cache=f"disk:{cache}")
    written = {p.name: p.stat().st_mtime_ns for p in cache.iterdir()}
    second = load_data(None, 32, data_dir=str(root), cache=f"disk:{cache}")
    assert {p.name: p.stat().st_mtime_ns for p in cache.iterdir()} == written
    assert first.train_size == second.train_size == 21 and not second.cached
    other = write_image_folder(tmp_path / "other", per_class=8, size=40)
    with pytest.raises(DataError, match="holds TFRecords of"):
        load_data(None, 32, data_dir=str(other), cache=f"disk:{cache}")


def _jpeg(height, width):
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    pixels = np.broadcast_to(ramp, (height, width, 3)).astype(np.uint8)
    return pixels, tf.io.encode_jpeg(pixels, quality=95)


def test_imagenet_crops_have_the_size_and_range_they_promise():
    pixels, jpeg = _jpeg(300, 500)
    png = tf.io.encode_png(pixels)
    for record, encoded in ((jpeg, True), (png, True), (tf.constant(pixels), False)):
        for seed in range(4):
            crop = random_resized_crop(record, 224, tf.constant([seed, 1], tf.int64), encoded)
            assert crop.shape == (224, 224, 3) and crop.dtype == tf.uint8
    # The windows: 8%-100% of the area (the whole image when every draw fails), aspect
    # ratio 3/4-4/3 up to the pixels' rounding.
    areas, ratios = [], []
    for seed in range(300):
        _, window = _crop_window(tf.constant([300, 500, 3]), tf.constant([seed, 7], tf.int64))
        height, width = window.numpy().tolist()
        areas.append(height * width / (300 * 500))
        if (height, width) != (300, 500):
            ratios.append(width / height)
    assert min(areas) >= 0.08 - 0.01 and max(areas) <= 1.0
    assert min(ratios) >= 0.75 - 0.02 and max(ratios) <= 4 / 3 + 0.02
    assert np.std(areas) > 0.1  # drawn, not fixed
    # Evaluation: shorter side to 256, the central 224 (a horizontal ramp keeps its middle).
    center = center_crop(jpeg, 224).numpy()
    assert center.shape == (224, 224, 3)
    resized_width = round(500 * 256 / 300)
    left = (resized_width - 224) // 2
    expected = np.linspace(0, 255, resized_width)[left:left + 224]
    np.testing.assert_allclose(center[112, :, 0], expected, atol=6)
    # Training batches stay uint8 until the device, one-hot labels beside them.
    pixels_batch = np.stack([_jpeg(300, 400)[0]] * 4)
    from keras_wrn.data import Examples

    examples = Examples(pixels_batch, np.arange(4) % 2, "pixels", 64)
    x, y = next(iter(train_dataset(examples, 2, 4, 0, 0, IMAGENET)))
    assert x.dtype == tf.uint8 and x.shape == (4, 64, 64, 3) and y.shape == (4, 2)


def test_the_imagenet_presets_take_their_papers_imagenet_recipes():
    from keras_wrn.training import resolve_config

    resnet = resolve_config({"arch": "resnet-50"})
    assert (resnet.recipe.name, resnet.recipe.augmentation, resnet.recipe.batch_size,
            resnet.recipe.lr, resnet.recipe.milestones, resnet.recipe.epochs) == \
        ("resnet-imagenet", "imagenet", 256, 0.1, [30, 60], 90)
    pyramid = resolve_config({"arch": "pyramidnet-200-a300-imagenet"})
    assert (pyramid.recipe.name, pyramid.recipe.lr, pyramid.recipe.batch_size,
            pyramid.recipe.epochs, pyramid.recipe.nesterov) == \
        ("pyramidnet-imagenet", 0.05, 128, 100, True)
    # The linear scaling rule from the recipe's batch: 1024 = 4 x 256, warm-up 5 epochs.
    scaled = resolve_config({"arch": "resnet-50", "batch_size": 1024, "lr_scaling": "linear"})
    assert scaled.scaled_lr() == (pytest.approx(0.4), 5.0)
    # The CIFAR presets keep CIFAR's augmentation; --augmentation overrides either.
    assert resolve_config({"arch": "resnet-20"}).recipe.augmentation == "cifar"
    assert resolve_config({"arch": "resnet-50", "augmentation": "cifar"}).recipe.augmentation \
        == "cifar"


# -- slow: a shard broken under a run, memory ------------------------------------------------

# apps/train.py with its data broken once loaded and checked: the shard argv[1] deleted or
# truncated (argv[2]) as if by another process while the run starts.
BREAK_SCRIPT = """
import os, runpy, sys
from keras_wrn.training import runs
shard, how, *argv = sys.argv[1:]
load = runs.load_config_data

def load_then_break(config, **kwargs):
    source = load(config, **kwargs)
    if how == "deleted":
        os.remove(shard)
    else:
        os.truncate(shard, os.path.getsize(shard) - 10)
    return source

runs.load_config_data = load_then_break
sys.argv, sys.path[:0] = ["apps/train.py", *argv], ["apps"]
runpy.run_path("apps/train.py", run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["deleted", "truncated"])
def test_a_shard_deleted_or_truncated_under_a_run_stops_it_in_one_line(tmp_path, how):
    """A shard gone or cut short once the run has checked its data: one line naming it, exit
    2, within seconds. (ignore_errors over the shards swallowed the NotFoundError and the run
    spun at step 0 for ever, deaf to SIGTERM.)"""
    root = write_image_folder(tmp_path / "images", per_class=8, size=16)
    call_app("make_tfrecords.py", "--data-dir", root, "--output", tmp_path / "rec",
             "--shards", "2")
    shard = tmp_path / "rec" / "train-00001-of-00002.tfrecord"
    size = shard.stat().st_size
    result = subprocess.run(
        [sys.executable, "-c", BREAK_SCRIPT, str(shard), how, *TINY_MODEL, "--data-dir",
         str(tmp_path / "rec"), "--batch-size", "4", "--epochs", "1",
         "--output-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120, env=app_env(),
        cwd=Path(__file__).resolve().parents[1])  # a hang is killed here: TimeoutExpired
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    expected = ("does not exist" if how == "deleted" else
                f"is {size - 10} bytes, not the {size} its manifest records")
    assert error_line(result).startswith(f"error: TFRecord shard {shard} {expected}")
    assert not (tmp_path / "run" / "model.keras").exists()


MEMORY_SCRIPT = """
import json, sys
from keras_wrn.benchmark.pipeline import pipeline_rate
from keras_wrn.data import AugmentConfig, load_data
source = load_data(None, 224, data_dir=sys.argv[1], val_split=0.0, kind="imagenet",
                   cache=sys.argv[2])
print(json.dumps(pipeline_rate(source, AugmentConfig(kind="imagenet"), 32)))
"""


def _epoch_memory(folder: Path, cache: str) -> dict:
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(folder), cache],
                            capture_output=True, text=True, timeout=600, env=app_env(),
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_streamed_epoch_takes_memory_independent_of_the_folders_size(tmp_path):
    """One epoch of random-resized crops at 224 over 1,000 and 2,000 generated 300-500 px
    JPEGs: the memory it takes above its start stays under 600 MB and does not grow with the
    folder (a cache would hold 150 MB per 1,000 decoded images)."""
    from keras_wrn.benchmark.images import write_imagenet_folder

    large = write_imagenet_folder(tmp_path / "large", 2000)
    small = tmp_path / "small"
    paths, _, _ = list_image_folder(large)
    for path in paths[::2]:  # the same files, half of them
        target = small / Path(path).parent.name / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
    assert len(list_image_folder(small)[0]) == 1000
    growth = {n: _epoch_memory(folder, "none")["peak_rss_growth_mb"]
              for n, folder in ((1000, small), (2000, large))}
    assert all(g < 600 for g in growth.values()), growth
    assert abs(growth[2000] - growth[1000]) < 100, growth
