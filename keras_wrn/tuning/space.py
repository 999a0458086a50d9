"""Search spaces: per family, what matters (depth through blocks per stage, so every proposed
depth is valid, widening, bottleneck, stochastic depth, dropout, learning rate, weight decay),
as data a YAML/JSON file can override.

An entry is a list (a choice), a mapping with ``min``/``max`` (and optional ``step``,
``sampling: log``) for a range, or a single value (fixed).
"""

from __future__ import annotations

from typing import Any

import keras_tuner as kt

from keras_wrn.models import registry

COMMON = {
    "drop_rate": {"min": 0.0, "max": 0.5, "step": 0.1},
    "drop_mode": ["batch", "sample"],
    "lr": {"min": 0.02, "max": 0.5, "sampling": "log"},
    "weight_decay": {"min": 1e-5, "max": 1e-3, "sampling": "log"},
}


def default_space(family: str) -> dict[str, Any]:
    """The family's own entries (from its record) and the common ones."""
    return {**registry.get_family(family).space, **COMMON}


TRAINING_KEYS = ("lr", "weight_decay")


class SpaceError(ValueError):
    """A search space is invalid; one line that names the fix."""


def allowed_keys(family: str) -> set[str]:
    model_keys = set(registry.hyperparameters(family)) - {"num_classes", "input_shape", "depth",
                                                         "mean", "std", "seed", "sync_bn"}
    return model_keys | {"blocks_per_stage", *TRAINING_KEYS}


def load_space(family: str, path: str | None = None) -> dict[str, Any]:
    """The family's default space, with the entries of a YAML/JSON file replacing its own."""
    space = default_space(family)
    if path:
        from keras_wrn.training.config import ConfigError, read_mapping

        try:
            space.update(read_mapping(path))
        except ConfigError as err:
            raise SpaceError(str(err).replace("config file", "search-space file")) from None
    unknown = sorted(set(space) - allowed_keys(family))
    if unknown:
        raise SpaceError(f"search space of {family}: unknown key(s) {', '.join(unknown)}; "
                         f"allowed: {', '.join(sorted(allowed_keys(family)))}.")
    declare(space, kt.HyperParameters())  # validates every entry
    return space


def declare(space: dict[str, Any], hp: kt.HyperParameters) -> kt.HyperParameters:
    """Declares each entry as a keras-tuner hyperparameter."""
    for name, spec in space.items():
        try:
            if isinstance(spec, list):
                if not spec:
                    raise ValueError("an empty list")
                hp.Choice(name, spec)
            elif isinstance(spec, dict):
                low, high = spec["min"], spec["max"]
                if low > high:
                    raise ValueError(f"min {low} > max {high}")
                extra = set(spec) - {"min", "max", "step", "sampling"}
                if extra:
                    raise ValueError(f"unknown field(s) {', '.join(sorted(extra))}")
                sampling = spec.get("sampling", "linear")
                if all(isinstance(v, int) and not isinstance(v, bool) for v in (low, high)):
                    hp.Int(name, low, high, step=spec.get("step", 1), sampling=sampling)
                else:
                    hp.Float(name, float(low), float(high), step=spec.get("step"),
                             sampling=sampling)
            else:
                hp.Fixed(name, spec)
        except (KeyError, ValueError, TypeError) as err:
            raise SpaceError(f"search-space entry {name!r}: {err}; use a list, a mapping with "
                             f"min/max[/step/sampling], or one value.") from None
    return hp


BOOL_KEYS = ("bottleneck", "multiplicative")


def to_overrides(family: str, values: dict[str, Any]) -> dict[str, Any]:
    """Trial hyperparameter values -> configuration keys (keras-tuner's own ``tuner/...``
    entries, Hyperband's budget, left out)."""
    overrides = {k: v for k, v in values.items()
                 if k != "blocks_per_stage" and not k.startswith("tuner/")}
    # keras-tuner returns a Choice of booleans as 0 and 1; the configuration takes booleans.
    overrides.update({k: bool(overrides[k]) for k in BOOL_KEYS if k in overrides})
    if "blocks_per_stage" in values:
        overrides["depth"] = registry.get_family(family).depth_rule.depth(
            values["blocks_per_stage"], bool(values.get("bottleneck")))
    return overrides



def smallest_corners(space: dict[str, Any]) -> list[dict[str, Any]]:
    """The space's smallest configurations: every numeric entry at its minimum, one corner per
    combination of the non-numeric choices (bottleneck or not, ...). Parameters grow with depth,
    width and alpha in every family, so the smallest model of the space is among these."""
    fixed, choices = {}, [{}]
    for name, spec in space.items():
        if isinstance(spec, dict):
            fixed[name] = spec["min"]
        elif all(isinstance(v, int | float) and not isinstance(v, bool) for v in spec):
            fixed[name] = min(spec)
        else:
            choices = [{**corner, name: option} for corner in choices for option in spec]
    return [{**fixed, **corner} for corner in choices]
