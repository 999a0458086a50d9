"""PyramidNet (Han, Kim & Kim 2017) and its stochastic-depth variants.

Follows the authors' code (jhkim89/PyramidNet, dyhan0920/PyramidNet-PyTorch): the width grows by
``alpha / N`` per block (additive) or by a constant factor (multiplicative), rounded half up;
blocks are BN-conv-BN-ReLU-conv-BN (no ReLU before the first conv, BN after the last); the
shortcut is the identity, 2x2 average-pooled where the stride is 2 and zero-padded to the new
width. ``separated=True`` is PyramidSepDrop (Yamada, Iwamura & Kise 2016): the branch channels
that meet the input channels and the new channels are dropped by independent draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras

from keras_wrn.layers import ChannelZeroPad
from keras_wrn.models import common
from keras_wrn.models.depth import cifar_blocks, imagenet_bottleneck, imagenet_stages

BOTTLENECK_EXPANSION = 4


def block_widths(stages: Sequence[int], base: int, alpha: float, multiplicative: bool) -> list[int]:
    """Branch width (before bottleneck expansion) of every block, as the authors round it."""
    total = sum(stages)
    widths, width = [], float(base)
    ratio = ((base + alpha) / base) ** (1.0 / total)
    for _ in range(total):
        width = width * ratio if multiplicative else width + alpha / total
        widths.append(math.floor(width + 0.5))
    return widths


def _pyramid_block(x, width: int, stride: int, bottleneck: bool, rate: float, mode: str,
                   separated: bool, seed: int | None, sync_bn: bool, name: str):
    in_channels = x.shape[-1]
    out_channels = width * (BOTTLENECK_EXPANSION if bottleneck else 1)

    def branch(y):
        y = common.bn(y, f"{name}_bn1", sync_bn)
        if bottleneck:
            y = common.conv(y, width, 1, name=f"{name}_conv1")
            y = common.relu(common.bn(y, f"{name}_bn2", sync_bn), f"{name}_relu1")
            y = common.conv(y, width, 3, stride, name=f"{name}_conv2")
            y = common.relu(common.bn(y, f"{name}_bn3", sync_bn), f"{name}_relu2")
            y = common.conv(y, out_channels, 1, name=f"{name}_conv3")
            return common.bn(y, f"{name}_bn4", sync_bn)
        y = common.conv(y, width, 3, stride, name=f"{name}_conv1")
        y = common.relu(common.bn(y, f"{name}_bn2", sync_bn), f"{name}_relu1")
        y = common.conv(y, width, 3, name=f"{name}_conv2")
        return common.bn(y, f"{name}_bn3", sync_bn)

    shortcut = x
    if stride != 1:
        shortcut = keras.layers.AveragePooling2D(
            2, 2, padding="same", name=f"{name}_pool"
        )(shortcut)
    if out_channels > in_channels:
        shortcut = ChannelZeroPad(out_channels - in_channels, name=f"{name}_pad")(shortcut)
    return common.residual(x, shortcut, branch, rate=rate, mode=mode, name=name, seed=seed,
                           shared_channels=in_channels if separated else None)


# The widest PyramidNet built: a last stage of 16 + 4080 = 4096 channels (x4 in bottlenecks),
# fifteen times the widest published (alpha 270). Wider only exhausts memory while building.
MAX_ALPHA = 4080


def layout(depth: int, alpha: float, bottleneck: bool | None,
           stem: str) -> tuple[tuple[int, ...], int, tuple[int, ...], bool]:
    """Blocks per stage, base width, stage strides and block type; ValueError if impossible."""
    if not 0 <= alpha <= MAX_ALPHA:
        raise ValueError(f"alpha (total widening) must be in [0, {MAX_ALPHA}], got {alpha}.")
    if stem == "cifar":
        bottleneck = bool(bottleneck)
        n = cifar_blocks(depth, 3 if bottleneck else 2, 2)
        return (n, n, n), 16, (1, 2, 2), bottleneck
    if stem == "imagenet":
        bottleneck = imagenet_bottleneck(depth, bottleneck)
        return imagenet_stages(depth), 64, (1, 2, 2, 2), bottleneck
    raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}.")


def build_pyramidnet(
    *,
    depth: int = 110,
    alpha: float = 48,
    bottleneck: bool | None = None,
    multiplicative: bool = False,
    stem: str = "cifar",
    num_classes: int = 10,
    input_shape: Sequence[int] = (32, 32, 3),
    drop_rate: float = 0.0,
    drop_mode: str = "batch",
    drop_schedule: str = "linear",
    separated: bool = False,
    sync_bn: bool = False,
    seed: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    name: str = "pyramidnet",
) -> keras.Model:
    """PyramidNet; ``drop_rate`` > 0 adds stochastic depth (separated when ``separated``)."""
    common.check_common(num_classes, drop_rate, drop_mode, drop_schedule)
    stages, base, strides, bottleneck = layout(depth, alpha, bottleneck, stem)
    mean, std = common.input_stats(stem, mean, std)
    inputs, x = common.image_input(input_shape, mean, std)
    if stem == "cifar":
        x = common.bn(common.conv(x, base, 3, name="stem_conv"), "stem_bn", sync_bn)
    else:
        x = common.bn(common.conv(x, base, 7, 2, name="stem_conv"), "stem_bn", sync_bn)
        x = common.relu(x, "stem_relu")
        x = common.stem_pool(x)

    widths = block_widths(stages, base, alpha, multiplicative)
    rates = common.drop_rates(len(widths), drop_rate, drop_schedule)
    index = 0
    for s, (blocks, stage_stride) in enumerate(zip(stages, strides, strict=True)):
        for b in range(blocks):
            x = _pyramid_block(
                x, widths[index], stage_stride if b == 0 else 1, bottleneck, rates[index],
                drop_mode, separated, common.seed_for(seed, index), sync_bn,
                name=f"stage{s + 1}_block{b + 1}",
            )
            index += 1
    x = common.relu(common.bn(x, "final_bn", sync_bn), "final_relu")
    return keras.Model(inputs, common.classifier(x, num_classes), name=name)

