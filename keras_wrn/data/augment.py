"""Training augmentations: per-example pad-and-crop, flip and Cutout (one random draw per
image, unlike Keras 3's `RandomCrop`, which draws one offset per batch), and batch-level
RandAugment and mixup.

Crop, flip, Cutout and mixup are stateless: their draws are a function of a ``seed`` pair (the
pipeline passes the run's seed and the epoch, and the example's or batch's position), so a run
resumed mid-epoch augments the rest of the epoch exactly as the uninterrupted run does."""

from __future__ import annotations

import keras
import tensorflow as tf


def pad_crop_flip(image: tf.Tensor, padding: int, flip: bool, seed: tf.Tensor) -> tf.Tensor:
    """Zero-pads by ``padding`` pixels, crops back to size at a random offset, flips half."""
    crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    if padding > 0:
        size = tf.shape(image)
        image = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
        image = tf.image.stateless_random_crop(image, size, seed=crop_seed)
    if flip:
        image = tf.image.stateless_random_flip_left_right(image, seed=flip_seed)
    return image


def cutout(image: tf.Tensor, size: int, seed: tf.Tensor) -> tf.Tensor:
    """Cutout (DeVries & Taylor 2017): zeroes a ``size`` x ``size`` square at a random centre,
    clipped at the border."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    cy, cx = tf.unstack(tf.random.stateless_uniform([2], seed, 0, tf.int32.max, tf.int32)
                        % tf.stack([height, width]))
    y0, y1 = tf.maximum(cy - size // 2, 0), tf.minimum(cy + size - size // 2, height)
    x0, x1 = tf.maximum(cx - size // 2, 0), tf.minimum(cx + size - size // 2, width)
    rows = tf.logical_and(tf.range(height) >= y0, tf.range(height) < y1)
    cols = tf.logical_and(tf.range(width) >= x0, tf.range(width) < x1)
    hole = tf.logical_and(rows[:, None], cols[None, :])[:, :, None]
    return tf.where(hole, tf.zeros_like(image), image)


def mixup(images: tf.Tensor, labels: tf.Tensor, alpha: float,
          seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """mixup (Zhang et al. 2018) on a batch of float images and one-hot labels, one lambda per
    batch drawn from Beta(alpha, alpha)."""
    gamma_seed, order_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
    a, b = tf.unstack(tf.random.stateless_gamma([2], gamma_seed, alpha))
    lam = a / (a + b)
    order = tf.argsort(tf.random.stateless_uniform([tf.shape(images)[0]], order_seed))
    images = lam * images + (1 - lam) * tf.gather(images, order)
    labels = lam * labels + (1 - lam) * tf.gather(labels, order)
    return images, labels


def rand_augment(num_ops: int, magnitude: float) -> keras.layers.Layer:
    """Keras 3's RandAugment on 0-255 images (applied to batches). Its draws come from the
    layer's own generator: the one augmentation a resumed run does not repeat exactly."""
    return keras.layers.RandAugment(value_range=(0, 255), num_ops=num_ops, factor=magnitude)
