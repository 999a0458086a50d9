"""Depth rules: how many residual blocks per stage a depth means, and the error for a depth
that no network of the family has."""

from __future__ import annotations

import dataclasses

# ImageNet stage layouts of He et al. 2015 (and Han et al. 2017 for depth 200).
IMAGENET_STAGES: dict[int, tuple[int, ...]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
    200: (3, 24, 36, 3),
}
IMAGENET_BOTTLENECK_MIN_DEPTH = 50


# The deepest network built: past the deepest published one (He et al.'s ResNet-1202) with
# room, and a graph Keras can still walk (registry.deep_graphs); deeper only hangs the build.
MAX_DEPTH = 2000


def cifar_blocks(depth: int, layers_per_block: int, extra: int) -> int:
    """Blocks per stage of a 3-stage CIFAR network of depth ``layers_per_block * 3 * n + extra``."""
    if depth > MAX_DEPTH:
        raise ValueError(f"depth {depth} is beyond {MAX_DEPTH} (the deepest published network, "
                         f"ResNet-1202, has 1202 layers).")
    step = 3 * layers_per_block
    if depth < step + extra or (depth - extra) % step:
        first = [step * n + extra for n in (1, 2, 3)]
        raise ValueError(
            f"depth {depth} is not {step}n+{extra} "
            f"(allowed: {', '.join(map(str, first))}, ...)."
        )
    return (depth - extra) // step


@dataclasses.dataclass(frozen=True)
class CifarDepth:
    """A family's 3-stage CIFAR depth rule, ``depth = 3 * layers * n + extra``, where ``layers``
    is the weighted layers of its basic (or bottleneck) block and ``n`` the blocks per stage."""

    basic: int
    bottleneck: int | None = None  # None: the family has no bottleneck block
    extra: int = 2

    def layers(self, bottleneck: bool) -> int:
        return self.bottleneck if bottleneck and self.bottleneck else self.basic

    def blocks(self, depth: int, bottleneck: bool = False) -> int:
        """Blocks per stage of ``depth``; ValueError naming the allowed depths."""
        return cifar_blocks(depth, self.layers(bottleneck), self.extra)

    def depth(self, blocks: int, bottleneck: bool = False) -> int:
        """The depth of ``blocks`` blocks per stage."""
        return 3 * self.layers(bottleneck) * blocks + self.extra


def imagenet_stages(depth: int) -> tuple[int, ...]:
    """Blocks per stage of an ImageNet network of the given depth."""
    if depth not in IMAGENET_STAGES:
        raise ValueError(
            f"ImageNet depth {depth} is not one of "
            f"{', '.join(map(str, IMAGENET_STAGES))}."
        )
    return IMAGENET_STAGES[depth]


def imagenet_bottleneck(depth: int, bottleneck: bool | None) -> bool:
    """ImageNet depth fixes the block type: basic below 50 layers, bottleneck from 50 on."""
    implied = depth >= IMAGENET_BOTTLENECK_MIN_DEPTH
    if bottleneck is not None and bool(bottleneck) != implied:
        kind = "bottleneck" if implied else "basic"
        raise ValueError(
            f"ImageNet depth {depth} uses {kind} blocks; leave bottleneck unset "
            f"or set it to {implied}."
        )
    return implied
