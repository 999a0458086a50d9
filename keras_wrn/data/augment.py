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


def augment_batch(images: tf.Tensor, seed: tf.Tensor, padding: int, flip: bool,
                  cutout_size: int) -> tf.Tensor:
    """Pad-and-crop, flip and Cutout of a whole batch at once, for the accelerator: the same
    augmentations as :func:`pad_crop_flip` and :func:`cutout`, one draw per image, from one
    stateless ``seed`` per batch (the host keys it by the epoch and the batch's first
    position, so a resumed run draws what the uninterrupted one draws). Gathers and masks
    only: no per-image loop, so XLA compiles it into the step."""
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    crop_seed, flip_seed, cut_seed = tf.unstack(
        tf.random.experimental.stateless_split(seed, 3))
    if padding > 0:
        padded = tf.pad(images, [[0, 0], [padding, padding], [padding, padding], [0, 0]])
        offsets = tf.random.stateless_uniform([2, batch], crop_seed, 0, 2 * padding + 1,
                                              tf.int32)
        rows = offsets[0][:, None] + tf.range(height)[None, :]
        cols = offsets[1][:, None] + tf.range(width)[None, :]
        images = tf.gather(tf.gather(padded, rows, axis=1, batch_dims=1), cols, axis=2,
                           batch_dims=1)
    if flip:
        flipped = tf.random.stateless_uniform([batch], flip_seed) < 0.5
        images = tf.where(flipped[:, None, None, None], tf.reverse(images, [2]), images)
    if cutout_size:
        centres = tf.random.stateless_uniform([2, batch], cut_seed, 0, tf.int32.max, tf.int32)
        cy, cx = centres[0] % height, centres[1] % width
        y = tf.range(height)[None, :]
        x = tf.range(width)[None, :]
        rows = (y >= (cy - cutout_size // 2)[:, None]) & (y < (cy + cutout_size
                                                                - cutout_size // 2)[:, None])
        cols = (x >= (cx - cutout_size // 2)[:, None]) & (x < (cx + cutout_size
                                                                - cutout_size // 2)[:, None])
        hole = (rows[:, :, None] & cols[:, None, :])[..., None]
        images = tf.where(hole, tf.zeros_like(images), images)
    return images
