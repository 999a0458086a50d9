"""`build_model(name)` over the families and the named presets, timm-style."""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import inspect
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from keras_wrn.core import lazy

# The families' modules register their records on import.
from keras_wrn.models import preact_resnet, pyramidnet, resnet, wrn  # noqa: F401
from keras_wrn.models.family import FAMILIES, Collected, Family, Hparam
from keras_wrn.models.stages import COMMON

keras = lazy.module("keras")


DEFAULT_NUM_CLASSES = 10
DEFAULT_INPUT_SHAPE = (32, 32, 3)


def _presets() -> dict[str, dict[str, Any]]:
    return {name: {"family": f.name, **record} for f in FAMILIES.values()
            for name, record in f.presets.items()}


# Every registered family's presets by name, each with its ``family``.
PRESETS: Mapping[str, dict[str, Any]] = Collected(_presets)


def get_family(name: str) -> Family:
    """The record of a registered family; ValueError naming the families for another name."""
    if name not in FAMILIES:
        raise ValueError(_unknown(name))
    return FAMILIES[name]


def hparams_of(name: str) -> dict[str, Hparam]:
    """The hyperparameters a family's builder receives, its own and the common ones, by name."""
    return {h.name: h for h in (*FAMILIES[name].hparams, *COMMON)}


def list_families() -> list[str]:
    """Names of the model families (each takes hyperparameters as keywords)."""
    return sorted(FAMILIES)


def list_models(pattern: str = "*") -> list[str]:
    """Names of the presets matching a shell-style ``pattern``, e.g. ``"pyramid*"``."""
    return sorted(n for n in PRESETS if fnmatch.fnmatch(n, pattern))


def get_preset(name: str) -> dict[str, Any]:
    """A copy of a preset's record: family, hyperparameters, source paper, published numbers."""
    if name not in PRESETS:
        raise ValueError(_unknown(name))
    return {key: (dict(value) if isinstance(value, dict) else value)
            for key, value in PRESETS[name].items()}


def hyperparameters(family: str) -> list[str]:
    """Keywords a family accepts."""
    return [name for name in hparams_of(family) if name not in FAMILIES[family].fixed]


def resolve(name: str, **hparams: Any) -> tuple[str, dict[str, Any]]:
    """Family and full keyword set that ``name`` plus overrides stand for (no model is built)."""
    if name in PRESETS:
        preset = PRESETS[name]
        family, values = preset["family"], dict(preset["hparams"])
    elif name in FAMILIES:
        family, values = name, {}
    else:
        raise ValueError(_unknown(name))
    values.update({k: v for k, v in hparams.items() if v is not None})
    allowed = hyperparameters(family)
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(
            f"{name}: unknown hyperparameter(s) {', '.join(unknown)}; "
            f"{family} takes {', '.join(allowed)}."
        )
    values.setdefault("num_classes", DEFAULT_NUM_CLASSES)
    values.setdefault("input_shape", DEFAULT_INPUT_SHAPE)
    return family, values


def _builder_kwargs(name: str, **hparams: Any) -> tuple[str, dict[str, Any]]:
    family, values = resolve(name, **hparams)
    record = FAMILIES[family]
    defaults = {h.name: h.default for h in hparams_of(family).values()}
    return family, {**defaults, **record.defaults, **values, **record.fixed,
                    "name": _model_name(name)}


def check(name: str, **hparams: Any) -> None:
    """Raises the ValueError `build_model` would raise, without building anything (fast)."""
    _checked_kwargs(name, **hparams)


def _checked_kwargs(name: str, **hparams: Any) -> tuple[str, dict[str, Any]]:
    """The family and builder keywords of ``name``, each hyperparameter within its range and
    the layout possible; ValueError naming ``name`` otherwise."""
    family, kwargs = _builder_kwargs(name, **hparams)
    layout = FAMILIES[family].layout
    try:
        for hparam in hparams_of(family).values():
            hparam.check(kwargs[hparam.name])
        layout(**{k: kwargs[k] for k in inspect.signature(layout).parameters})
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    return family, kwargs


@contextlib.contextmanager
def deep_graphs(depth: int = 2000) -> Iterator[None]:
    """Room for Keras to walk a functional graph of ``depth`` layers: it recurses once per node
    of the longest path (``Functional._build_map_helper``), so ResNet-1202 overflows Python's
    default limit of 1,000 frames wherever TensorFlow has not raised it. The limit is restored
    afterwards."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, 4 * depth + 1000))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def build_model(name: str, *, num_classes: int | None = None,
                input_shape: Sequence[int] | None = None,
                weights: str | Mapping[str, Any] | None = None,
                weights_layout: str | None = None, **hparams: Any) -> keras.Model:
    """Builds a family (hyperparameters as keywords) or a preset (keywords override it).

    ``num_classes`` defaults to the preset's (1000 for ImageNet presets) or 10; ``input_shape``
    to the preset's or (32, 32, 3). Models take raw 0-255 RGB pixels and return logits.
    ``weights``: a PyTorch checkpoint (a path, or its arrays from
    ``keras_wrn.weights.read_state_dict``) in one of the family's layouts, detected from its
    keys unless ``weights_layout`` names it; the layout and classifier then set the network's
    options (e.g. ResNet's ``shortcut``), ``num_classes`` and the input mean/std unless given.
    """
    state = layout = None
    if weights is not None:
        from keras_wrn.weights import WeightsError, layout_for, read_state_dict

        family, values = resolve(name, **hparams)
        state = weights if isinstance(weights, Mapping) else read_state_dict(weights)
        layout = layout_for(family, values.get("stem", "cifar"), state, weights_layout)
        implied = layout.implied(state)
        for key, value in layout.hparams.items():
            if values.get(key) not in (None, value):
                raise WeightsError(f"{name}: the network of {layout.name} checkpoints has "
                                   f"{key} {value!r}, not {values[key]!r}.")
        if num_classes is None:
            num_classes = implied.get("num_classes")
        hparams = {**implied, **{k: v for k, v in hparams.items() if v is not None}}
        hparams.pop("num_classes", None)
    family, kwargs = _checked_kwargs(name, num_classes=num_classes, input_shape=input_shape,
                                     **hparams)
    try:
        with deep_graphs(int(kwargs.get("depth") or 0)):
            model = FAMILIES[family].build(kwargs)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None
    if state is not None:
        from keras_wrn.weights import load_torch_state

        load_torch_state(model, state, layout)
    return model


def _model_name(name: str) -> str:
    return name.replace("-", "_")


def _unknown(name: str) -> str:
    choices = list(FAMILIES) + list(PRESETS)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (f"unknown model {name!r}.{hint} Families: {', '.join(sorted(FAMILIES))}; "
            f"presets: keras_wrn.list_models().")
