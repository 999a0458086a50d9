"""PyramidNet (Han, Kim & Kim 2017) and its stochastic-depth variants.

Follows the authors' code (jhkim89/PyramidNet, dyhan0920/PyramidNet-PyTorch): the width grows by
``alpha / N`` per block (additive) or by a constant factor (multiplicative), rounded half up;
blocks are BN-conv-BN-ReLU-conv-BN (no ReLU before the first conv, BN after the last); the
shortcut is the identity, 2x2 average-pooled where the stride is 2 and zero-padded to the new
width. ``separated=True`` is PyramidSepDrop (Yamada, Iwamura & Kise 2016): the branch channels
that meet the input channels and the new channels are dropped by independent draws.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from keras_wrn import layers as wrn_layers
from keras_wrn.core import lazy
from keras_wrn.models import common, presets
from keras_wrn.models.depth import CifarDepth, imagenet_bottleneck, imagenet_stages
from keras_wrn.models.family import Family, Hparam, register
from keras_wrn.models.stages import BOTTLENECK, BOTTLENECK_EXPANSION, STEM, Block, build_network

keras = lazy.module("keras")

DEPTH = CifarDepth(basic=2, bottleneck=3)


def block_widths(stages: Sequence[int], base: int, alpha: float, multiplicative: bool) -> list[int]:
    """Branch width (before bottleneck expansion) of every block, as the authors round it."""
    total = sum(stages)
    widths, width = [], float(base)
    ratio = ((base + alpha) / base) ** (1.0 / total)
    for _ in range(total):
        width = width * ratio if multiplicative else width + alpha / total
        widths.append(math.floor(width + 0.5))
    return widths


def _pyramid_block(x, blk: Block, bottleneck: bool, separated: bool):
    width, stride, sync_bn, name = blk.width, blk.stride, blk.sync_bn, blk.name
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
        shortcut = wrn_layers.ChannelZeroPad(out_channels - in_channels,
                                             name=f"{name}_pad")(shortcut)
    return common.residual(x, shortcut, branch, rate=blk.rate, mode=blk.mode, name=name,
                           seed=blk.seed, shared_channels=in_channels if separated else None)


# The widest PyramidNet built: a last stage of 16 + 4080 = 4096 channels (x4 in bottlenecks),
# fifteen times the widest published (alpha 270). Wider only exhausts memory while building.
MAX_ALPHA = 4080


def layout(depth: int, bottleneck: bool | None,
           stem: str) -> tuple[tuple[int, ...], int, tuple[int, ...], bool]:
    """Blocks per stage, base width, stage strides and block type; ValueError if impossible."""
    if stem == "cifar":
        bottleneck = bool(bottleneck)
        n = DEPTH.blocks(depth, bottleneck)
        return (n, n, n), 16, (1, 2, 2), bottleneck
    if stem == "imagenet":
        bottleneck = imagenet_bottleneck(depth, bottleneck)
        return imagenet_stages(depth), 64, (1, 2, 2, 2), bottleneck
    raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}.")


def build_pyramidnet(hp: dict[str, Any]) -> keras.Model:
    """PyramidNet from resolved hyperparameters; ``drop_rate`` > 0 adds stochastic depth
    (separated when ``separated``)."""
    stem, sync_bn = hp["stem"], hp["sync_bn"]
    stages, base, strides, bottleneck = layout(hp["depth"], hp["bottleneck"], stem)

    def stem_layers(x):
        if stem == "cifar":
            return common.bn(common.conv(x, base, 3, name="stem_conv"), "stem_bn", sync_bn)
        x = common.bn(common.conv(x, base, 7, 2, name="stem_conv"), "stem_bn", sync_bn)
        return common.stem_pool(common.relu(x, "stem_relu"))

    return build_network(
        hp, stem=stem, stem_layers=stem_layers, stages=stages, strides=strides,
        widths=block_widths(stages, base, hp["alpha"], hp["multiplicative"]), final_preact=True,
        block=lambda x, blk: _pyramid_block(x, blk, bottleneck, hp["separated"]))


HPARAMS = (
    Hparam("depth", 110, "total depth", low=1, flag=True),
    Hparam("alpha", 48, "PyramidNet total widening", low=0, high=MAX_ALPHA, flag=True,
           type=float, why="total widening"),
    BOTTLENECK,
    Hparam("multiplicative", False, "PyramidNet multiplicative widening", flag=True),
    STEM,
    Hparam("separated", False, "separated stochastic depth (PyramidSepDrop)"),
)

# Han et al. 2017 / jhkim89/PyramidNet: 300 epochs, LR 0.1 (0.5 on CIFAR-100) x0.1 at 150, 225.
CIFAR_RECIPE = {
    "epochs": 300, "batch_size": 128, "lr": 0.1, "schedule": "step",
    "milestones": [150, 225], "lr_decay": 0.1, "warmup_epochs": 0,
    "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4,
}
# Yamada et al. 2016 (PyramidSepDrop README): the PyramidNet recipe with initial LR 0.5.
SEPDROP_RECIPE = {**CIFAR_RECIPE, "lr": 0.5}
# Han et al. 2017, PyramidNet-200 a300 on ImageNet, from the authors' code
# (dyhan0920/PyramidNet-PyTorch: the README's command, --lr 0.05 --batch_size 128
# --epochs 100, and train.py's adjust_learning_rate, LR x0.1 every 30 epochs; SGD with
# Nesterov momentum 0.9, weight decay 1e-4; fb.resnet.torch's augmentation).
IMAGENET_RECIPE = {
    "epochs": 100, "batch_size": 128, "lr": 0.05, "schedule": "step",
    "milestones": [30, 60, 90], "lr_decay": 0.1, "warmup_epochs": 0,
    "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4, "augmentation": "imagenet",
}

HAN2017 = "Han, Kim & Kim 2017, Deep Pyramidal Residual Networks (arXiv:1610.02915)"
YAMADA2016 = ("Yamada, Iwamura & Kise 2016, Deep Pyramidal Residual Networks with Separated "
              "Stochastic Depth (arXiv:1612.01230)")
REPO = "github.com/jhkim89/PyramidNet README"
_T4, _preset, _published = HAN2017 + ", Table 4", presets.preset, presets.published
# Han et al. 2017: architectures from Table 4 (CIFAR) and Table 5 (ImageNet); errors from the
# authors' repository, which updated the paper's.
PRESETS = {
    "pyramidnet-110-a48": _preset(_T4, 1_772_706, _published(1.7, REPO, cifar10_error=4.62,
                                                             cifar100_error=23.31),
                                  depth=110, alpha=48, total_params=1_785_874),
    "pyramidnet-110-a84": _preset(_T4, 3_904_446, _published(3.8, REPO, cifar10_error=4.27,
                                                             cifar100_error=20.21),
                                  depth=110, alpha=84, total_params=3_923_554),
    "pyramidnet-110-a270": _preset(_T4, 28_485_477, _published(28.3, REPO, cifar10_error=3.73,
                                                               cifar100_error=18.25),
                                   depth=110, alpha=270, total_params=28_535_275),
    "pyramidnet-164-a48-bottleneck": _preset(
        _T4, 1_715_442, _published(1.7, REPO, cifar10_error=4.21, cifar100_error=19.52),
        depth=164, alpha=48, bottleneck=True, total_params=1_759_186),
    "pyramidnet-164-a270-bottleneck": _preset(
        _T4, 27_216_021, _published(27.0, REPO, cifar10_error=3.48, cifar100_error=17.01),
        depth=164, alpha=270, bottleneck=True, total_params=27_381_865),
    "pyramidnet-200-a240-bottleneck": _preset(
        _T4, 26_752_702, _published(26.6, REPO, cifar10_error=3.44, cifar100_error=16.51),
        depth=200, alpha=240, bottleneck=True, total_params=26_934_686),
    "pyramidnet-272-a200-bottleneck": _preset(
        _T4, 26_210_842, _published(26.0, REPO, cifar10_error=3.31, cifar100_error=16.35),
        depth=272, alpha=200, bottleneck=True, total_params=26_421_706),
    "pyramidnet-200-a300-imagenet": _preset(
        HAN2017 + ", Table 5", 62_368_168,
        _published(62.1, REPO + " (single crop)", imagenet_top1_error=20.47),
        depth=200, alpha=300, **presets.IMAGENET, total_params=62_653_904),
}

_PYRAMIDNET = Family(
    name="pyramidnet", build=build_pyramidnet, layout=layout, hparams=HPARAMS, depth_rule=DEPTH,
    recipe="pyramidnet-cifar", imagenet_recipe="pyramidnet-imagenet",
    recipes={"pyramidnet-cifar": CIFAR_RECIPE, "pyramidsepdrop-cifar": SEPDROP_RECIPE,
             "pyramidnet-imagenet": IMAGENET_RECIPE},
    space={"blocks_per_stage": {"min": 1, "max": 3}, "alpha": {"min": 12, "max": 96, "step": 12},
           "bottleneck": [False, True]},
    torch_layouts={"cifar": ("pyramidnet-pytorch",), "imagenet": ("pyramidnet-pytorch",)},
    presets=PRESETS, fixed={"separated": False},
)
# Yamada, Iwamura & Kise 2016: plain drop (the baseline) and separated drop, p_L = 0.5.
register(
    _PYRAMIDNET,
    dataclasses.replace(
        _PYRAMIDNET, name="pyramiddrop", recipes={}, defaults={"drop_rate": 0.5},
        presets={"pyramiddrop-110-a270": _preset(YAMADA2016, 28_485_477, _published(28.3),
                                                 depth=110, alpha=270, total_params=28_535_275)}),
    dataclasses.replace(
        _PYRAMIDNET, name="pyramidsepdrop", recipe="pyramidsepdrop-cifar", recipes={},
        defaults={"drop_rate": 0.5}, fixed={"separated": True},
        presets={"pyramidsepdrop-110-a270": _preset(
            YAMADA2016, 28_485_477, _published(28.3, YAMADA2016, cifar100_error=16.18),
            depth=110, alpha=270, total_params=28_535_275)}),
)

