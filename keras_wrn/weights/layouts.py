"""The key layouts of the PyTorch code checkpoints come from, as a name for each keras_wrn layer
with weights, the hyperparameters the code's network implies and the input normalisation its
training used.

- ``akamaster``: akamaster/pytorch_resnet_cifar10, CIFAR ResNet-20/32/44/56/110/1202 (``conv1``,
  ``layer1.0.conv1``, ``linear``); option A with zero channels before and after
  (``shortcut="a_both"``); ImageNet mean/std on 0-1 pixels.
- ``dxy``: D-X-Y/ResNeXt-DenseNet's ``CifarResNet`` (``conv_1_3x3``, ``bn_1``,
  ``stage_1.0.conv_a``, ``bn_b``, ``classifier``; also the soft-filter-pruning code built on it)
  with ``DownsampleA``: option A with zero channels appended (``shortcut="a"``); CIFAR-10's or
  CIFAR-100's mean/std.
- ``chenyaofo``: chenyaofo/pytorch-cifar-models' ResNet-20/32/44/56 (torchvision's names:
  ``conv1``, ``layer2.0.downsample.0``, ``fc``): option B (``shortcut="b"``); CIFAR-10's or
  CIFAR-100's mean/std, by the classifier's size.
- ``torchvision``: torchvision's ResNet-18/34/50/101/152 (``conv1``, ``layer1.0.conv1``,
  ``layer2.0.downsample.0``, ``fc``), for keras_wrn's ImageNet ResNets.
- ``pyramidnet-pytorch``: dyhan0920/PyramidNet-PyTorch (``layer1.0.bn1``, ``bn_final``), for
  PyramidNet, PyramidDrop and PyramidSepDrop, basic and bottleneck, CIFAR and ImageNet stems
  (stochastic depth has no weights).
- ``wrn-pytorch``: szagoruyko/wide-residual-networks' functional PyTorch code (``conv0``,
  ``group0.block0.bn0``, ``group1.block0.convdim``, ``bn``, ``fc``), whose convolutions are
  bare tensors without ``.weight``.

The pre-activation ResNets were published as Lua Torch code only: no PyTorch layout exists for
them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from keras_wrn.models import common
from keras_wrn.models.family import FAMILIES
from keras_wrn.weights.torch_files import WeightsError

_BLOCK = re.compile(r"stage(\d+)_block(\d+)_(\w+)")


def _block(name: str) -> tuple[int, int, str] | None:
    match = _BLOCK.fullmatch(name)
    return (int(match[1]), int(match[2]), match[3]) if match else None


def _renamer(fixed: Mapping[str, str], block: str, parts: Mapping[str, str] | None = None,
             only_parts: bool = False) -> Callable[[str], str | None]:
    """A function from a keras_wrn layer name to a codebase's module name: ``fixed`` names the
    layers outside the blocks; a block's layer is ``block`` formatted with its stage and
    ``group`` (stage - 1), its ``index`` (from 0) and its part, renamed by ``parts`` (a part
    ``parts`` lacks keeps its name, or has no place when ``only_parts``)."""
    parts = parts or {}

    def rename(name: str) -> str | None:
        if name in fixed:
            return fixed[name]
        found = _block(name)
        if found is None or (only_parts and found[2] not in parts):
            return None
        stage, index, part = found
        return block.format(stage=stage, group=stage - 1, index=index - 1,
                            part=parts.get(part, part))

    return rename


_LAYER_BLOCK = "layer{stage}.{index}.{part}"
_torchvision = _renamer({"stem_conv": "conv1", "stem_bn": "bn1", "classifier": "fc"},
                        _LAYER_BLOCK, {"proj": "downsample.0", "proj_bn": "downsample.1"})
_pyramidnet = _renamer({"stem_conv": "conv1", "stem_bn": "bn1", "final_bn": "bn_final",
                        "classifier": "fc"}, _LAYER_BLOCK)
_akamaster = _renamer({"stem_conv": "conv1", "stem_bn": "bn1", "classifier": "linear"},
                      _LAYER_BLOCK)
_dxy = _renamer({"stem_conv": "conv_1_3x3", "stem_bn": "bn_1", "classifier": "classifier"},
                "stage_{stage}.{index}.{part}",
                {"conv1": "conv_a", "bn1": "bn_a", "conv2": "conv_b", "bn2": "bn_b"},
                only_parts=True)
# keras_wrn's WRN block: bn1 relu conv1 bn2 relu conv2 (+ proj); the authors': bn0 conv0 bn1
# conv1 (+ convdim).
_wrn = _renamer({"stem_conv": "conv0", "final_bn": "bn", "classifier": "fc"},
                "group{group}.block{index}.{part}",
                {"bn1": "bn0", "conv1": "conv0", "bn2": "bn1", "conv2": "conv1",
                 "proj": "convdim"}, only_parts=True)


Stats = tuple[tuple[float, ...], tuple[float, ...]]  # mean and std per channel, 0-255 pixels


def _from_unit(mean: Sequence[float], std: Sequence[float]) -> Stats:
    """Statistics a PyTorch transform applies to 0-1 pixels, in the 0-255 scale of the models."""
    return tuple(255 * m for m in mean), tuple(255 * s for s in std)


@dataclasses.dataclass(frozen=True)
class Layout:
    """How one codebase names its tensors, what its network implies and how it fed it."""

    name: str
    prefix_of: Callable[[str], str | None]  # keras layer name -> PyTorch module name
    blocks: re.Pattern  # a block's key: (stage, index in the stage)
    conv_weight_suffix: str = ".weight"  # "": conv tensors stored bare (functional code)
    batch_norm_counters: bool = True  # nn.BatchNorm2d keeps num_batches_tracked
    marker: str = ""  # a key only this layout's checkpoints hold, among the family's layouts
    excludes: str = ""  # ... and a part of a key they never hold
    hparams: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # the network's
    # Training input statistics by the classifier's classes (0: any other); none: the stem's.
    stats: Mapping[int, Stats] = dataclasses.field(default_factory=dict)

    def prefix(self, layer_name: str) -> str:
        prefix = self.prefix_of(layer_name)
        if prefix is None:
            raise WeightsError(f"layer {layer_name} has no place in the {self.name} layout.")
        return prefix

    def fits(self, keys: set[str]) -> bool:
        """Whether a checkpoint with these keys is of this layout (by its marker)."""
        return self.marker in keys and not (self.excludes
                                             and any(self.excludes in k for k in keys))

    def implied(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The hyperparameters a checkpoint in this layout implies: its network's, the classes
        of its classifier and the input statistics (0-255) its training used."""
        values = dict(self.hparams)
        classifier = state.get(self.prefix("classifier") + ".weight")
        if classifier is not None:
            values["num_classes"] = int(classifier.shape[0])
        stats = self.stats.get(values.get("num_classes", 0), self.stats.get(0))
        if stats is not None:
            values["mean"], values["std"] = stats
        return values

    def blocks_per_stage(self, keys: Iterable[str]) -> list[int]:
        """How many residual blocks each stage of the keys' network has, in stage order."""
        blocks: dict[int, set[int]] = {}
        for key in keys:
            if match := self.blocks.match(key):
                blocks.setdefault(int(match[1]), set()).add(int(match[2]))
        return [len(blocks[stage]) for stage in sorted(blocks)]


_LAYER = re.compile(r"layer(\d+)\.(\d+)\.")
# chenyaofo/pytorch-cifar-models' training configurations (CIFAR-10, CIFAR-100)
_CIFAR10 = _from_unit((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
_CIFAR100 = _from_unit((0.507, 0.4865, 0.4409), (0.2673, 0.2564, 0.2761))

LAYOUTS = {
    "torchvision": Layout("torchvision", _torchvision, _LAYER),
    "akamaster": Layout("akamaster", _akamaster, _LAYER, marker="linear.weight",
                        excludes=".shortcut.", hparams={"shortcut": "a_both"},
                        stats={0: (common.IMAGENET_MEAN, common.IMAGENET_STD)}),
    "dxy": Layout("dxy", _dxy, re.compile(r"stage_(\d+)\.(\d+)\."), marker="conv_1_3x3.weight",
                  hparams={"shortcut": "a"},
                  stats={0: (common.CIFAR_MEAN, common.CIFAR_STD),
                         100: ((129.3, 124.1, 112.4), (68.2, 65.4, 70.4))}),
    "chenyaofo": Layout("chenyaofo", _torchvision, _LAYER, marker="fc.weight",
                        hparams={"shortcut": "b"}, stats={0: _CIFAR10, 100: _CIFAR100}),
    "pyramidnet-pytorch": Layout("pyramidnet-pytorch", _pyramidnet, _LAYER),
    "wrn-pytorch": Layout("wrn-pytorch", _wrn, re.compile(r"group(\d+)\.block(\d+)\."),
                          conv_weight_suffix="", batch_norm_counters=False),
}


def _described(names: Sequence[str]) -> str:
    return ", ".join(f"{n} ({LAYOUTS[n].marker.removesuffix('.weight')})" for n in names)


def layout_for(family: str, stem: str = "cifar", state: Mapping[str, Any] | None = None,
               name: str | None = None) -> Layout:
    """The PyTorch layout of a family's checkpoint: ``name``, or the one of the family's (its
    record's) whose marker ``state`` holds; WeightsError where none fits."""
    names = FAMILIES[family].torch_layouts.get(stem, ()) if family in FAMILIES else ()
    if not names:
        known = "; ".join(f"{f.name} ({', '.join(f.torch_layouts)})"
                          for f in FAMILIES.values() if f.torch_layouts)
        raise WeightsError(f"no PyTorch layout is known for {family} ({stem} stem); layouts "
                           f"exist for {known}.")
    if name is not None:
        if name not in names:
            raise WeightsError(f"layout {name!r} is not one of {family}'s ({stem} stem): "
                               f"{', '.join(names)}.")
        return LAYOUTS[name]
    if len(names) == 1:
        return LAYOUTS[names[0]]
    if state is None:
        raise WeightsError(f"{family} ({stem} stem) has several layouts ({', '.join(names)}); "
                           f"name one.")
    keys = set(state)
    fitting = [n for n in names if LAYOUTS[n].fits(keys)]
    if len(fitting) != 1:
        shown = ", ".join(sorted(keys)[:3]) + (", ..." if len(keys) > 3 else "")
        raise WeightsError(f"the checkpoint's keys ({shown}) fit no single PyTorch layout of "
                           f"{family} ({stem} stem); expected one of {_described(names)}; name "
                           f"it (--layout, weights_layout=) if it is one.")
    return LAYOUTS[fitting[0]]
