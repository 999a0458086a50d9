"""Data sources and the input pipeline: TFDS (mocked), image folders with corrupt files,
per-example augmentation and the reproducible data position."""

from __future__ import annotations

import types

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from helpers import call_app, error_line, summary, write_image_folder

from keras_wrn.data import (
    AugmentConfig,
    DataError,
    Examples,
    load_data,
    tfds_source,
    train_dataset,
)
from keras_wrn.data.augment import cutout, mixup
from keras_wrn.data.folder import load_image_folder, split_per_class

NO_AUGMENT = AugmentConfig(crop_padding=0, flip=False)


def test_tfds_path_with_mock_data():
    with tfds.testing.mock_data(num_examples=40):
        source = load_data("cifar10", 32, val_split=0.25)
    assert source.num_classes == 10 and len(source.class_names) == 10
    assert source.train_size + source.val_size >= 40
    image, label = next(iter(source.train))
    assert image.shape == (32, 32, 3) and image.dtype == tf.uint8 and label.dtype == tf.int32


def test_tfds_streamed_without_a_cache_reads_the_examples_the_cache_holds(monkeypatch):
    """``--cache none`` (ImageNet's size under auto): TFDS's files are read as encoded images
    each epoch, never cached, the same examples; worker w of W opens only its even sub-split."""
    with tfds.testing.mock_data(num_examples=40):
        memory = load_data("cifar10", 32, val_split=0.25, cache="memory")
        streamed = load_data("cifar10", 32, val_split=0.25, cache="none")

        def content(dataset):
            return sorted((x.numpy().tobytes(), int(y)) for x, y in dataset)

        assert memory.cached and not streamed.cached and streamed.train_examples.form == "encoded"
        assert content(streamed.train) == content(memory.train)
        x, y = next(iter(train_dataset(streamed.train_examples, 10, 8, 0, 1, NO_AUGMENT)))
        assert x.shape == (8, 32, 32, 3) and x.dtype == tf.uint8 and y.shape == (8, 10)
        # Each worker's count, as its sub-split reads (counted: the mock has no metadata).
        assert streamed.train_examples.shard_sizes(2) == [
            sum(1 for _ in streamed.train_examples.stored(w, 2)) for w in (0, 1)]
        opened = []
        real = tfds_source.tfds.load
        monkeypatch.setattr(tfds_source.tfds, "load",
                            lambda name, **kw: opened.append(kw["split"]) or real(name, **kw))
        for w in (0, 1):
            next(iter(streamed.train_examples.epoch(5, w, 2)))
    # The mock lists no test split: the first 75% of train is trained on.
    assert [str(s) for s in opened] == [str(s) for s in tfds.even_splits("train[:75%]", 2)]


def test_search_validates_on_training_data_never_on_the_test_split(monkeypatch):
    asked = []

    def load(name, splits, data_dir, download):
        asked.append(splits)
        return real(name, splits, data_dir, download)

    real = tfds_source._load
    monkeypatch.setattr(tfds_source, "_load", load)
    # CIFAR-10 has a test split (the mock's metadata lists only what it generates).
    splits = types.SimpleNamespace(info=types.SimpleNamespace(splits={"train": 0, "test": 0}))
    monkeypatch.setattr(tfds_source.tfds, "builder", lambda name, data_dir: splits)
    with tfds.testing.mock_data(num_examples=40):
        reported = load_data("cifar10", 32, val_split=0.25)
        selection = load_data("cifar10", 32, val_split=0.25, for_selection=True)
        with pytest.raises(DataError, match=r"at least 0\.01"):
            load_data("cifar10", 32, val_split=0.0, for_selection=True)
    assert asked == [["train", "test"], ["train[:75%]", "train[75%:]"]]
    # What apps/train.py prints first: the split it validates on.
    assert reported.val_from == "TFDS cifar10 split 'test'"
    assert selection.val_from == "TFDS cifar10 split 'train[75%:]'"


def test_tfds_offline_and_unprepared_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "_online", lambda timeout=3.0: False)
    with pytest.raises(DataError) as err:
        load_data("cifar10", 32, tfds_data_dir=str(tmp_path))
    message = str(err.value)
    assert "--data-dir" in message and "--dataset synthetic" in message and "\n" not in message


def test_image_folder_skips_and_counts_corrupt_files(tmp_path):
    root = write_image_folder(tmp_path / "images", corrupt=["broken.jpg"])
    # Hidden folders and files (a notebook's checkpoints, macOS forks) are neither classes nor
    # images.
    (root / ".ipynb_checkpoints").mkdir()
    image = (root / "class1" / "000.jpg").read_bytes()
    (root / ".ipynb_checkpoints" / "000.jpg").write_bytes(image)
    (root / "class1" / "._000.jpg").write_bytes(b"\x00\x05\x16\x07 resource fork")
    source = load_data(None, 32, data_dir=str(root), val_split=0.25)
    assert source.val_from == f"the last 25% of each class of {root}"
    assert source.skipped == 1
    assert source.class_names == ["class0", "class1", "class2"]
    assert source.train_size + source.val_size == 36
    image, _ = next(iter(source.train))
    assert image.shape == (32, 32, 3)  # resized from 40x40


@pytest.mark.slow
def test_training_on_a_folder_with_a_corrupt_jpeg(tmp_path):
    root = write_image_folder(tmp_path / "images", per_class=16, corrupt=["broken.jpg"])
    out = tmp_path / "run"
    result = call_app("train.py", "--arch", "resnet", "--depth", "8", "--data-dir", root,
                      "--val-split", "0.25", "--recipe", "quick", "--epochs", "1",
                      "--batch-size", "8", "--output-dir", out)
    assert "skipped 1 unreadable images" in result.stderr
    assert summary(result.stdout)["epochs"] == 1
    missing = call_app("evaluate.py", "--model", out, "--data-dir", tmp_path / "nope", check=False)
    assert "does not exist" in error_line(missing)


def test_split_per_class_holds_out_the_last_files_of_every_class():
    paths = [f"{c}/{i}.jpg" for c in "ab" for i in range(10)]
    labels = [0] * 10 + [1] * 10
    (train, _), (val, val_labels) = split_per_class(paths, labels, 0.2)
    assert val == ["a/8.jpg", "a/9.jpg", "b/8.jpg", "b/9.jpg"] and val_labels == [0, 0, 1, 1]
    assert len(train) == 16
    # Two files of "b" at 0.5: one each side; at 0.9 both held out, none left to train on.
    assert split_per_class(["a/0.jpg", "a/1.jpg", "b/0.jpg", "b/1.jpg"], [0, 0, 1, 1],
                           0.5)[0][0] == ["a/0.jpg", "b/0.jpg"]
    with pytest.raises(DataError, match=r"^class folder a has 2 image\(s\), all held out by "
                                        r"--val-split 0.9; add images, lower --val-split"):
        split_per_class(["a/0.jpg", "a/1.jpg", "b/0.jpg", "b/1.jpg"], [0, 0, 1, 1], 0.9)


def test_a_training_folder_needs_an_image_in_every_class_evaluation_folders_do_not(tmp_path):
    """An empty class folder would be a class the model never sees: refused for training. An
    evaluation or --val-dir folder may keep one, as the placeholder of a training class (the
    labels are the sorted folder names)."""
    root = write_image_folder(tmp_path / "images", classes=3, per_class=2, size=8)
    (root / "class3").mkdir()
    (root / "class3" / "notes.txt").write_text("not an image")
    with pytest.raises(DataError) as err:
        load_data(None, 8, data_dir=str(root))
    assert str(err.value) == (f"class folder {root}/class3 has no images (.jpg, .jpeg, .png, "
                              f".bmp, .gif); add images to it or remove it.")
    source = load_image_folder(str(root), 8, val_split=0.0, evaluation=True)
    assert source.class_names == ["class0", "class1", "class2", "class3"]
    assert source.train_size == 6
    train = write_image_folder(tmp_path / "train", classes=4, per_class=2, size=8)
    source = load_data(None, 8, data_dir=str(train), val_dir=str(root))
    assert (source.train_size, source.val_size) == (8, 6)
    with pytest.raises(DataError, match=r"has 1 image\(s\), all held out by --val-split 0.1"):
        load_data(None, 8, data_dir=str(write_image_folder(tmp_path / "one", classes=2,
                                                           per_class=1, size=8)))


def _examples(n=64):
    images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8)
    return Examples(images, np.arange(n, dtype=np.int32) % 4, "pixels", 8)


def test_epoch_order_is_reproducible_and_skipping_resumes_it():
    full = [b[0][:, 0, 0, 0].numpy() for b in train_dataset(_examples(), 4, 8, 3, 0, NO_AUGMENT)]
    again = [b[0][:, 0, 0, 0].numpy() for b in train_dataset(_examples(), 4, 8, 3, 0, NO_AUGMENT)]
    resumed = [b[0][:, 0, 0, 0].numpy()
               for b in train_dataset(_examples(), 4, 8, 3, 0, NO_AUGMENT, skip_batches=5)]
    other_epoch = [b[0][:, 0, 0, 0].numpy()
                   for b in train_dataset(_examples(), 4, 8, 4, 0, NO_AUGMENT)]
    np.testing.assert_array_equal(np.concatenate(full), np.concatenate(again))
    np.testing.assert_array_equal(np.concatenate(full[5:]), np.concatenate(resumed))
    assert not np.array_equal(np.concatenate(full), np.concatenate(other_epoch))
    assert sorted(np.concatenate(full)) == list(range(64))


def test_a_resumed_epoch_is_augmented_as_the_uninterrupted_one():
    """Crop, flip, Cutout and mixup draws depend on the example's (the batch's) position in the
    epoch, not on how many were drawn before: skipping 5 batches gives the same last 3."""
    images = np.random.default_rng(0).integers(0, 255, (64, 12, 12, 3), np.uint8)
    examples = Examples(images, np.arange(64, dtype=np.int32) % 4, "pixels", 12)
    every = AugmentConfig(crop_padding=2, flip=True, cutout=4, mixup=0.5)

    def batches(skip, augmentation=every):
        return [np.concatenate([x.numpy().ravel(), y.numpy().ravel()]) for x, y in
                train_dataset(examples, 4, 8, 3, 7, augmentation, skip_batches=skip)]

    full, resumed = batches(0), batches(5)
    np.testing.assert_array_equal(np.stack(full[5:]), np.stack(resumed))
    assert not np.array_equal(np.stack(full), np.stack(batches(0, NO_AUGMENT)))  # augmented


def test_random_crop_is_drawn_per_example():
    image = np.arange(32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3) % 251
    images = Examples(np.stack([image] * 64).astype("uint8"), np.zeros(64, np.int32), "pixels",
                      32)
    batch = next(iter(train_dataset(images, 2, 64, 0, 0, AugmentConfig(crop_padding=4,
                                                                      flip=False))))[0].numpy()
    distinct = {b.tobytes() for b in batch}
    assert len(distinct) > 20  # up to 81 offsets; one offset per batch would give 1


def test_cutout_zeroes_one_square():
    out = cutout(tf.ones((32, 32, 3)), 8, tf.constant([1, 2], tf.int64)).numpy()
    zeros = (out == 0).all(-1)
    assert 16 <= zeros.sum() <= 64
    rows, cols = np.where(zeros)
    assert zeros[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()


def test_mixup_mixes_images_and_labels_consistently():
    values = np.arange(4, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1))
    images = tf.constant(values, tf.float32)
    labels = tf.one_hot([0, 1, 2, 3], 4)
    mixed_images, mixed_labels = mixup(images, labels, 1.0, tf.constant([3, 4], tf.int64))
    np.testing.assert_allclose(mixed_labels.numpy().sum(-1), 1.0, rtol=1e-6)
    # Each mixed image is the label-weighted mean of the originals.
    expected = mixed_labels.numpy() @ np.arange(4, dtype=np.float32)
    np.testing.assert_allclose(mixed_images.numpy()[:, 0, 0, 0], expected, rtol=1e-5)


def test_synthetic_data_is_balanced_and_reproducible():
    a = load_data("synthetic", 32, seed=3)
    b = load_data("synthetic", 32, seed=3)
    xa, ya = next(iter(a.train.batch(2000)))
    xb, _ = next(iter(b.train.batch(2000)))
    np.testing.assert_array_equal(xa.numpy(), xb.numpy())
    assert np.bincount(ya.numpy()).tolist() == [200] * 10


def test_device_augmentation_crops_flips_and_cuts_out_each_image_of_a_batch():
    """augment_batch: every image is a crop of its own zero-padded image at an offset within
    the padding, flipped or not, each with its own draw; Cutout zeroes one square per image."""
    from keras_wrn.data import augment_batch

    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (16, 6, 6, 3)).astype(np.uint8)  # no zero pixel
    seed = tf.constant([7, 3], tf.int64)
    out = augment_batch(tf.constant(images), seed, 2, True, 0).numpy()
    padded = np.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]])
    found = set()
    for image, result in zip(padded, out, strict=True):
        matches = [(dy, dx, flip) for dy in range(5) for dx in range(5) for flip in (0, 1)
                   if np.array_equal(result, (image[dy:dy + 6, dx:dx + 6][:, ::-1] if flip
                                              else image[dy:dy + 6, dx:dx + 6]))]
        assert matches
        found.add(matches[0])
    assert len(found) > 8  # one draw per image, not one per batch
    assert np.array_equal(out, augment_batch(tf.constant(images), seed, 2, True, 0).numpy())
    holes = (augment_batch(tf.constant(images), seed, 0, False, 3).numpy() == 0).all(-1)
    assert all(4 <= hole.sum() <= 9 for hole in holes)  # a 3x3 square, clipped at a border


def test_device_batches_carry_their_seed_and_resume_exactly():
    """On-device batches: uint8 images as stored, one seed per batch keyed by the epoch and
    its first position; skipping k batches gives the whole epoch's batches from k on."""
    from keras_wrn.data import device_augmentable, load_synthetic

    data = load_synthetic(8, train_examples=64, val_examples=8)
    assert device_augmentable(data.train_examples, AugmentConfig())
    assert not device_augmentable(data.train_examples, AugmentConfig(mixup=0.2))
    assert not device_augmentable(data.train_examples, AugmentConfig(kind="imagenet"))

    def batches(skip):
        return list(train_dataset(data.train_examples, data.num_classes, 8, 1, 0,
                                  AugmentConfig(), skip_batches=skip, on_device=True))

    whole, resumed = batches(0), batches(3)
    assert len(whole) == 8 and len(resumed) == 5
    assert whole[0][0].dtype == tf.uint8 and whole[0][0].shape == (8, 8, 8, 3)
    assert len({tuple(b[2].numpy()) for b in whole}) == 8  # a seed per batch
    for a, b in zip(whole[3:], resumed, strict=True):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x.numpy(), y.numpy())
