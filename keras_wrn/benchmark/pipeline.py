"""The input pipeline's throughput on one source: training batches (decode and augment) drawn
as fast as tf.data gives them, their images/s and the memory the epochs took."""

from __future__ import annotations

import statistics
import time
from typing import Any

from keras_wrn.benchmark.memory import PeakRss
from keras_wrn.data import AugmentConfig, DataSource, steps_per_epoch, train_dataset


def pipeline_rate(source: DataSource, augmentation: AugmentConfig, batch_size: int,
                  epochs: int = 1, warmup_batches: int = 5,
                  on_device: bool = False) -> dict[str, Any]:
    """Images/s of each of ``epochs`` epochs after its first ``warmup_batches`` (each epoch's
    dataset built anew, as in training) and their median, and the peak RSS growth while they
    ran. ``on_device``: the host's share when the plan augments in the step (the batches
    as the accelerator receives them)."""
    steps = steps_per_epoch(source.train_examples, batch_size, 1)
    if warmup_batches < 1 or epochs < 1:
        raise ValueError("warmup_batches and epochs must be at least 1")
    if steps <= warmup_batches:
        raise ValueError(f"{steps} batches per epoch, {warmup_batches} of them warming up: use "
                         f"more images or a smaller batch size")
    rates = []
    with PeakRss() as peak:
        for epoch in range(epochs):
            dataset = train_dataset(source.train_examples, source.num_classes, batch_size,
                                    epoch, 0, augmentation, on_device=on_device).take(steps)
            images = 0
            for index, batch in enumerate(dataset):
                images += int(batch[0].shape[0])
                if index == warmup_batches - 1:  # timed from here: the batches after it
                    start, images = time.perf_counter(), 0
            rates.append(images / (time.perf_counter() - start))
    return {"images_per_epoch": images, "epoch_images_per_s": [round(r, 1) for r in rates],
            "images_per_s": round(statistics.median(rates), 1),
            "peak_rss_growth_mb": round(peak.growth / 2**20, 1),
            "peak_rss_mb": round(peak.peak / 2**20, 1)}
