"""The tf.data input pipeline: shuffling in a reproducible order per epoch (so a resumed run
continues from the same data position), augmentation, batching and prefetch."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import tensorflow as tf

from keras_wrn.data import augment

SHUFFLE_BUFFER = 65_536


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Training augmentation; the defaults are the papers' CIFAR recipe (pad 4, crop, flip)."""

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
        if isinstance(recipe, Mapping):
            values = recipe
        else:
            values = {f.name: getattr(recipe, f.name) for f in dataclasses.fields(cls)}
        return cls(**{f.name: values.get(f.name, f.default) for f in dataclasses.fields(cls)})


def train_dataset(examples: tf.data.Dataset, num_classes: int, batch_size: int, epoch: int,
                  seed: int, augmentation: AugmentConfig, skip_batches: int = 0) -> tf.data.Dataset:
    """Batches of (float32 0-255 images, one-hot labels) for one epoch, in the order fixed by
    ``seed`` and ``epoch``, starting after ``skip_batches`` batches. The last partial batch is
    dropped so every step has the global batch size."""
    epoch_seed = seed * 100_003 + epoch
    ds = examples.shuffle(SHUFFLE_BUFFER, seed=epoch_seed, reshuffle_each_iteration=False)
    # Each example's draws are keyed by its position in the epoch, so skipping is exact.
    ds = ds.enumerate()
    if skip_batches:
        ds = ds.skip(skip_batches * batch_size)

    def per_example(position, example):
        image, label = example
        crop_seed, cutout_seed = tf.unstack(tf.random.experimental.stateless_split(
            tf.stack([tf.constant(epoch_seed, tf.int64), position]), 2))
        image = augment.pad_crop_flip(image, augmentation.crop_padding, augmentation.flip,
                                      crop_seed)
        if augmentation.cutout:
            image = augment.cutout(image, augmentation.cutout, cutout_seed)
        return image, tf.one_hot(label, num_classes)

    ds = ds.map(per_example, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(batch_size, drop_remainder=True)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    if augmentation.randaugment_ops:
        layer = augment.rand_augment(augmentation.randaugment_ops,
                                     augmentation.randaugment_magnitude)
        ds = ds.map(lambda x, y: (layer(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    if augmentation.mixup > 0:
        batch_seeds = tf.data.Dataset.counter(skip_batches).map(
            lambda index: tf.stack([tf.constant(-1 - epoch_seed, tf.int64), index]))
        ds = tf.data.Dataset.zip(ds, batch_seeds).map(
            lambda batch, key: augment.mixup(*batch, augmentation.mixup, key),
            num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


def eval_dataset(examples: tf.data.Dataset, num_classes: int, batch_size: int) -> tf.data.Dataset:
    """Batches of (float32 images, one-hot labels), in order, the last batch kept."""
    return (examples
            .map(lambda x, y: (tf.cast(x, tf.float32), tf.one_hot(y, num_classes)),
                 num_parallel_calls=tf.data.AUTOTUNE)
            .batch(batch_size)
            .prefetch(tf.data.AUTOTUNE))


def distribute_options(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Shards in-memory data by example across workers (file sharding needs files)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)
