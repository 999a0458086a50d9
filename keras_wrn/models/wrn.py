"""Wide Residual Networks WRN-d-k (Zagoruyko & Komodakis 2016), as in
szagoruyko/wide-residual-networks.

Depth 6n+4; three stages of n pre-activation basic blocks of width 16k, 32k, 64k; a 1x1
projection of the pre-activated input where the shape changes; optional dropout between the two
convolutions; stochastic depth (ResDrop) on the branch when ``drop_rate`` > 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_wrn.models import common
from keras_wrn.models.depth import cifar_blocks


def _wide_block(x, width: int, stride: int, dropout: float, rate: float, mode: str,
                seed: int | None, sync_bn: bool, name: str):
    needs_projection = stride != 1 or x.shape[-1] != width

    def preactivate(y):
        return common.relu(common.bn(y, f"{name}_bn1", sync_bn), f"{name}_relu1")

    def branch(y):
        if not needs_projection:
            y = preactivate(y)
        y = common.conv(y, width, 3, stride, name=f"{name}_conv1")
        y = common.relu(common.bn(y, f"{name}_bn2", sync_bn), f"{name}_relu2")
        if dropout > 0:
            y = keras.layers.Dropout(dropout, name=f"{name}_dropout")(y)
        return common.conv(y, width, 3, name=f"{name}_conv2")

    if not needs_projection:
        return common.residual(x, x, branch, rate=rate, mode=mode, name=name, seed=seed)
    # The projection shares the branch's pre-activation.
    preact = preactivate(x)
    shortcut = common.conv(preact, width, 1, stride, name=f"{name}_proj")
    return common.residual(preact, shortcut, branch, rate=rate, mode=mode, name=name, seed=seed)


# The widest WRN built: 64 x 64 = 4096 channels in the last stage, six times WRN-28-10's; the
# papers go to k = 12. Wider only exhausts memory while building.
MAX_WIDEN = 64


def layout(depth: int, widen_factor: int, dropout: float) -> int:
    """Blocks per stage; ValueError if the configuration is impossible."""
    if not 1 <= widen_factor <= MAX_WIDEN:
        raise ValueError(f"widen_factor must be an integer in [1, {MAX_WIDEN}] (a last stage of "
                         f"at most {64 * MAX_WIDEN} channels), got {widen_factor}.")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
    return cifar_blocks(depth, 2, 4)


def build_wrn(
    *,
    depth: int = 28,
    widen_factor: int = 10,
    dropout: float = 0.0,
    num_classes: int = 10,
    input_shape: Sequence[int] = (32, 32, 3),
    drop_rate: float = 0.0,
    drop_mode: str = "batch",
    drop_schedule: str = "linear",
    sync_bn: bool = False,
    seed: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    name: str = "wrn",
) -> keras.Model:
    """WRN-depth-widen_factor for CIFAR-sized inputs."""
    common.check_common(num_classes, drop_rate, drop_mode, drop_schedule)
    n = layout(depth, widen_factor, dropout)
    inputs, x = common.image_input(input_shape, *common.input_stats("cifar", mean, std))
    x = common.conv(x, 16, 3, name="stem_conv")
    rates = common.drop_rates(3 * n, drop_rate, drop_schedule)
    for s, (width, stride) in enumerate(zip((16, 32, 64), (1, 2, 2), strict=True)):
        for b in range(n):
            index = s * n + b
            x = _wide_block(
                x, width * int(widen_factor), stride if b == 0 else 1, dropout, rates[index],
                drop_mode, common.seed_for(seed, index), sync_bn, name=f"stage{s + 1}_block{b + 1}",
            )
    x = common.relu(common.bn(x, "final_bn", sync_bn), "final_relu")
    return keras.Model(inputs, common.classifier(x, num_classes), name=name)
