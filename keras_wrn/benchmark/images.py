"""A generated ImageNet-shaped image folder: JPEGs of 300-500 pixels a side (ImageNet's typical
sizes), smooth random colour fields with noise, so that decoding costs what a photo's does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf


def write_imagenet_folder(root: str | Path, images: int, classes: int = 10, seed: int = 0,
                          sides: tuple[int, int] = (300, 500)) -> Path:
    """Writes ``images`` JPEGs (quality 90) into ``classes`` sub-folders of ``root``; returns
    ``root``. Each side is drawn from ``sides``, so crops and resizes see varied shapes."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 12, (sides[1], sides[1], 3)).astype(np.float32)  # sliced per image
    for c in range(classes):
        (root / f"class{c:03d}").mkdir(parents=True, exist_ok=True)
    for i in range(images):
        height, width = rng.integers(sides[0], sides[1] + 1, 2)
        field = rng.uniform(0, 255, (1, 6, 6, 3)).astype(np.float32)
        image = tf.image.resize(field, (height, width), method="bicubic")[0]
        image = image + np.roll(noise, rng.integers(0, sides[1], 2), (0, 1))[:height, :width]
        data = tf.io.encode_jpeg(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8), quality=90)
        (root / f"class{i % classes:03d}" / f"{i:06d}.jpg").write_bytes(data.numpy())
    return root
