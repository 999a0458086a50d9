"""ResNet (He, Zhang, Ren & Sun 2015), post-activation.

CIFAR (``stem="cifar"``): depth 6n+2, basic blocks of 16/32/64 channels and the paper's option-A
shortcut (stride-2 subsampling and zero-padded channels, no parameters). ImageNet
(``stem="imagenet"``): 7x7 stem and 4 stages, basic blocks for 18/34 layers and bottlenecks for
50/101/152, 1x1 projection shortcuts (option B) with the stride on the 3x3 convolution, as in
torchvision. ``drop_rate`` > 0 gives ResDrop (Huang et al. 2016).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from keras_wrn.layers import ChannelZeroPad
from keras_wrn.models import common
from keras_wrn.models.depth import cifar_blocks, imagenet_bottleneck, imagenet_stages

BOTTLENECK_EXPANSION = 4


def _option_a_shortcut(x, channels: int, stride: int, name: str):
    if stride != 1:
        x = keras.layers.MaxPooling2D(1, stride, name=f"{name}_subsample")(x)
    if channels > x.shape[-1]:
        x = ChannelZeroPad(channels - x.shape[-1], name=f"{name}_pad")(x)
    return x


def _projection_shortcut(x, channels: int, stride: int, sync_bn: bool, name: str):
    if stride == 1 and x.shape[-1] == channels:
        return x
    return common.bn(common.conv(x, channels, 1, stride, name=f"{name}_proj"),
                     f"{name}_proj_bn", sync_bn)


def _resnet_block(x, width: int, stride: int, bottleneck: bool, projection: bool, rate: float,
                  mode: str, seed: int | None, sync_bn: bool, name: str):
    out_channels = width * (BOTTLENECK_EXPANSION if bottleneck else 1)

    def branch(y):
        if bottleneck:
            y = common.relu(common.bn(common.conv(y, width, 1, name=f"{name}_conv1"),
                                      f"{name}_bn1", sync_bn), f"{name}_relu1")
            y = common.relu(common.bn(common.conv(y, width, 3, stride, name=f"{name}_conv2"),
                                      f"{name}_bn2", sync_bn), f"{name}_relu2")
            return common.bn(common.conv(y, out_channels, 1, name=f"{name}_conv3"),
                             f"{name}_bn3", sync_bn)
        y = common.relu(common.bn(common.conv(y, width, 3, stride, name=f"{name}_conv1"),
                                  f"{name}_bn1", sync_bn), f"{name}_relu1")
        return common.bn(common.conv(y, width, 3, name=f"{name}_conv2"), f"{name}_bn2", sync_bn)

    if projection:
        shortcut = _projection_shortcut(x, out_channels, stride, sync_bn, name)
    else:
        shortcut = _option_a_shortcut(x, out_channels, stride, name)
    y = common.residual(x, shortcut, branch, rate=rate, mode=mode, name=name, seed=seed)
    return common.relu(y, f"{name}_out")


def layout(depth: int, bottleneck: bool | None,
           stem: str) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], bool]:
    """Blocks per stage, stage widths, stage strides and block type; ValueError if impossible."""
    if stem == "cifar":
        if bottleneck:
            raise ValueError("CIFAR ResNet uses basic blocks; use preact_resnet for bottlenecks.")
        n = cifar_blocks(depth, 2, 2)
        return (n, n, n), (16, 32, 64), (1, 2, 2), False
    if stem == "imagenet":
        bottleneck = imagenet_bottleneck(depth, bottleneck)
        return imagenet_stages(depth), (64, 128, 256, 512), (1, 2, 2, 2), bottleneck
    raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}.")


def build_resnet(
    *,
    depth: int = 110,
    bottleneck: bool | None = None,
    stem: str = "cifar",
    num_classes: int = 10,
    input_shape: Sequence[int] = (32, 32, 3),
    drop_rate: float = 0.0,
    drop_mode: str = "batch",
    drop_schedule: str = "linear",
    sync_bn: bool = False,
    seed: int | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    name: str = "resnet",
) -> keras.Model:
    """ResNet for CIFAR (6n+2) or ImageNet (18/34/50/101/152)."""
    common.check_common(num_classes, drop_rate, drop_mode, drop_schedule)
    stages, widths, strides, bottleneck = layout(depth, bottleneck, stem)
    mean, std = common.input_stats(stem, mean, std)

    inputs, x = common.image_input(input_shape, mean, std)
    if stem == "cifar":
        x = common.relu(common.bn(common.conv(x, 16, 3, name="stem_conv"), "stem_bn", sync_bn),
                        "stem_relu")
    else:
        x = common.relu(common.bn(common.conv(x, 64, 7, 2, name="stem_conv"), "stem_bn", sync_bn),
                        "stem_relu")
        x = common.stem_pool(x)
    rates = common.drop_rates(sum(stages), drop_rate, drop_schedule)
    index = 0
    for s, (blocks, width, stride) in enumerate(zip(stages, widths, strides, strict=True)):
        for b in range(blocks):
            x = _resnet_block(
                x, width, stride if b == 0 else 1, bottleneck, stem == "imagenet", rates[index],
                drop_mode, common.seed_for(seed, index), sync_bn, name=f"stage{s + 1}_block{b + 1}",
            )
            index += 1
    return keras.Model(inputs, common.classifier(x, num_classes), name=name)
