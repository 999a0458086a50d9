"""ResNet (He, Zhang, Ren & Sun 2015), post-activation.

CIFAR (``stem="cifar"``): depth 6n+2, basic blocks of 16/32/64 channels and the paper's option-A
shortcut (stride-2 subsampling and zero channels appended, no parameters); ``shortcut="a_both"``
splits the zero channels before and after (as PyTorch ports often write option A) and
``shortcut="b"`` projects with a 1x1 convolution and batch norm where the shape changes (option
B), so the community's PyTorch checkpoints load. ImageNet (``stem="imagenet"``): 7x7 stem and 4
stages, basic blocks for 18/34 layers and bottlenecks for 50/101/152, 1x1 projection shortcuts
(option B) with the stride on the 3x3 convolution, as in torchvision. ``drop_rate`` > 0 gives
ResDrop (Huang et al. 2016).
"""

from __future__ import annotations

from typing import Any

from keras_wrn import layers as wrn_layers
from keras_wrn.core import lazy
from keras_wrn.models import common, presets
from keras_wrn.models.depth import CifarDepth, imagenet_bottleneck, imagenet_stages
from keras_wrn.models.family import Family, Hparam, register
from keras_wrn.models.stages import (
    BOTTLENECK,
    BOTTLENECK_EXPANSION,
    STEM,
    Block,
    block_widths,
    build_network,
)

keras = lazy.module("keras")

DEPTH = CifarDepth(basic=2)


SHORTCUTS = ("a", "a_both", "b")


def _option_a_shortcut(x, channels: int, stride: int, both_sides: bool, name: str):
    if stride != 1:
        x = keras.layers.MaxPooling2D(1, stride, name=f"{name}_subsample")(x)
    if channels > x.shape[-1]:
        zeros = channels - x.shape[-1]
        before = zeros // 2 if both_sides else 0
        x = wrn_layers.ChannelZeroPad(zeros - before, before, name=f"{name}_pad")(x)
    return x


def _projection_shortcut(x, channels: int, stride: int, sync_bn: bool, name: str):
    if stride == 1 and x.shape[-1] == channels:
        return x
    return common.bn(common.conv(x, channels, 1, stride, name=f"{name}_proj"),
                     f"{name}_proj_bn", sync_bn)


def _resnet_block(x, blk: Block, bottleneck: bool, shortcut: str):
    width, stride, sync_bn, name = blk.width, blk.stride, blk.sync_bn, blk.name
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

    if shortcut == "b":
        path = _projection_shortcut(x, out_channels, stride, sync_bn, name)
    else:
        path = _option_a_shortcut(x, out_channels, stride, shortcut == "a_both", name)
    y = common.residual(x, path, branch, rate=blk.rate, mode=blk.mode, name=name,
                        seed=blk.seed)
    return common.relu(y, f"{name}_out")


def layout(depth: int, bottleneck: bool | None, stem: str, shortcut: str | None = None,
           ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], bool, str]:
    """Blocks per stage, stage widths, stage strides, block type and shortcut; ValueError if
    impossible."""
    if stem == "cifar":
        if bottleneck:
            raise ValueError("CIFAR ResNet uses basic blocks; use preact_resnet for bottlenecks.")
        n = DEPTH.blocks(depth)
        return (n, n, n), (16, 32, 64), (1, 2, 2), False, shortcut or "a"
    if stem == "imagenet":
        if shortcut not in (None, "b"):
            raise ValueError(f"the ImageNet ResNet has projection shortcuts (b), got shortcut "
                             f"{shortcut!r}.")
        bottleneck = imagenet_bottleneck(depth, bottleneck)
        return imagenet_stages(depth), (64, 128, 256, 512), (1, 2, 2, 2), bottleneck, "b"
    raise ValueError(f"stem must be 'cifar' or 'imagenet', got {stem!r}.")


def build_resnet(hp: dict[str, Any]) -> keras.Model:
    """ResNet for CIFAR (6n+2) or ImageNet (18/34/50/101/152) from resolved hyperparameters."""
    stem, sync_bn = hp["stem"], hp["sync_bn"]
    stages, widths, strides, bottleneck, shortcut = layout(hp["depth"], hp["bottleneck"], stem,
                                                           hp["shortcut"])

    def stem_layers(x):
        if stem == "cifar":
            return common.relu(common.bn(common.conv(x, 16, 3, name="stem_conv"), "stem_bn",
                                         sync_bn), "stem_relu")
        x = common.relu(common.bn(common.conv(x, 64, 7, 2, name="stem_conv"), "stem_bn",
                                  sync_bn), "stem_relu")
        return common.stem_pool(x)

    return build_network(
        hp, stem=stem, stem_layers=stem_layers, stages=stages, strides=strides,
        widths=block_widths(stages, widths), final_preact=False,
        block=lambda x, blk: _resnet_block(x, blk, bottleneck, shortcut))


HPARAMS = (
    Hparam("depth", 110, "total depth", low=1, flag=True),
    BOTTLENECK,
    STEM,
    Hparam("shortcut", None, "a: subsampling and zero channels appended (CIFAR default); "
           "a_both: zero channels before and after; b: 1x1 projections (ImageNet's, and CIFAR "
           "with a projection where the shape changes)", type=str, choices=SHORTCUTS),
)

# He et al. 2015: LR 0.1 x0.1 at 32k and 48k iterations, 64k in all, batch 128 on a 45k/5k
# split (352 steps per epoch: 91, 136 and 182 epochs); 0.01 warm-up for ResNet-110.
CIFAR_RECIPE = {
    "epochs": 182, "batch_size": 128, "lr": 0.1, "schedule": "step",
    "milestones": [91, 136], "lr_decay": 0.1, "warmup_epochs": 1,
    "momentum": 0.9, "nesterov": False, "weight_decay": 1e-4,
}
# He et al. 2015 (section 3.4): SGD, batch 256, LR 0.1 divided by 10 on plateaus, weight
# decay 1e-4, momentum 0.9; run as 90 epochs with steps at 30 and 60 (fb.resnet.torch,
# torchvision's reference). ImageNet augmentation: random-resized crop and flip; evaluation
# on the 224 center crop of the image resized to 256.
IMAGENET_RECIPE = {
    "epochs": 90, "batch_size": 256, "lr": 0.1, "schedule": "step",
    "milestones": [30, 60], "lr_decay": 0.1, "warmup_epochs": 0,
    "momentum": 0.9, "nesterov": False, "weight_decay": 1e-4, "augmentation": "imagenet",
}

HE2015 = "He et al. 2015, Deep Residual Learning for Image Recognition (arXiv:1512.03385)"
_T6 = HE2015 + ", Table 6"
_HUANG2016 = ("Huang et al. 2016, Deep Networks with Stochastic Depth (arXiv:1603.09382), "
              "Table 1")
_preset, _published, _IMAGENET = presets.preset, presets.published, presets.IMAGENET
# He et al. 2015: CIFAR-10 (Table 6) and ImageNet (Tables 2 and 3, 10-crop top-1 error).
PRESETS = {
    "resnet-20": _preset(_T6, 269_722, _published(0.27, _T6, cifar10_error=8.75), depth=20,
                         total_params=271_098),
    "resnet-56": _preset(_T6, 853_018, _published(0.85, _T6, cifar10_error=6.97), depth=56,
                         total_params=857_082),
    "resnet-110": _preset(_T6, 1_727_962, _published(1.7, _T6, cifar10_error=6.43), depth=110,
                          total_params=1_736_058),
    "resnet-1202": _preset(_T6, 19_421_274, _published(19.4, _T6, cifar10_error=7.93),
                           depth=1202, total_params=19_510_906),
    "resdrop-110": _preset(_HUANG2016, 1_727_962,
                           _published(1.7, _HUANG2016, cifar10_error=5.25, cifar100_error=24.98),
                           depth=110, drop_rate=0.5, total_params=1_736_058),
    "resnet-18": _preset(HE2015 + ", Table 2", 11_689_512,
                         _published(11.7, HE2015 + ", Table 2 (10-crop)",
                                    imagenet_top1_error=27.88), depth=18, **_IMAGENET,
                         total_params=11_699_112),
    # ResNet-34 as torchvision builds it: projections only where the shape changes (option B).
    "resnet-34": _preset(HE2015 + ", Table 3", 21_797_672,
                         _published(21.8, HE2015 + ", Table 3 (10-crop, option B)",
                                    imagenet_top1_error=24.52), depth=34, **_IMAGENET,
                         total_params=21_814_696),
    "resnet-50": _preset(HE2015 + ", Table 3", 25_557_032,
                         _published(25.6, HE2015 + ", Table 3 (10-crop)",
                                    imagenet_top1_error=22.85), depth=50, **_IMAGENET,
                         total_params=25_610_152),
    "resnet-101": _preset(HE2015 + ", Table 3", 44_549_160,
                          _published(44.5, HE2015 + ", Table 3 (10-crop)",
                                     imagenet_top1_error=21.75), depth=101, **_IMAGENET,
                          total_params=44_654_504),
    "resnet-152": _preset(HE2015 + ", Table 3", 60_192_808,
                          _published(60.2, HE2015 + ", Table 3 (10-crop)",
                                     imagenet_top1_error=21.43), depth=152, **_IMAGENET,
                          total_params=60_344_232),
}

register(Family(
    name="resnet", build=build_resnet, layout=layout, hparams=HPARAMS, depth_rule=DEPTH,
    recipe="resnet-cifar", imagenet_recipe="resnet-imagenet",
    recipes={"resnet-cifar": CIFAR_RECIPE, "resnet-imagenet": IMAGENET_RECIPE},
    space={"blocks_per_stage": {"min": 1, "max": 3}},
    torch_layouts={"cifar": ("akamaster", "dxy", "chenyaofo"), "imagenet": ("torchvision",)},
    presets=PRESETS,
))

