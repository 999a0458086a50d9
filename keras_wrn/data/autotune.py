"""tf.data's autotuning thread kept out of the training and evaluation pipelines.

An autotuned iterator runs a thread that re-optimises the pipeline at growing intervals (up to
a minute); deleting the iterator waits for that thread, and in TensorFlow 2.21 the wait often
lasts until the thread's next wake-up instead of ending at once: 8-9 s in 3 of 6 short CPU
epochs, 10-50 s after every epoch of a two-worker run (docs/performance.md). keras_wrn
deletes an iterator at every epoch's end, so its pipelines run with fixed parallelism instead:
every AUTOTUNE map as many calls as the host has cores, prefetch buffers grown on demand by
tf.data's own prefetch autotuner (which needs no thread)."""

from __future__ import annotations

import functools
import os

import tensorflow as tf


def host_cores() -> int:
    """The cores this process may run on (its CPU affinity), which tf.data's thread pool has."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def untuned_options() -> tf.data.Options:
    """Options without the autotuning thread, AUTOTUNE parallelism set to the host's cores."""
    options = tf.data.Options()
    options.autotune.enabled = False
    options.autotune.initial_parallelism = host_cores()
    return options


def without_autotune(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """``dataset`` with :func:`untuned_options`."""
    return dataset.with_options(untuned_options())


def untune_device_prefetch() -> None:
    """Mirrored and MultiWorkerMirrored prefetch each replica's batches through a dataset of its
    own (tf.distribute's MultiDeviceIterator), built with default options, so autotuned:
    builds those without the thread too. Idempotent; a TensorFlow without that internal
    function is left as it is (tests/test_autotune.py checks the installed one)."""
    from tensorflow.python.data.ops import multi_device_iterator_ops as ops

    create = getattr(ops, "_create_device_dataset", None)
    if create is None or getattr(create, "_keras_wrn_untuned", False):
        return

    @functools.wraps(create)
    def untuned(*args, **kwargs):
        return without_autotune(create(*args, **kwargs))

    untuned._keras_wrn_untuned = True
    ops._create_device_dataset = untuned
