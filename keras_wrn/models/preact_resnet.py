"""Pre-activation ResNet (He, Zhang, Ren & Sun 2016, "Identity Mappings in Deep Residual Networks"),
as in KaimingHe/resnet-1k-layers: CIFAR, basic (6n+2) or bottleneck (9n+2, 4x expansion) blocks
of 16/32/64 base channels, BN-ReLU before every convolution, 1x1 projection shortcuts (on the
pre-activated input) where the shape changes; ``drop_rate`` > 0 adds ResDrop.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_wrn.models import common
from keras_wrn.models.depth import cifar_blocks

BOTTLENECK_EXPANSION = 4


def _preact_block(x, width: int, stride: int, bottleneck: bool, preact_input: bool, rate: float,
                  mode: str, seed: int | None, sync_bn: bool, name: str):
    out_channels = width * (BOTTLENECK_EXPANSION if bottleneck else 1)
    needs_projection = stride != 1 or x.shape[-1] != out_channels
    kernels = ((1, 1), (3, stride), (1, 1)) if bottleneck else ((3, stride), (3, 1))
    widths = (width, width, out_channels) if bottleneck else (width, width)

    def preactivate(y):
        return common.relu(common.bn(y, f"{name}_bn1", sync_bn), f"{name}_relu1")

    def branch(y):
        if preact_input and not needs_projection:
            y = preactivate(y)
        convs = zip(kernels, widths, strict=True)
        for i, ((kernel, conv_stride), filters) in enumerate(convs, start=1):
            if i > 1:
                y = common.relu(common.bn(y, f"{name}_bn{i}", sync_bn), f"{name}_relu{i}")
            y = common.conv(y, filters, kernel, conv_stride, name=f"{name}_conv{i}")
        return y

    if not needs_projection:
        return common.residual(x, x, branch, rate=rate, mode=mode, name=name, seed=seed)
    # Shape-changing blocks share the pre-activation with the projection (He et al.'s both_preact).
    y = preactivate(x) if preact_input else x
    shortcut = common.conv(y, out_channels, 1, stride, name=f"{name}_proj")
    return common.residual(y, shortcut, branch, rate=rate, mode=mode, name=name, seed=seed)


def layout(depth: int, bottleneck: bool) -> int:
    """Blocks per stage; ValueError if the depth is impossible for the block type."""
    return cifar_blocks(depth, 3 if bottleneck else 2, 2)


def build_preact_resnet(
    *,
    depth: int = 164,
    bottleneck: bool = True,
    num_classes: int = 10,
    input_shape: Sequence[int] = (32, 32, 3),
    drop_rate: float = 0.0,
    drop_mode: str = "batch",
    drop_schedule: str = "linear",
    sync_bn: bool = False,
    seed: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    name: str = "preact_resnet",
) -> keras.Model:
    """Pre-activation ResNet for CIFAR-sized inputs."""
    common.check_common(num_classes, drop_rate, drop_mode, drop_schedule)
    n = layout(depth, bottleneck)
    inputs, x = common.image_input(input_shape, *common.input_stats("cifar", mean, std))
    # The stem's BN-ReLU is the first block's pre-activation ('no_preact' first block).
    x = common.relu(common.bn(common.conv(x, 16, 3, name="stem_conv"), "stem_bn", sync_bn),
                    "stem_relu")
    rates = common.drop_rates(3 * n, drop_rate, drop_schedule)
    for s, (width, stride) in enumerate(zip((16, 32, 64), (1, 2, 2), strict=True)):
        for b in range(n):
            index = s * n + b
            x = _preact_block(
                x, width, stride if b == 0 else 1, bool(bottleneck), index > 0, rates[index],
                drop_mode, common.seed_for(seed, index), sync_bn, name=f"stage{s + 1}_block{b + 1}",
            )
    x = common.relu(common.bn(x, "final_bn", sync_bn), "final_relu")
    return keras.Model(inputs, common.classifier(x, num_classes), name=name)
