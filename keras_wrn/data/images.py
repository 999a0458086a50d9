"""Decoding, cropping and resizing one image: the fixed-size decode of CIFAR-style data, and
ImageNet's random-resized crop (training) and resize-and-center-crop (evaluation).

Every function takes the encoded file (JPEG, PNG, BMP or GIF bytes) or decoded uint8 pixels and
returns uint8 pixels of ``size`` x ``size``: images stay uint8 until the device casts them."""

from __future__ import annotations

import tensorflow as tf

# Inception / fb.resnet.torch: crops of 8%-100% of the area, aspect ratio 3/4-4/3.
CROP_AREA = (0.08, 1.0)
CROP_RATIO = (3 / 4, 4 / 3)
CROP_ATTEMPTS = 10
# Evaluation resizes the shorter side to size / 0.875 (256 for 224), then crops the centre.
CENTER_FRACTION = 0.875


def to_uint8(image: tf.Tensor) -> tf.Tensor:
    """Rounds and clips float pixels to uint8."""
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)


def decode(encoded: tf.Tensor) -> tf.Tensor:
    """uint8 [H, W, 3] pixels of a JPEG, PNG, BMP or GIF (its first frame)."""
    return tf.io.decode_image(encoded, channels=3, expand_animations=False)


def resize(image: tf.Tensor, height: int | tf.Tensor, width: int | tf.Tensor) -> tf.Tensor:
    """Bilinear resize with antialiasing (torchvision's default), back to uint8."""
    return to_uint8(tf.image.resize(image, tf.stack([height, width]), antialias=True))


def decode_fixed(record: tf.Tensor, size: int, encoded: bool = True) -> tf.Tensor:
    """The whole image resized to ``size`` x ``size``: CIFAR-style data, cached or streamed
    alike (the same op, so a streamed folder gives the in-memory cache's pixels)."""
    image = decode(record) if encoded else record
    if image.shape[0] == size and image.shape[1] == size:
        return image
    # Files of the right size (a CIFAR folder's) skip the resize, an identity that costs a third
    # of decoding them.
    shape = tf.shape(image)
    return tf.cond(tf.logical_and(shape[0] == size, shape[1] == size),
                   lambda: tf.ensure_shape(image, [size, size, 3]),
                   lambda: resize(image, size, size))


def _crop_window(shape: tf.Tensor, seed: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(offset, size) of a random crop of ``CROP_AREA`` of the area and ``CROP_RATIO``
    aspect; the whole image when ``CROP_ATTEMPTS`` draws all fail, as Inception's code."""
    begin, crop, _ = tf.image.stateless_sample_distorted_bounding_box(
        shape, bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=seed,
        min_object_covered=0.0, aspect_ratio_range=CROP_RATIO, area_range=CROP_AREA,
        max_attempts=CROP_ATTEMPTS, use_image_if_no_bounding_boxes=True)
    return begin[:2], crop[:2]


def random_resized_crop(record: tf.Tensor, size: int, seed: tf.Tensor,
                        encoded: bool = True) -> tf.Tensor:
    """ImageNet training crop: a random window (8%-100% of the area, ratio 3/4-4/3), resized
    to ``size`` x ``size``. A JPEG decodes only its window (decode_and_crop_jpeg)."""
    if not encoded:
        offset, crop = _crop_window(tf.shape(record), seed)
        window = tf.slice(record, tf.concat([offset, [0]], 0), tf.concat([crop, [3]], 0))
        return resize(window, size, size)

    def jpeg():
        offset, crop = _crop_window(tf.io.extract_jpeg_shape(record), seed)
        return tf.io.decode_and_crop_jpeg(record, tf.concat([offset, crop], 0), channels=3)

    def other():
        image = decode(record)
        offset, crop = _crop_window(tf.shape(image), seed)
        return tf.slice(image, tf.concat([offset, [0]], 0), tf.concat([crop, [3]], 0))

    window = tf.cond(tf.io.is_jpeg(record), jpeg, other)
    return resize(window, size, size)


def center_crop(record: tf.Tensor, size: int, encoded: bool = True) -> tf.Tensor:
    """ImageNet evaluation: the shorter side resized to ``size / 0.875`` (256 for 224), then
    the central ``size`` x ``size``."""
    image = decode(record) if encoded else record
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = round(size / CENTER_FRACTION) / tf.reduce_min(shape)
    height, width = tf.unstack(tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), size))
    image = resize(image, height, width)
    top, left = (height - size) // 2, (width - size) // 2
    return image[top:top + size, left:left + size]
