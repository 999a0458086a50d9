"""The record of a preset, a named configuration of a published network (each family's module
holds its presets as data).

Each record: ``family`` (added by the registry) and ``hparams`` (what `build_model` is called
with), ``source`` (the paper and the table its architecture and parameter count come from),
``params`` (trainable parameters of the authors' reference implementation, exact),
``total_params`` (every weight of the built model, `count_params()`: the trainable ones plus
batch normalisation's moving means and variances), and
``published``: the paper's rounded parameter count in millions, the test error rates in percent,
and ``errors_source``, where those error rates are printed (a paper's table or the authors'
repository) and with which preprocessing. keras_wrn normalises by the per-channel mean and
standard deviation, so where the authors report both, the mean/std figures are the ones given.
"""

from __future__ import annotations

from typing import Any

# The hyperparameters an ImageNet preset adds to its family's.
IMAGENET = {"num_classes": 1000, "input_shape": (224, 224, 3), "stem": "imagenet"}


def published(params_m: float, errors_source: str | None = None,
              **errors: float | None) -> dict[str, Any]:
    """The paper's rounded parameter count in millions and its error rates, with their source."""
    return {"params_m": params_m, **errors,
            "errors_source": errors_source if errors else None}


def preset(source: str, params: int, published: dict[str, Any], *,
           total_params: int | None = None, **hparams: Any) -> dict[str, Any]:
    """A preset's record (its family's module registers it under its name): ``params`` trainable,
    ``total_params`` all weights (None: not recorded; every built-in preset records it)."""
    return {"hparams": hparams, "source": source, "params": params,
            "total_params": total_params, "published": published}
