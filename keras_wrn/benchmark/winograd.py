"""oneDNN against Winograd F(2x2, 3x3) and F(4x4, 3x3) for single 'same' 3x3 stride-1 convs:
forward plus both gradients, as a training step runs them. The measurements behind
:func:`keras_wrn.kernels.prefers_winograd`."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from keras_wrn.benchmark.timing import median_rate
from keras_wrn.kernels import winograd_conv2d


def _training_pass(conv: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]) -> Callable:
    """A tf.function running ``conv`` forward and backward to both of its inputs."""

    @tf.function
    def run(x: tf.Tensor, kernel: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = conv(x, kernel)
        dx, dkernel = tape.gradient(y, [x, kernel], output_gradients=dy)
        return dx[0, 0, 0, 0] + dkernel[0, 0, 0, 0]  # waits for both without copying them

    return run


def winograd_speedup(height: int, width: int, in_channels: int, out_channels: int,
                     batch_size: int, repeats: int = 5) -> dict[str, float]:
    """Milliseconds of one conv's forward and backward with oneDNN and with Winograd on 2x2 and
    4x4 tiles, on random data (median of ``repeats``), and oneDNN's time over each Winograd's."""
    x = tf.random.normal((batch_size, height, width, in_channels))
    kernel = tf.random.normal((3, 3, in_channels, out_channels))
    dy = tf.random.normal((batch_size, height, width, out_channels))
    times = {}
    for name, conv in (("onednn", lambda x, k: tf.nn.conv2d(x, k, 1, "SAME")),
                       ("winograd_f2", lambda x, k: winograd_conv2d(x, k, tile=2)),
                       ("winograd_f4", lambda x, k: winograd_conv2d(x, k, tile=4))):
        run = _training_pass(conv)
        calls_per_s, _ = median_rate(lambda run=run: run(x, kernel, dy).numpy(), 1,
                                     windows=repeats, calls_per_window=1, warmup=2)
        times[f"{name}_ms"] = round(1000 / calls_per_s, 2)
    for tile in ("f2", "f4"):
        times[f"speedup_{tile}"] = round(times["onednn_ms"] / times[f"winograd_{tile}_ms"], 3)
    return times
