"""Benchmarks: graph-counted FLOPs, throughput timing, the machine's measured peak, the
convolution floor of a training step, oneDNN against Winograd per convolution, and a training
step set up to be timed."""

from keras_wrn.benchmark.convs import conv_seconds, conv_shapes
from keras_wrn.benchmark.flops import forward_flops_per_image
from keras_wrn.benchmark.step import timed_step
from keras_wrn.benchmark.timing import median_rate, peak_flops_per_s
from keras_wrn.benchmark.winograd import winograd_speedup

__all__ = ["conv_seconds", "conv_shapes", "forward_flops_per_image", "median_rate",
           "peak_flops_per_s", "timed_step", "winograd_speedup"]
