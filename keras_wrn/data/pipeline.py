"""The tf.data input pipeline: one worker's share of an epoch in an order fixed by the seed (so
a resumed run continues from the same data position), decoding, augmentation, batching and
prefetch. Images stay uint8 to the device unless RandAugment or mixup makes them float. The
pipelines run without tf.data's autotuning thread (keras_wrn/data/autotune.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import tensorflow as tf

from keras_wrn.data import augment, images
from keras_wrn.data.autotune import without_autotune
from keras_wrn.data.examples import Examples, StreamExamples, epoch_seed

# Recipe fields whose AugmentConfig field has another name.
_RECIPE_NAMES = {"kind": "augmentation"}


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation. ``kind="cifar"``: the papers' CIFAR recipe (pad 4, crop, flip);
    ``"imagenet"``: random-resized crop and flip, and resize-and-center-crop evaluation."""

    kind: str = "cifar"
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0
    randaugment_ops: int = 0
    randaugment_magnitude: float = 0.5
    mixup: float = 0.0

    @classmethod
    def from_recipe(cls, recipe: object) -> AugmentConfig:
        """The augmentation fields of a training recipe: a RecipeConfig, or a run's flat
        configuration (a mapping; fields it lacks keep their defaults)."""
        values = recipe if isinstance(recipe, Mapping) else vars(recipe)
        fields = {}
        for f in dataclasses.fields(cls):
            value = values.get(_RECIPE_NAMES.get(f.name, f.name))
            fields[f.name] = f.default if value is None else value
        return cls(**fields)


def _decodes(examples: Examples | StreamExamples) -> bool:
    return examples.form != "pixels"


def _skips_unreadable(examples: Examples | StreamExamples) -> bool:
    """Whether files that fail are left out: an image folder's (a corrupt JPEG among
    thousands), never streamed records (TFRecords, checked when written; TFDS), where
    ignore_errors would swallow a deleted or truncated shard and spin at step 0."""
    return isinstance(examples, Examples) and _decodes(examples)


def _encoded(examples: Examples | StreamExamples, record: tf.Tensor) -> tf.Tensor:
    return tf.io.read_file(record) if examples.form == "path" else record


def device_augmentable(examples: Examples | StreamExamples, augmentation: AugmentConfig) -> bool:
    """Whether training batches can be augmented on the accelerator (``augment_batch``):
    CIFAR-style crop, flip and Cutout of images held in memory at the model's size, without
    RandAugment or mixup, which stay on the host."""
    return (examples.form == "pixels" and augmentation.kind == "cifar"
            and not augmentation.randaugment_ops and augmentation.mixup == 0
            and tuple(examples.records.shape[1:3]) == (examples.image_size,) * 2)


def train_dataset(examples: Examples | StreamExamples, num_classes: int, batch_size: int,
                  epoch: int, seed: int, augmentation: AugmentConfig, skip_batches: int = 0,
                  shard: int = 0, shards: int = 1, on_device: bool = False) -> tf.data.Dataset:
    """Batches of (uint8 images, one-hot labels) of worker ``shard`` of ``shards`` for one
    epoch, in the order fixed by ``seed`` and ``epoch``, starting after ``skip_batches`` of its
    batches. Partial batches are dropped; an image folder's files that fail to decode are
    left out and the stream repeats, so the epoch still has its steps. ``on_device``: the
    images are not augmented here, and each batch carries the seed of its augmentation on the
    accelerator, (images, labels, seed) (see :func:`device_augmentable`)."""
    key = epoch_seed(seed, epoch)
    size = examples.image_size
    ds = examples.epoch(key, shard, shards)
    if skip_batches:  # before any file is read: skipping costs no decoding
        ds = ds.skip(skip_batches * batch_size)
    if on_device:
        if not device_augmentable(examples, augmentation):
            raise ValueError("augmentation on the device takes CIFAR-style augmentation of "
                             "images held in memory at the model's size.")

        def device_batch(position, images, labels):
            # The batch's draws are keyed by the epoch and its first position: exact resume.
            return (images, tf.one_hot(labels, num_classes),
                    tf.stack([tf.constant(key, tf.int64), position[0]]))

        return without_autotune(ds.batch(batch_size, drop_remainder=True)
                                .map(device_batch, num_parallel_calls=tf.data.AUTOTUNE)
                                .prefetch(tf.data.AUTOTUNE))
    encoded = _decodes(examples)

    def per_example(position, record, label):
        # Each example's draws are keyed by its position in the epoch, so skipping is exact.
        crop_seed, cutout_seed = tf.unstack(tf.random.experimental.stateless_split(
            tf.stack([tf.constant(key, tf.int64), position]), 2))
        record = _encoded(examples, record)
        if augmentation.kind == "imagenet":
            flip_seed = tf.random.experimental.stateless_fold_in(crop_seed, 1)
            image = images.random_resized_crop(record, size, crop_seed, encoded)
            if augmentation.flip:
                image = tf.image.stateless_random_flip_left_right(image, seed=flip_seed)
        else:
            image = images.decode_fixed(record, size, encoded)
            image = augment.pad_crop_flip(image, augmentation.crop_padding, augmentation.flip,
                                          crop_seed)
        if augmentation.cutout:
            image = augment.cutout(image, augmentation.cutout, cutout_seed)
        return image, tf.one_hot(label, num_classes)

    ds = ds.map(per_example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if _skips_unreadable(examples):
        ds = ds.ignore_errors().repeat()
    ds = ds.batch(batch_size, drop_remainder=True)
    if augmentation.randaugment_ops:
        layer = augment.rand_augment(augmentation.randaugment_ops,
                                     augmentation.randaugment_magnitude)
        ds = ds.map(lambda x, y: (layer(tf.cast(x, tf.float32)), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
    if augmentation.mixup > 0:
        batch_seeds = tf.data.Dataset.counter(skip_batches).map(
            lambda index: tf.stack([tf.constant(-1 - key, tf.int64), index * shards + shard]))
        ds = tf.data.Dataset.zip(ds, batch_seeds).map(
            lambda batch, k: augment.mixup(tf.cast(batch[0], tf.float32), batch[1],
                                           augmentation.mixup, k),
            num_parallel_calls=tf.data.AUTOTUNE)
    return without_autotune(ds.prefetch(tf.data.AUTOTUNE))


def prepared(examples: Examples | StreamExamples, kind: str = "cifar", shard: int = 0,
             shards: int = 1) -> tf.data.Dataset:
    """Unbatched (uint8 image, int32 label) in the stored order, prepared for evaluation:
    resized whole (``cifar``) or resized and center-cropped (``imagenet``). An image
    folder's files that fail to decode are left out."""
    size, encoded = examples.image_size, _decodes(examples)

    def prepare(position, record, label):
        record = _encoded(examples, record)
        if kind == "imagenet":
            return images.center_crop(record, size, encoded), label
        return images.decode_fixed(record, size, encoded), label

    ds = examples.stored(shard, shards).map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return without_autotune(ds.ignore_errors() if _skips_unreadable(examples) else ds)


def eval_dataset(examples: tf.data.Dataset, num_classes: int, batch_size: int) -> tf.data.Dataset:
    """Batches of (uint8 images, one-hot labels) of prepared examples, in order, the last batch
    kept."""
    return without_autotune(examples
                            .map(lambda x, y: (x, tf.one_hot(y, num_classes)),
                                 num_parallel_calls=tf.data.AUTOTUNE)
                            .batch(batch_size)
                            .prefetch(tf.data.AUTOTUNE))
