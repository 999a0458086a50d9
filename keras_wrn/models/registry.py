"""`build_model(name)` over the families and the named presets, timm-style."""

from __future__ import annotations

import difflib
import fnmatch
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import keras

from keras_wrn.models.preact_resnet import build_preact_resnet
from keras_wrn.models.presets import PRESETS
from keras_wrn.models.pyramidnet import build_pyramidnet
from keras_wrn.models.resnet import build_resnet
from keras_wrn.models.wrn import build_wrn

# family -> (builder, defaults the user may override, values fixed by the family)
FAMILIES: dict[str, tuple[Callable[..., keras.Model], dict[str, Any], dict[str, Any]]] = {
    "resnet": (build_resnet, {}, {}),
    "preact_resnet": (build_preact_resnet, {}, {}),
    "wrn": (build_wrn, {}, {}),
    "pyramidnet": (build_pyramidnet, {}, {"separated": False}),
    "pyramiddrop": (build_pyramidnet, {"drop_rate": 0.5}, {"separated": False}),
    "pyramidsepdrop": (build_pyramidnet, {"drop_rate": 0.5}, {"separated": True}),
}
DEFAULT_NUM_CLASSES = 10
DEFAULT_INPUT_SHAPE = (32, 32, 3)


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
    builder, _, fixed = FAMILIES[family]
    return [p for p in inspect.signature(builder).parameters if p not in fixed and p != "name"]


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


def build_model(name: str, *, num_classes: int | None = None,
                input_shape: Sequence[int] | None = None, **hparams: Any) -> keras.Model:
    """Builds a family (hyperparameters as keywords) or a preset (keywords override it).

    ``num_classes`` defaults to the preset's (1000 for ImageNet presets) or 10; ``input_shape``
    to the preset's or (32, 32, 3). Models take raw 0-255 RGB pixels and return logits.
    """
    family, values = resolve(name, num_classes=num_classes, input_shape=input_shape, **hparams)
    builder, defaults, fixed = FAMILIES[family]
    kwargs = {**defaults, **values, **fixed, "name": _model_name(name)}
    try:
        return builder(**kwargs)
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None


def _model_name(name: str) -> str:
    return name.replace("-", "_")


def _unknown(name: str) -> str:
    choices = list(FAMILIES) + list(PRESETS)
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (f"unknown model {name!r}.{hint} Families: {', '.join(sorted(FAMILIES))}; "
            f"presets: keras_wrn.list_models().")
