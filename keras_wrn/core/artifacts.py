"""Writing outputs atomically: a reader (or a crash) never sees a half-written file; the model
a run leaves for inference is float32, whatever precision trained it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras

from keras_wrn.models.registry import deep_graphs


def write_json(path: str | Path, obj: Any) -> None:
    """Writes JSON to a temporary file in the same folder, then renames it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def save_model(model: keras.Model, path: str | Path) -> None:
    """Saves a `.keras` file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    model.save(tmp)
    os.replace(tmp, path)


# The compute dtypes of the mixed policies: a mixed model's traced tensors (a nested model's
# inputs among them) carry these in its config.
HALF_DTYPES = ("bfloat16", "float16")


def save_inference_model(model: keras.Model, path: str | Path) -> None:
    """Saves ``model`` atomically as a float32 model: a bf16 or fp16 run's layers keep their
    mixed_* policies, and loaded as they are, evaluation, prediction and exports would compute
    in half precision. Mixed policies keep float32 weights, so the rebuilt model takes them
    as they are; a model float32 everywhere is saved unchanged."""
    config = keras.saving.serialize_keras_object(model)
    float32_config = _float32(config)
    if float32_config != config:
        weights = model.get_weights()
        with deep_graphs():  # Keras builds a functional graph recursively
            model = keras.saving.deserialize_keras_object(float32_config)
        model.set_weights(weights)
    save_model(model, path)


def _float32(config: Any) -> Any:
    """A serialized object with every mixed_* dtype policy made float32, and every tensor dtype
    that is a mixed policy's compute dtype (inputs of nested models) made float32; nested
    objects (a StochasticResidual's branch model) included."""
    if isinstance(config, list):
        return [_float32(item) for item in config]
    if not isinstance(config, dict):
        return config
    config = {key: _float32(value) for key, value in config.items()}
    if config.get("class_name") == "DTypePolicy" and \
            config["config"]["name"].startswith("mixed_"):
        return {**config, "config": {**config["config"], "name": "float32"}}
    if config.get("dtype") in HALF_DTYPES:
        config["dtype"] = "float32"
    return config
