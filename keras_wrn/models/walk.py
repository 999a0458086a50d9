"""Walking a built model's leaf layers, nested models and residual branches opened."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from keras_wrn.core import lazy

keras = lazy.module("keras")



def leaf_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of ``model`` in graph order, nested models and residual branches opened."""
    for layer in model.layers:
        inner = layer if isinstance(layer, keras.Model) else getattr(layer, "branch", None)
        if isinstance(inner, keras.Model):
            yield from leaf_layers(inner)
        else:
            yield layer


def chosen_layers(model: keras.Model,
                  keep: Callable[[keras.layers.Layer], bool]) -> list[keras.layers.Layer]:
    """The leaf layers of ``model`` that ``keep`` accepts, each once (a shared layer is
    walked once per use), in graph order."""
    chosen = {id(layer): layer for layer in leaf_layers(model) if keep(layer)}
    return list(chosen.values())
