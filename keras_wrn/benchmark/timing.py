"""Timing helpers: median throughput over windows after warm-up, and the machine's measured
peak (a large float32 matrix multiplication)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import tensorflow as tf


def median_rate(step: Callable[[], object], items_per_call: int, windows: int = 5,
                calls_per_window: int = 5, warmup: int = 3) -> tuple[float, list[float]]:
    """Items per second: median over ``windows`` timed windows of ``calls_per_window`` calls.
    ``step`` must block until its work is done (e.g. return a value read with .numpy())."""
    for _ in range(warmup):
        step()
    rates = []
    for _ in range(windows):
        start = time.perf_counter()
        for _ in range(calls_per_window):
            step()
        rates.append(items_per_call * calls_per_window / (time.perf_counter() - start))
    return statistics.median(rates), rates


def peak_flops_per_s(size: int = 2048, repeats: int = 5) -> float:
    """Best FLOP/s of a size x size float32 matmul (2 n^3 FLOPs) in this process."""
    a = tf.random.uniform((size, size))
    b = tf.random.uniform((size, size))
    matmul = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    matmul(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best
