"""`build_model(name)` over the families and the named presets, timm-style."""

from __future__ import annotations

import contextlib
import difflib
import fnmatch
import inspect
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras

from keras_wrn.models import common, preact_resnet, pyramidnet, resnet, wrn
from keras_wrn.models.presets import PRESETS

# family -> (builder, defaults the user may override, values fixed by the family)
FAMILIES: dict[str, tuple[Callable[..., keras.Model], dict[str, Any], dict[str, Any]]] = {
    "resnet": (resnet.build_resnet, {}, {}),
    "preact_resnet": (preact_resnet.build_preact_resnet, {}, {}),
    "wrn": (wrn.build_wrn, {}, {}),
    "pyramidnet": (pyramidnet.build_pyramidnet, {}, {"separated": False}),
    "pyramiddrop": (pyramidnet.build_pyramidnet, {"drop_rate": 0.5}, {"separated": False}),
    "pyramidsepdrop": (pyramidnet.build_pyramidnet, {"drop_rate": 0.5}, {"separated": True}),
}
# The modules' layout functions validate a configuration without building it.
LAYOUTS: dict[str, Callable[..., Any]] = {
    "resnet": resnet.layout,
    "preact_resnet": preact_resnet.layout,
    "wrn": wrn.layout,
    "pyramidnet": pyramidnet.layout,
    "pyramiddrop": pyramidnet.layout,
    "pyramidsepdrop": pyramidnet.layout,
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


def _builder_kwargs(name: str, **hparams: Any) -> tuple[str, dict[str, Any]]:
    family, values = resolve(name, **hparams)
    builder, defaults, fixed = FAMILIES[family]
    signature_defaults = {k: p.default for k, p in inspect.signature(builder).parameters.items()}
    return family, {**signature_defaults, **defaults, **values, **fixed, "name": _model_name(name)}


def check(name: str, **hparams: Any) -> None:
    """Raises the ValueError `build_model` would raise, without building anything (fast)."""
    family, kwargs = _builder_kwargs(name, **hparams)
    layout = LAYOUTS[family]
    try:
        common.check_common(kwargs["num_classes"], kwargs["drop_rate"], kwargs["drop_mode"],
                            kwargs["drop_schedule"])
        layout(**{k: kwargs[k] for k in inspect.signature(layout).parameters})
    except ValueError as err:
        raise ValueError(f"{name}: {err}") from None


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
                input_shape: Sequence[int] | None = None, weights: str | None = None,
                **hparams: Any) -> keras.Model:
    """Builds a family (hyperparameters as keywords) or a preset (keywords override it).

    ``num_classes`` defaults to the preset's (1000 for ImageNet presets) or 10; ``input_shape``
    to the preset's or (32, 32, 3). Models take raw 0-255 RGB pixels and return logits.
    ``weights``: a PyTorch checkpoint in the authors' layout (``keras_wrn.weights``), whose
    classifier then sets ``num_classes`` unless it is given.
    """
    state = layout = None
    if weights is not None:
        from keras_wrn.weights import layout_for, read_state_dict

        family, values = resolve(name, **hparams)
        layout = layout_for(family, values.get("stem", "cifar"))
        state = read_state_dict(weights)
        classifier = state.get(layout.prefix("classifier") + ".weight")
        if num_classes is None and classifier is not None:
            num_classes = int(classifier.shape[0])
    family, kwargs = _builder_kwargs(name, num_classes=num_classes, input_shape=input_shape,
                                     **hparams)
    try:
        with deep_graphs(int(kwargs.get("depth") or 0)):
            model = FAMILIES[family][0](**kwargs)
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
