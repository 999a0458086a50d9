"""A generated, learnable image-classification dataset: the offline default.

Each class has its own smooth random colour pattern; examples are that pattern shifted by a few
pixels, with random brightness and pixel noise. A convolutional network separates the classes
after a few epochs, so the quick start can show real learning without any download.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_wrn.data.examples import Examples
from keras_wrn.data.source import DataSource

GRID = 4  # pattern cells per side before upsampling
TRAIN_EXAMPLES, VAL_EXAMPLES = 2000, 500  # the splits' default sizes


def make_synthetic_arrays(num_examples: int, num_classes: int, image_size: int,
                          seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``num_examples`` uint8 images of shape (image_size, image_size, 3) and their labels."""
    rng = np.random.default_rng(seed)
    patterns = np.random.default_rng(1234).uniform(30, 225, (num_classes, GRID, GRID, 3))
    patterns = tf.image.resize(patterns, (image_size, image_size), method="bicubic").numpy()
    labels = np.arange(num_examples) % num_classes
    rng.shuffle(labels)
    shift = max(1, image_size // 8)
    images = np.empty((num_examples, image_size, image_size, 3), np.uint8)
    for i, label in enumerate(labels):
        dy, dx = rng.integers(-shift, shift + 1, 2)
        image = np.roll(patterns[label], (dy, dx), axis=(0, 1))
        image = image + rng.normal(0, 20) + rng.normal(0, 25, image.shape)
        images[i] = np.clip(image, 0, 255).astype(np.uint8)
    return images, labels.astype(np.int32)


def load_synthetic(image_size: int, num_classes: int = 10,
                   train_examples: int = TRAIN_EXAMPLES, val_examples: int = VAL_EXAMPLES,
                   seed: int = 0, kind: str = "cifar") -> DataSource:
    """Training and validation splits drawn from the same class patterns with different noise
    (``kind``: how evaluation prepares them, cifar or imagenet)."""
    x_train, y_train = make_synthetic_arrays(train_examples, num_classes, image_size, seed)
    x_val, y_val = make_synthetic_arrays(val_examples, num_classes, image_size, seed + 1)
    return DataSource(
        train_examples=Examples(x_train, y_train, "pixels", image_size),
        val_examples=Examples(x_val, y_val, "pixels", image_size),
        kind=kind,
        class_names=[f"class_{i}" for i in range(num_classes)],
        val_from="the synthetic validation set (the same patterns, other noise)",
    )
