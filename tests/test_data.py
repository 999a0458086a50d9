"""Data sources and the input pipeline: TFDS (mocked), image folders with corrupt files,
per-example augmentation and the reproducible data position."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from helpers import call_app, error_line, summary

from keras_wrn.data import AugmentConfig, DataError, load_data, tfds_source, train_dataset
from keras_wrn.data.augment import cutout, mixup
from keras_wrn.data.folder import split_per_class

NO_AUGMENT = AugmentConfig(crop_padding=0, flip=False)


def _write_folder(root, classes=3, per_class=12, size=40, corrupt=()):
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(60 + 60 * c, 20, (size, size, 3)), 0, 255).astype("uint8")
            encode = tf.io.encode_png if i % 2 else tf.io.encode_jpeg
            (folder / f"{i:03d}.{'png' if i % 2 else 'jpg'}").write_bytes(encode(pixels).numpy())
    for name in corrupt:
        (root / "class0" / name).write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    return root


def test_tfds_path_with_mock_data():
    with tfds.testing.mock_data(num_examples=40):
        source = load_data("cifar10", 32, val_split=0.25)
    assert source.num_classes == 10 and len(source.class_names) == 10
    assert source.train_size + source.val_size >= 40
    image, label = next(iter(source.train))
    assert image.shape == (32, 32, 3) and image.dtype == tf.uint8 and label.dtype == tf.int32


def test_tfds_offline_and_unprepared_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(tfds_source, "_online", lambda timeout=3.0: False)
    with pytest.raises(DataError) as err:
        load_data("cifar10", 32, tfds_data_dir=str(tmp_path))
    message = str(err.value)
    assert "--data-dir" in message and "--dataset synthetic" in message and "\n" not in message


def test_image_folder_skips_and_counts_corrupt_files(tmp_path):
    root = _write_folder(tmp_path / "images", corrupt=["broken.jpg"])
    source = load_data(None, 32, data_dir=str(root), val_split=0.25)
    assert source.skipped == 1
    assert source.class_names == ["class0", "class1", "class2"]
    assert source.train_size + source.val_size == 36
    image, _ = next(iter(source.train))
    assert image.shape == (32, 32, 3)  # resized from 40x40


def test_training_on_a_folder_with_a_corrupt_jpeg(tmp_path):
    root = _write_folder(tmp_path / "images", per_class=16, corrupt=["broken.jpg"])
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


def _examples(n=64):
    images = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 8, 8, 3), np.uint8)
    return tf.data.Dataset.from_tensor_slices((images, np.arange(n, dtype=np.int32) % 4))


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


def test_random_crop_is_drawn_per_example():
    image = np.arange(32 * 32 * 3, dtype=np.float32).reshape(32, 32, 3) % 251
    images = tf.data.Dataset.from_tensor_slices((np.stack([image] * 64).astype("uint8"),
                                                 np.zeros(64, np.int32)))
    batch = next(iter(train_dataset(images, 2, 64, 0, 0, AugmentConfig(crop_padding=4,
                                                                      flip=False))))[0].numpy()
    distinct = {b.tobytes() for b in batch}
    assert len(distinct) > 20  # up to 81 offsets; one offset per batch would give 1


def test_cutout_zeroes_one_square():
    out = cutout(tf.ones((32, 32, 3)), 8).numpy()
    zeros = (out == 0).all(-1)
    assert 16 <= zeros.sum() <= 64
    rows, cols = np.where(zeros)
    assert zeros[rows.min():rows.max() + 1, cols.min():cols.max() + 1].all()


def test_mixup_mixes_images_and_labels_consistently():
    values = np.arange(4, dtype=np.float32)[:, None, None, None] * np.ones((1, 2, 2, 1))
    images = tf.constant(values, tf.float32)
    labels = tf.one_hot([0, 1, 2, 3], 4)
    mixed_images, mixed_labels = mixup(images, labels, 1.0)
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
