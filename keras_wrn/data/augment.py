"""Training augmentations: per-example pad-and-crop, flip and Cutout (one random draw per
image, unlike Keras 3's `RandomCrop`, which draws one offset per batch), and batch-level
RandAugment and mixup."""

from __future__ import annotations

import keras
import tensorflow as tf


def pad_crop_flip(image: tf.Tensor, padding: int, flip: bool) -> tf.Tensor:
    """Zero-pads by ``padding`` pixels, crops back to size at a random offset, flips half."""
    if padding > 0:
        size = tf.shape(image)
        image = tf.pad(image, [[padding, padding], [padding, padding], [0, 0]])
        image = tf.image.random_crop(image, size)
    if flip:
        image = tf.image.random_flip_left_right(image)
    return image


def cutout(image: tf.Tensor, size: int) -> tf.Tensor:
    """Cutout (DeVries & Taylor 2017): zeroes a ``size`` x ``size`` square at a random centre,
    clipped at the border."""
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    cy = tf.random.uniform([], 0, height, tf.int32)
    cx = tf.random.uniform([], 0, width, tf.int32)
    y0, y1 = tf.maximum(cy - size // 2, 0), tf.minimum(cy + size - size // 2, height)
    x0, x1 = tf.maximum(cx - size // 2, 0), tf.minimum(cx + size - size // 2, width)
    rows = tf.logical_and(tf.range(height) >= y0, tf.range(height) < y1)
    cols = tf.logical_and(tf.range(width) >= x0, tf.range(width) < x1)
    hole = tf.logical_and(rows[:, None], cols[None, :])[:, :, None]
    return tf.where(hole, tf.zeros_like(image), image)


def mixup(images: tf.Tensor, labels: tf.Tensor, alpha: float) -> tuple[tf.Tensor, tf.Tensor]:
    """mixup (Zhang et al. 2018) on a batch of float images and one-hot labels, one lambda per
    batch drawn from Beta(alpha, alpha)."""
    a = tf.random.gamma([], alpha)
    b = tf.random.gamma([], alpha)
    lam = a / (a + b)
    order = tf.random.shuffle(tf.range(tf.shape(images)[0]))
    images = lam * images + (1 - lam) * tf.gather(images, order)
    labels = lam * labels + (1 - lam) * tf.gather(labels, order)
    return images, labels


def rand_augment(num_ops: int, magnitude: float) -> keras.layers.Layer:
    """Keras 3's RandAugment on 0-255 images (applied to batches)."""
    return keras.layers.RandAugment(value_range=(0, 255), num_ops=num_ops, factor=magnitude)
