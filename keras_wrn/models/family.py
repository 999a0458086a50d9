"""The record a model family declares about itself, and the table the records register in.

A family's module holds everything about it (builder, depth rule, hyperparameters with their
types and ranges, presets, recipes, tuning space, PyTorch layouts) and registers its records
with `register`; the registry, recipes, tuning space, weights and configuration read them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from keras_wrn.core import lazy
from keras_wrn.models.depth import CifarDepth

keras = lazy.module("keras")


@dataclasses.dataclass(frozen=True)
class Hparam:
    """One hyperparameter: default, type, range, help; ``flag`` makes it a training option."""

    name: str
    default: Any
    help: str
    type: type | None = None  # None: the default's type
    low: float | None = None  # inclusive
    high: float | None = None  # inclusive
    below: float | None = None  # exclusive upper bound
    choices: tuple[str, ...] = ()
    why: str = ""  # the reason for the range, in the error
    flag: bool = False

    @property
    def kind(self) -> type:
        return self.type or type(self.default)

    def check(self, value: Any) -> None:
        """Raises ValueError naming the range when ``value`` is outside it (None passes)."""
        if value is None:
            return
        if self.choices and value not in self.choices:
            raise ValueError(f"{self.name} must be one of {', '.join(self.choices)}; "
                             f"got {value!r}.")
        inside = ((self.low is None or value >= self.low)
                  and (self.high is None or value <= self.high)
                  and (self.below is None or value < self.below))
        if not inside:
            raise ValueError(f"{self.name} must be {self.range_text()}, got {value}.")

    def range_text(self) -> str:
        what = "an integer in" if self.kind is int else "in"
        why = f" ({self.why})" if self.why else ""
        if self.high is None and self.below is None:
            return f">= {self.low:g}{why}"
        end = f"{self.high:g}]" if self.below is None else f"{self.below:g})"
        return f"{what} [{self.low:g}, {end}{why}"


@dataclasses.dataclass(frozen=True)
class Family:
    """Everything the toolkit knows about one model family."""

    name: str
    build: Callable[[dict[str, Any]], keras.Model]  # every hyperparameter resolved -> model
    layout: Callable[..., Any]  # the family's own hyperparameters -> ValueError if impossible
    hparams: tuple[Hparam, ...]  # the family's own; the common ones are in models.stages
    depth_rule: CifarDepth
    recipe: str  # the default recipe (CIFAR stem)
    imagenet_recipe: str | None = None  # the default recipe with the ImageNet stem
    recipes: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    space: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # tuning, own keys
    # stem -> names of the PyTorch layouts its checkpoints come in (keras_wrn.weights.LAYOUTS)
    torch_layouts: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    presets: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # over the hparams'
    fixed: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # not the user's to set


FAMILIES: dict[str, Family] = {}


def register(*families: Family) -> None:
    """Adds families to the registry; a name registered twice is a programming error."""
    for family in families:
        if family.name in FAMILIES:
            raise ValueError(f"model family {family.name!r} is registered already.")
        FAMILIES[family.name] = family


class Collected(Mapping[str, Any]):
    """A read-only table gathered from the registered families at each access, so a family
    registered later (a plug-in's, a test's) is in it."""

    def __init__(self, collect: Callable[[], dict[str, Any]]) -> None:
        self._collect = collect

    def __getitem__(self, name: str) -> Any:
        return self._collect()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._collect())

    def __len__(self) -> int:
        return len(self._collect())
