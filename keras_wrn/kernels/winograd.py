"""Winograd convolution F(m x m, 3x3) for the training step (Lavin & Gray, CVPR 2016).

A 3x3 stride-1 convolution computed on m x m output tiles takes (m+2)^2 multiplies per tile and
channel pair instead of 9 m^2: 2.25x fewer FLOPs for m = 2, 4x for m = 4, as (m+2)^2 batched
matmuls between elementwise tile transforms (compiled with XLA, which fuses them). The weight
gradient reuses the forward's transformed input, so it is one more batched matmul: that is where
oneDNN's CPU kernels are slowest per FLOP. The price is memory: each such layer keeps its
transformed input, (m+2)^2 / m^2 times its input (2.25x for m = 4), until the backward pass. The
input gradient stays with oneDNN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

# Y = A^T [(G g G^T) * (B^T d B)] A on (m+2) x (m+2) input tiles taken every m pixels. The
# training step uses m = 4; m = 2 is there for `apps/benchmark.py winograd` to compare.
TRANSFORMS = {
    2: {"BT": ((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1)),
        "G": ((1, 0, 0), (1 / 2, 1 / 2, 1 / 2), (1 / 2, -1 / 2, 1 / 2), (0, 0, 1)),
        "AT": ((1, 1, 1, 0), (0, 1, -1, -1))},
    4: {"BT": ((4, 0, -5, 0, 1, 0), (0, -4, -4, 1, 1, 0), (0, 4, -4, -1, 1, 0),
               (0, -2, -1, 2, 1, 0), (0, 2, -1, -2, 1, 0), (0, 4, 0, -5, 0, 1)),
        "G": ((1 / 4, 0, 0), (-1 / 6, -1 / 6, -1 / 6), (-1 / 6, 1 / 6, -1 / 6),
              (1 / 24, 1 / 12, 1 / 6), (1 / 24, -1 / 12, 1 / 6), (0, 0, 1)),
        "AT": ((1, 1, 1, 1, 1, 0), (0, 1, -1, 2, -2, 0), (0, 1, 1, 4, 4, 0),
               (0, 1, -1, 8, -8, 1))},
}


def fits_tiles(height: int | None, width: int | None, tile: int = 4) -> bool:
    """Whether a static ``height`` x ``width`` image is made of whole ``tile`` x ``tile`` tiles."""
    return height is not None and width is not None and height % tile == 0 \
        and width % tile == 0


def _combine(matrix: Sequence[Sequence[float]], parts: Sequence[tf.Tensor]) -> list[tf.Tensor]:
    """``matrix @ parts`` along one tile axis, as adds of the parts its nonzero entries pick."""
    out = []
    for row in matrix:
        terms = [p if c == 1 else -p if c == -1 else c * p for c, p in zip(row, parts, strict=True)
                 if c]
        out.append(tf.add_n(terms) if len(terms) > 1 else terms[0])
    return out


@tf.function(jit_compile=True)
def _input_transform(x: tf.Tensor, m: int) -> tf.Tensor:
    """[N, H, W, C] -> [(m+2)^2, N * H/m * W/m, C]: B^T d B of every input tile."""
    bt = TRANSFORMS[m]["BT"]
    h, w, c = x.shape[1:]
    padded = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    rows = _combine(bt, [padded[:, j:j + h:m] for j in range(m + 2)])
    tiles = [t for r in rows for t in _combine(bt, [r[:, :, j:j + w:m] for j in range(m + 2)])]
    return tf.reshape(tf.stack(tiles), ((m + 2) ** 2, -1, c))


@tf.function(jit_compile=True)
def _output_transform(product: tf.Tensor, m: int) -> tf.Tensor:
    """[m+2, m+2, N, H/m, W/m, C] -> [N, H, W, C]: A^T M A, each m x m tile put in place."""
    at = TRANSFORMS[m]["AT"]
    rows = _combine(at, tf.unstack(product))
    tiles = [t for r in rows for t in _combine(at, tf.unstack(r))]  # row-major within a tile
    return tf.nn.depth_to_space(tf.concat(tiles, -1), m)


@tf.function(jit_compile=True)
def _output_gradient_transform(dy: tf.Tensor, m: int) -> tf.Tensor:
    """[N, H, W, C] -> [(m+2)^2, N * H/m * W/m, C]: A dY A^T of every output-gradient tile,
    the adjoint of the output transform."""
    a = np.transpose(TRANSFORMS[m]["AT"]).tolist()
    pixels = tf.split(tf.nn.space_to_depth(dy, m), m * m, -1)  # row-major within a tile
    columns = [_combine(a, pixels[col::m]) for col in range(m)]
    tiles = [t for i in range(m + 2) for t in _combine(a, [column[i] for column in columns])]
    return tf.reshape(tf.stack(tiles), ((m + 2) ** 2, -1, dy.shape[-1]))  # C is static here


def winograd_conv2d(x: tf.Tensor, kernel: tf.Tensor, tile: int = 4) -> tf.Tensor:
    """'same' 3x3 stride-1 convolution of channels-last ``x`` (height and width multiples of
    ``tile``, 2 or 4) with a [3, 3, C_in, C_out] ``kernel``; ``tf.nn.conv2d`` up to rounding."""
    h, w = x.shape[1:3] if x.shape.rank == 4 else (None, None)
    if (tile not in TRANSFORMS or kernel.shape.rank != 4 or tuple(kernel.shape[:2]) != (3, 3)
            or x.shape[-1] != kernel.shape[2] or not fits_tiles(h, w, tile)):
        raise ValueError(f"winograd_conv2d takes an [N, H, W, C] input, a [3, 3, C, C_out] "
                         f"kernel, tile 2 or 4 and a static H and W that are multiples of the "
                         f"tile; got input {x.shape}, kernel {kernel.shape} and tile {tile}.")
    cin, cout = kernel.shape[2:]
    a = tile + 2
    g = tf.constant(TRANSFORMS[tile]["G"], kernel.dtype)

    @tf.custom_gradient
    def conv(x: tf.Tensor, kernel: tf.Tensor):
        v = _input_transform(x, tile)
        u = tf.reshape(tf.einsum("ai,ijco,bj->abco", g, kernel, g), (a * a, cin, cout))
        product = tf.reshape(tf.matmul(v, u), (a, a, -1, h // tile, w // tile, cout))

        def grad(dy: tf.Tensor):
            du = tf.matmul(v, _output_gradient_transform(dy, tile), transpose_a=True)
            dkernel = tf.einsum("ai,abco,bj->ijco", g, tf.reshape(du, (a, a, cin, cout)), g)
            dx = tf.raw_ops.Conv2DBackpropInput(input_sizes=tf.shape(x), filter=kernel,
                                                out_backprop=dy, strides=[1, 1, 1, 1],
                                                padding="SAME")
            return dx, dkernel

        return _output_transform(product, tile), grad

    return conv(x, kernel)
