"""One split's examples as records (decoded pixels, encoded files or file paths) and the order
an epoch reads them in, for one worker of several.

Two kinds: :class:`Examples` holds its records in memory and reads them at random (pixels or
encoded bytes cached in memory, or the file paths of a streamed folder); every worker draws the
same permutation of the epoch and keeps every W-th position, so W workers' global batches are a
single worker's. :class:`StreamExamples` reads files it cannot index (TFRecord shards, TFDS):
each worker opens only its own files, in an order seeded by the epoch. Either way the epoch's
order is a function of the seed, and a resumed run skips to its step before reading images."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

FORMS = ("pixels", "encoded", "path")
# Records a stream's shuffle buffer holds (the TF Model Garden's ImageNet buffer).
STREAM_SHUFFLE_BUFFER = 10_000
# Records gathered at once from memory.
READ_BLOCK = 256


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's order and augmentation draws."""
    return seed * 100_003 + epoch


class Examples:
    """Records in memory, read at random: ``records`` is a uint8 [N, H, W, 3] tensor
    (``form="pixels"``) or a string [N] tensor of encoded images or file paths."""

    def __init__(self, records: np.ndarray | list, labels: np.ndarray | list, form: str,
                 image_size: int):
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        self.records = tf.convert_to_tensor(records)
        self.labels = tf.convert_to_tensor(np.asarray(labels, np.int32))
        self.form, self.image_size = form, image_size
        self.size = int(self.labels.shape[0])

    def shard_sizes(self, shards: int) -> list[int]:
        """Examples per worker in an epoch."""
        return [len(range(shard, self.size, shards)) for shard in range(shards)]

    def _read(self, positions: np.ndarray, indices: np.ndarray) -> tf.data.Dataset:
        # Gathered in blocks, then unbatched: one gather per record costs ~40 us on a CPU
        # thread, which held in-memory CIFAR to 26k records/s (in blocks: 370k).
        return tf.data.Dataset.from_tensor_slices((positions, indices)).batch(READ_BLOCK).map(
            lambda position, index: (position, tf.gather(self.records, index),
                                     tf.gather(self.labels, index)),
            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).unbatch()

    def epoch(self, seed: int, shard: int = 0, shards: int = 1) -> tf.data.Dataset:
        """(position in the epoch, record, label) of worker ``shard`` of ``shards``: a
        permutation drawn from ``seed`` (NumPy's PCG64, the same on every platform), of which
        the worker keeps positions shard, shard + shards, ..."""
        order = np.random.default_rng(seed).permutation(self.size)
        positions = np.arange(shard, self.size, shards, dtype=np.int64)
        return self._read(positions, order[positions])

    def stored(self, shard: int = 0, shards: int = 1) -> tf.data.Dataset:
        """(position, record, label) in the stored order, every ``shards``-th from ``shard``."""
        positions = np.arange(shard, self.size, shards, dtype=np.int64)
        return self._read(positions, positions)


class StreamExamples:
    """Records streamed from files: ``open(shard, shards, seed)`` gives worker ``shard``'s own
    (record, label) stream (encoded images), its files in an order drawn from ``seed``, or in
    the stored order when ``seed`` is None; ``sizes(shards)`` counts each worker's examples;
    ``check()``, when given, raises a one-line DataError naming a file that is no longer as
    it was loaded."""

    form = "encoded"

    def __init__(self, open: Callable[[int, int, int | None], tf.data.Dataset],
                 sizes: Callable[[int], list[int]], image_size: int,
                 check: Callable[[], None] | None = None):
        self._open, self._sizes, self.image_size = open, sizes, image_size
        self._check = check
        self.size = sum(sizes(1))

    def check_files(self) -> None:
        """Checks the files again (after a read failed): DataError naming one deleted or
        truncated since loading; nothing when none is found or there is no check."""
        if self._check is not None:
            self._check()

    def shard_sizes(self, shards: int) -> list[int]:
        """Examples per worker in an epoch."""
        return self._sizes(shards)

    def epoch(self, seed: int, shard: int = 0, shards: int = 1) -> tf.data.Dataset:
        """(position, record, label): the worker's stream through a shuffle buffer seeded by
        ``seed`` and the worker; positions are unique across workers (local * shards + shard)."""
        stream = self._open(shard, shards, seed).shuffle(
            STREAM_SHUFFLE_BUFFER, seed=seed * 1_009 + shard, reshuffle_each_iteration=False)
        return stream.enumerate().map(
            lambda local, example: (local * shards + shard, *example))

    def stored(self, shard: int = 0, shards: int = 1) -> tf.data.Dataset:
        """(position, record, label) of the worker's files in their stored order."""
        return self._open(shard, shards, None).enumerate().map(
            lambda local, example: (local * shards + shard, *example))


def steps_per_epoch(examples: Examples | StreamExamples, global_batch: int, shards: int) -> int:
    """Full global batches in an epoch: every worker has that many of its batch."""
    return min(examples.shard_sizes(shards)) // (global_batch // shards)
