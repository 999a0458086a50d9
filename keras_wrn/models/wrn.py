"""Wide Residual Networks WRN-d-k (Zagoruyko & Komodakis 2016), as in
szagoruyko/wide-residual-networks.

Depth 6n+4; three stages of n pre-activation basic blocks of width 16k, 32k, 64k; a 1x1
projection of the pre-activated input where the shape changes; optional dropout between the two
convolutions; stochastic depth (ResDrop) on the branch when ``drop_rate`` > 0.
"""

from __future__ import annotations

from typing import Any

from keras_wrn.core import lazy
from keras_wrn.models import common, presets
from keras_wrn.models.depth import CifarDepth
from keras_wrn.models.family import Family, Hparam, register
from keras_wrn.models.stages import Block, block_widths, build_network

keras = lazy.module("keras")

DEPTH = CifarDepth(basic=2, extra=4)


def _wide_block(x, blk: Block, dropout: float):
    width, stride, sync_bn, name = blk.width, blk.stride, blk.sync_bn, blk.name
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
        return common.residual(x, x, branch, rate=blk.rate, mode=blk.mode, name=name,
                               seed=blk.seed)
    # The projection shares the branch's pre-activation.
    preact = preactivate(x)
    shortcut = common.conv(preact, width, 1, stride, name=f"{name}_proj")
    return common.residual(preact, shortcut, branch, rate=blk.rate, mode=blk.mode,
                           name=name, seed=blk.seed)


# The widest WRN built: 64 x 64 = 4096 channels in the last stage, six times WRN-28-10's; the
# papers go to k = 12. Wider only exhausts memory while building.
MAX_WIDEN = 64
HPARAMS = (
    Hparam("depth", 28, "total depth", low=1, flag=True),
    Hparam("widen_factor", 10, "WRN k", low=1, high=MAX_WIDEN, flag=True,
           why=f"a last stage of at most {64 * MAX_WIDEN} channels"),
    Hparam("dropout", 0.0, "WRN dropout between the convolutions", low=0.0, below=1.0,
           flag=True),
)


def layout(depth: int) -> int:
    """Blocks per stage; ValueError if the depth is not 6n+4."""
    return DEPTH.blocks(depth)


def build_wrn(hp: dict[str, Any]) -> keras.Model:
    """WRN-depth-widen_factor for CIFAR-sized inputs from resolved hyperparameters."""
    n, k = layout(hp["depth"]), int(hp["widen_factor"])
    return build_network(
        hp, stem="cifar", stem_layers=lambda x: common.conv(x, 16, 3, name="stem_conv"),
        stages=(n, n, n), strides=(1, 2, 2),
        widths=block_widths((n, n, n), (16 * k, 32 * k, 64 * k)),
        final_preact=True, block=lambda x, blk: _wide_block(x, blk, hp["dropout"]))


# Zagoruyko & Komodakis 2016 (recipe): 200 epochs, LR 0.1 x0.2 at 60, 120, 160, weight decay
# 5e-4.
RECIPE = {
    "epochs": 200, "batch_size": 128, "lr": 0.1, "schedule": "step",
    "milestones": [60, 120, 160], "lr_decay": 0.2, "warmup_epochs": 0,
    "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
}

ZK2016 = "Zagoruyko & Komodakis 2016, Wide Residual Networks (arXiv:1605.07146)"
WRN_REPO = ("github.com/szagoruyko/wide-residual-networks README (mean/std normalisation, "
            "median of 5 runs)")
WRN_ZCA = ZK2016 + ", Table 4 (ZCA whitening; the authors give no mean/std figure)"
_preset, _published = presets.preset, presets.published
# Architectures and counts from Table 5 (Table 6 with dropout); errors from the authors'
# repository where it has mean/std figures.
PRESETS = {
    "wrn-16-8": _preset(ZK2016 + ", Table 5", 10_961_370,
                        _published(11.0, WRN_ZCA, cifar10_error=4.81, cifar100_error=22.07),
                        depth=16, widen_factor=8, total_params=10_968_570),
    "wrn-28-10": _preset(ZK2016 + ", Table 5", 36_479_194,
                         _published(36.5, WRN_REPO, cifar10_error=4.00, cifar100_error=19.25),
                         depth=28, widen_factor=10, total_params=36_497_146),
    "wrn-28-10-dropout": _preset(ZK2016 + ", Table 6", 36_479_194,
                                 _published(36.5, WRN_REPO, cifar10_error=3.89,
                                            cifar100_error=18.85),
                                 depth=28, widen_factor=10, dropout=0.3, total_params=36_497_146),
    "wrn-40-4": _preset(ZK2016 + ", Table 5", 8_949_210,
                        _published(8.9, WRN_ZCA, cifar10_error=4.97, cifar100_error=22.89),
                        depth=40, widen_factor=4, total_params=8_959_994),
}

register(Family(
    name="wrn", build=build_wrn, layout=layout, hparams=HPARAMS, depth_rule=DEPTH,
    recipe="wrn-cifar", recipes={"wrn-cifar": RECIPE},
    space={"blocks_per_stage": {"min": 1, "max": 2}, "widen_factor": {"min": 1, "max": 4},
           "dropout": {"min": 0.0, "max": 0.3, "step": 0.1}},
    torch_layouts={"cifar": ("wrn-pytorch",)}, presets=PRESETS,
))

