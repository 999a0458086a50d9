"""Pre-activation ResNet (He, Zhang, Ren & Sun 2016, "Identity Mappings in Deep Residual Networks"),
as in KaimingHe/resnet-1k-layers: CIFAR, basic (6n+2) or bottleneck (9n+2, 4x expansion) blocks
of 16/32/64 base channels, BN-ReLU before every convolution, 1x1 projection shortcuts (on the
pre-activated input) where the shape changes; ``drop_rate`` > 0 adds ResDrop.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras_wrn.core import lazy
from keras_wrn.models import common, presets
from keras_wrn.models.depth import CifarDepth
from keras_wrn.models.family import Family, Hparam, register
from keras_wrn.models.stages import (
    BOTTLENECK,
    BOTTLENECK_EXPANSION,
    Block,
    block_widths,
    build_network,
)

keras = lazy.module("keras")

DEPTH = CifarDepth(basic=2, bottleneck=3)


def _preact_block(x, blk: Block, bottleneck: bool):
    width, stride, sync_bn, name = blk.width, blk.stride, blk.sync_bn, blk.name
    preact_input = blk.index > 0  # the stem's BN-ReLU pre-activates the first block
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
        return common.residual(x, x, branch, rate=blk.rate, mode=blk.mode, name=name,
                               seed=blk.seed)
    # Shape-changing blocks share the pre-activation with the projection (He et al.'s both_preact).
    y = preactivate(x) if preact_input else x
    shortcut = common.conv(y, out_channels, 1, stride, name=f"{name}_proj")
    return common.residual(y, shortcut, branch, rate=blk.rate, mode=blk.mode, name=name,
                           seed=blk.seed)


def layout(depth: int, bottleneck: bool) -> int:
    """Blocks per stage; ValueError if the depth is impossible for the block type."""
    return DEPTH.blocks(depth, bottleneck)


def build_preact_resnet(hp: dict[str, Any]) -> keras.Model:
    """Pre-activation ResNet for CIFAR-sized inputs from resolved hyperparameters."""
    bottleneck, sync_bn = bool(hp["bottleneck"]), hp["sync_bn"]
    n = layout(hp["depth"], bottleneck)

    def stem_layers(x):
        # The stem's BN-ReLU is the first block's pre-activation ('no_preact' first block).
        return common.relu(common.bn(common.conv(x, 16, 3, name="stem_conv"), "stem_bn",
                                     sync_bn), "stem_relu")

    return build_network(
        hp, stem="cifar", stem_layers=stem_layers, stages=(n, n, n), strides=(1, 2, 2),
        widths=block_widths((n, n, n), (16, 32, 64)), final_preact=True,
        block=lambda x, blk: _preact_block(x, blk, bottleneck))


HE2016 = "He et al. 2016, Identity Mappings in Deep Residual Networks (arXiv:1603.05027)"
_T3 = HE2016 + ", Table 3"
# He et al. 2016, Table 3 (CIFAR-10/100, bottleneck, pre-activation).
PRESETS = {
    "preact-resnet-164": presets.preset(
        _T3, 1_703_258, presets.published(1.7, _T3, cifar10_error=5.46, cifar100_error=24.33),
        depth=164, bottleneck=True, total_params=1_727_482),
    "preact-resnet-1001": presets.preset(
        _T3, 10_327_706, presets.published(10.2, _T3, cifar10_error=4.92, cifar100_error=22.71),
        depth=1001, bottleneck=True, total_params=10_476_922),
}

register(Family(
    name="preact_resnet", build=build_preact_resnet, layout=layout,
    hparams=(Hparam("depth", 164, "total depth", low=1, flag=True),
             dataclasses.replace(BOTTLENECK, default=True)),
    depth_rule=DEPTH, recipe="resnet-cifar",
    space={"blocks_per_stage": {"min": 1, "max": 3}, "bottleneck": [False, True]},
    presets=PRESETS,
))

