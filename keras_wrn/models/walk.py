"""Walking a built model's leaf layers, nested models and residual branches opened."""

from __future__ import annotations

from collections.abc import Iterator

import keras


def leaf_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of ``model`` in graph order, nested models and residual branches opened."""
    for layer in model.layers:
        inner = layer if isinstance(layer, keras.Model) else getattr(layer, "branch", None)
        if isinstance(inner, keras.Model):
            yield from leaf_layers(inner)
        else:
            yield layer
