"""The input pipelines run without tf.data's autotuning thread, whose iterators TensorFlow 2.21
deletes only at the thread's next wake-up (keras_wrn/data/autotune.py): the training batches on
the host and on the device, evaluation, an image folder's decoding and checking, and each
replica's prefetch under Mirrored (and MultiWorkerMirrored, which builds it the same way)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
from helpers import write_image_folder

from keras_wrn.data import AugmentConfig, eval_dataset, load_synthetic, prepared, train_dataset
from keras_wrn.data.folder import decode_images
from keras_wrn.data.tfrecord import _checked_files
from keras_wrn.runtime import RuntimeRequest, resolve_plan
from keras_wrn.runtime.devices import Devices
from keras_wrn.runtime.strategy import make_strategy
from keras_wrn.training import Trainer, resolve_config


def _untuned(dataset: tf.data.Dataset) -> bool:
    return dataset.options().autotune.enabled is False


@pytest.mark.parametrize("on_device", [False, True])
def test_training_and_evaluation_batches_are_not_autotuned(on_device):
    data = load_synthetic(8, train_examples=32, val_examples=8)
    train = train_dataset(data.train_examples, 10, 8, 0, 0, AugmentConfig(), on_device=on_device)
    evaluation = eval_dataset(prepared(data.val_examples), 10, 4)
    assert _untuned(train) and _untuned(evaluation)
    assert len(list(train)) == 4 and sum(int(x.shape[0]) for x, _ in evaluation) == 8


def test_an_image_folders_decoding_is_not_autotuned(tmp_path, monkeypatch):
    root = write_image_folder(tmp_path / "images", classes=2, per_class=3, size=12)
    paths = sorted(str(p) for p in root.rglob("*.*"))
    built = []
    original = tf.data.Dataset.with_options
    monkeypatch.setattr(tf.data.Dataset, "with_options",
                        lambda self, options: built.append(original(self, options)) or built[-1])
    pixels, labels, failed = decode_images(paths, [0] * len(paths), 8)
    assert pixels.shape == (len(paths), 8, 8, 3) and failed == 0 and np.all(labels == 0)
    assert len(built) == 1 and _untuned(built[0])
    assert _untuned(_checked_files(paths))  # the check before TFRecords are written


@pytest.fixture
def autotuned_device_prefetch(monkeypatch):
    """tf.distribute's own per-replica prefetch, whatever an earlier test in this process
    installed."""
    from tensorflow.python.data.ops import multi_device_iterator_ops as ops

    create = ops._create_device_dataset
    monkeypatch.setattr(ops, "_create_device_dataset", getattr(create, "__wrapped__", create))


def _replica_prefetch_untuned(strategy: tf.distribute.Strategy) -> bool:
    distributed = strategy.distribute_datasets_from_function(
        lambda _: tf.data.Dataset.range(8).batch(2))
    iterator = iter(distributed)
    assert int(next(iterator)[0]) == 0
    # The replica's own iterator: TensorFlow's internals, which the workaround relies on.
    return _untuned(iterator._iterators[0]._iterator._device_iterators[0]._dataset)


def test_each_replicas_prefetch_is_not_autotuned(autotuned_device_prefetch):
    """tf.distribute builds a prefetch dataset per replica with default options; the mirrored
    plan's strategy builds those without the thread (one CPU device here; the GPU-path tests
    train through it on two replicas and two workers)."""
    assert not _replica_prefetch_untuned(tf.distribute.MirroredStrategy(["/cpu:0"]))
    plan = dataclasses.replace(resolve_plan(RuntimeRequest(), Devices(), batch_size=8),
                               strategy="mirrored")
    assert _replica_prefetch_untuned(make_strategy(plan))


def test_a_trainer_given_its_own_mirrored_strategy_untunes_it(tmp_path, autotuned_device_prefetch):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    config = resolve_config({"arch": "resnet", "depth": 8, "image_size": 8, "dataset": "synthetic",
                             "recipe": "quick", "batch_size": 8, "strategy": "one_device"})
    Trainer(config, strategy, load_synthetic(8, train_examples=16, val_examples=8), tmp_path,
            log=lambda _: None)
    assert _replica_prefetch_untuned(strategy)
