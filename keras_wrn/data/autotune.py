"""tf.data's autotuning thread kept out of keras_wrn's input pipelines.

An autotuned iterator runs a thread that re-optimises the pipeline at doubling intervals of up
to a minute; deleting the iterator joins that thread, and in TensorFlow 2.21 the join often
lasted until the thread's next wake-up: 4-9 s after 1 to 3 of 6 short CPU epochs, 10 and 50 s
after the epoch of two one-epoch two-worker runs (docs/performance.md). keras_wrn deletes an
iterator at every epoch's end, so its pipelines run untuned: every AUTOTUNE map with tf.data's
starting parallelism (the host's cores, at most 16), prefetch buffers grown on demand by
tf.data's prefetch autotuner (which needs no thread)."""

from __future__ import annotations

import functools
import warnings

import tensorflow as tf


def untuned_options() -> tf.data.Options:
    """Options without the autotuning thread."""
    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` with :func:`untuned_options`."""
    return dataset.with_options(untuned_options())


def untune_device_prefetch() -> None:
    """Mirrored and MultiWorkerMirrored prefetch each replica's batches through a dataset of its
    own (tf.distribute's MultiDeviceIterator), built with default options, so autotuned:
    builds those without the thread too. Process-wide and never undone (it changes no result,
    only when an iterator's deletion returns); idempotent. A TensorFlow without that internal
    function gets a warning (tests/test_autotune.py checks the installed one)."""
    from tensorflow.python.data.ops import multi_device_iterator_ops as ops

    create = getattr(ops, "_create_device_dataset", None)
    if create is None:
        warnings.warn("this TensorFlow has no multi_device_iterator_ops._create_device_dataset: "
                      "each replica's prefetch stays autotuned, and an epoch's end may pause "
                      "while its iterator is deleted.", RuntimeWarning, stacklevel=2)
        return
    if getattr(create, "_keras_wrn_untuned", False):
        return

    @functools.wraps(create)
    def untuned(*args, **kwargs):
        return without_autotune(create(*args, **kwargs))

    untuned._keras_wrn_untuned = True
    ops._create_device_dataset = untuned
