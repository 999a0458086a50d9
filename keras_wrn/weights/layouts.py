"""The key layouts of the authors' PyTorch code, as a name for each keras_wrn layer with weights.

- ``torchvision``: torchvision's ResNet-18/34/50/101/152 (``conv1``, ``layer1.0.conv1``,
  ``layer2.0.downsample.0``, ``fc``), for keras_wrn's ImageNet ResNets.
- ``pyramidnet-pytorch``: dyhan0920/PyramidNet-PyTorch (``layer1.0.bn1``, ``bn_final``), for
  PyramidNet, PyramidDrop and PyramidSepDrop, basic and bottleneck, CIFAR and ImageNet stems
  (stochastic depth has no weights).
- ``wrn-pytorch``: szagoruyko/wide-residual-networks' functional PyTorch code (``conv0``,
  ``group0.block0.bn0``, ``group1.block0.convdim``, ``bn``, ``fc``), whose convolutions are
  bare tensors without ``.weight``.

The CIFAR ResNets, ResDrop and the pre-activation ResNets were published as Lua Torch code
only: no PyTorch layout exists for them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from keras_wrn.models.family import FAMILIES
from keras_wrn.weights.torch_files import WeightsError

_BLOCK = re.compile(r"stage(\d+)_block(\d+)_(\w+)")


def _block(name: str) -> tuple[int, int, str] | None:
    match = _BLOCK.fullmatch(name)
    return (int(match[1]), int(match[2]), match[3]) if match else None


def _torchvision(name: str) -> str | None:
    fixed = {"stem_conv": "conv1", "stem_bn": "bn1", "classifier": "fc"}
    if name in fixed:
        return fixed[name]
    if block := _block(name):
        stage, index, part = block
        part = {"proj": "downsample.0", "proj_bn": "downsample.1"}.get(part, part)
        return f"layer{stage}.{index - 1}.{part}"
    return None


def _pyramidnet(name: str) -> str | None:
    fixed = {"stem_conv": "conv1", "stem_bn": "bn1", "final_bn": "bn_final",
             "classifier": "fc"}
    if name in fixed:
        return fixed[name]
    if block := _block(name):
        stage, index, part = block
        return f"layer{stage}.{index - 1}.{part}"
    return None


# keras_wrn's WRN block: bn1 relu conv1 bn2 relu conv2 (+ proj); the authors': bn0 conv0 bn1
# conv1 (+ convdim).
_WRN_PARTS = {"bn1": "bn0", "conv1": "conv0", "bn2": "bn1", "conv2": "conv1", "proj": "convdim"}


def _wrn(name: str) -> str | None:
    fixed = {"stem_conv": "conv0", "final_bn": "bn", "classifier": "fc"}
    if name in fixed:
        return fixed[name]
    if (block := _block(name)) and block[2] in _WRN_PARTS:
        stage, index, part = block
        return f"group{stage - 1}.block{index - 1}.{_WRN_PARTS[part]}"
    return None


@dataclasses.dataclass(frozen=True)
class Layout:
    """How one codebase names its tensors."""

    name: str
    prefix_of: Callable[[str], str | None]  # keras layer name -> PyTorch module name
    conv_weight_suffix: str = ".weight"  # "": conv tensors stored bare (functional code)
    batch_norm_counters: bool = True  # nn.BatchNorm2d keeps num_batches_tracked

    def prefix(self, layer_name: str) -> str:
        prefix = self.prefix_of(layer_name)
        if prefix is None:
            raise WeightsError(f"layer {layer_name} has no place in the {self.name} layout.")
        return prefix


LAYOUTS = {
    "torchvision": Layout("torchvision", _torchvision),
    "pyramidnet-pytorch": Layout("pyramidnet-pytorch", _pyramidnet),
    "wrn-pytorch": Layout("wrn-pytorch", _wrn, conv_weight_suffix="",
                          batch_norm_counters=False),
}


def layout_for(family: str, stem: str = "cifar") -> Layout:
    """The published PyTorch layout of a family (and stem), as its record names it;
    WeightsError where none exists."""
    name = FAMILIES[family].torch_layouts.get(stem) if family in FAMILIES else None
    if name is None:
        known = "; ".join(f"{f.name} ({', '.join(f.torch_layouts)})"
                          for f in FAMILIES.values() if f.torch_layouts)
        raise WeightsError(f"no PyTorch checkpoints exist for {family} ({stem} stem): its "
                           f"authors published Lua Torch code only; PyTorch layouts exist for "
                           f"{known}.")
    return LAYOUTS[name]
