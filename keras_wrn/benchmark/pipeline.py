"""The input pipeline's throughput on one source: training batches (decode and augment) drawn
as fast as tf.data gives them, their images/s and the memory the epoch took."""

from __future__ import annotations

import time
from typing import Any

from keras_wrn.benchmark.memory import PeakRss
from keras_wrn.data import AugmentConfig, DataSource, steps_per_epoch, train_dataset


def pipeline_rate(source: DataSource, augmentation: AugmentConfig, batch_size: int,
                  epochs: int = 1, warmup_batches: int = 5) -> dict[str, Any]:
    """Images/s over ``epochs`` whole epochs after ``warmup_batches`` (one pass from the
    start of the data), and the peak RSS growth while they ran."""
    steps = steps_per_epoch(source.train_examples, batch_size, 1)
    with PeakRss() as peak:
        start, images = None, 0
        for epoch in range(epochs):
            dataset = train_dataset(source.train_examples, source.num_classes, batch_size,
                                    epoch, 0, augmentation).take(steps)
            for index, (batch, _) in enumerate(dataset):
                if epoch == 0 and index == warmup_batches:
                    start, images = time.perf_counter(), 0
                images += int(batch.shape[0])
        seconds = time.perf_counter() - start
    return {"images": images, "seconds": round(seconds, 2),
            "images_per_s": round(images / seconds, 1),
            "peak_rss_growth_mb": round(peak.growth / 2**20, 1),
            "peak_rss_mb": round(peak.peak / 2**20, 1)}
