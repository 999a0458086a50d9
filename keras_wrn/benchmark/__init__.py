"""Benchmarks: graph-counted FLOPs, throughput timing and the machine's measured peak."""

from keras_wrn.benchmark.flops import forward_flops_per_image
from keras_wrn.benchmark.timing import median_rate, peak_flops_per_s

__all__ = ["forward_flops_per_image", "median_rate", "peak_flops_per_s"]
