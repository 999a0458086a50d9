"""The network every family builds: the image input (normalised inside the model), the family's
stem, stages of residual blocks each given its width, stride, stochastic-depth rate and gate
seed, an optional final BN-ReLU and the classifier; and the arguments all families share."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from keras_wrn.core import lazy
from keras_wrn.layers.modes import DROP_MODES
from keras_wrn.models import common
from keras_wrn.models.family import Hparam

keras = lazy.module("keras")

# Output channels of a bottleneck block over its branch width (He et al. 2015).
BOTTLENECK_EXPANSION = 4

# The arguments every family takes besides its own.
COMMON: tuple[Hparam, ...] = (
    Hparam("num_classes", 10, "classes of the classifier", low=1),
    Hparam("input_shape", (32, 32, 3), "input image shape (height, width, channels)", type=tuple),
    Hparam("drop_rate", 0.0, "final stochastic-depth death rate p_L", low=0.0, below=1.0,
           flag=True),
    Hparam("drop_mode", "batch", "one gate per batch (the papers') or per sample",
           choices=DROP_MODES, flag=True),
    Hparam("drop_schedule", "linear", "death rate linear in depth (Huang et al.) or uniform",
           choices=common.DROP_SCHEDULES),
    Hparam("sync_bn", False, "batch statistics synchronised across replicas"),
    Hparam("seed", None, "seed of the stochastic-depth gates", type=int),
    Hparam("mean", None, "input mean per channel, 0-255 (default: the stem's dataset)",
           type=tuple),
    Hparam("std", None, "input deviation per channel, 0-255 (default: the stem's dataset)",
           type=tuple),
)


# Hyperparameters several families take.
# (The families' layout functions check the stem.)
STEM = Hparam("stem", "cifar", "cifar: a 3x3 stem for 32x32 images; imagenet: a 7x7 stem, "
              "max pooling and 4 stages")
BOTTLENECK = Hparam("bottleneck", None, "bottleneck blocks", type=bool, flag=True)


@dataclasses.dataclass(frozen=True)
class Block:
    """One residual block's place: what a family's block function is given."""

    width: int  # branch width (before a bottleneck's expansion)
    stride: int
    index: int  # over the whole network, from 0
    rate: float  # stochastic-depth death rate
    seed: int | None
    mode: str
    sync_bn: bool
    name: str


def block_widths(stages: Sequence[int], widths: Sequence[int]) -> list[int]:
    """Each block's width where every block of a stage has the stage's width."""
    return [width for blocks, width in zip(stages, widths, strict=True) for _ in range(blocks)]


def build_network(hp: Mapping[str, Any], *, stem: str, stem_layers: Callable[[Any], Any],
                  stages: Sequence[int], strides: Sequence[int], widths: Sequence[int],
                  block: Callable[[Any, Block], Any], final_preact: bool) -> keras.Model:
    """The model of resolved hyperparameters ``hp``: ``stem_layers`` after the input (``stem``
    names the dataset whose statistics normalise it), ``stages[s]`` blocks of stride
    ``strides[s]`` (its first block), ``widths`` per block, then BN-ReLU if ``final_preact``."""
    inputs, x = common.image_input(hp["input_shape"],
                                   *common.input_stats(stem, hp["mean"], hp["std"]))
    x = stem_layers(x)
    rates = common.drop_rates(sum(stages), hp["drop_rate"], hp["drop_schedule"])
    index = 0
    for s, (blocks, stride) in enumerate(zip(stages, strides, strict=True)):
        for b in range(blocks):
            x = block(x, Block(widths[index], stride if b == 0 else 1, index, rates[index],
                               common.seed_for(hp["seed"], index), hp["drop_mode"], hp["sync_bn"],
                               f"stage{s + 1}_block{b + 1}"))
            index += 1
    if final_preact:
        x = common.relu(common.bn(x, "final_bn", hp["sync_bn"]), "final_relu")
    return keras.Model(inputs, common.classifier(x, hp["num_classes"]), name=hp["name"])
