"""Swapping an attribute of some layers for the length of a block: how the training step's graph
gets its kernels (Winograd convolutions, oneDNN batch-norm sums) while the model keeps plain
Keras layers for evaluation, checkpoints and exports."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import keras


@contextlib.contextmanager
def swapped(layers: Sequence[keras.layers.Layer], attribute: str,
            replacement: Callable[[keras.layers.Layer], Any]) -> Iterator[None]:
    """Within the block, each layer's ``attribute`` is ``replacement(layer)``, set on the
    instance; afterwards the layer's own attribute is back."""
    saved = {id(layer): (layer, vars(layer).get(attribute)) for layer in layers}
    for layer, _ in saved.values():
        setattr(layer, attribute, replacement(layer))
    try:
        yield
    finally:
        for layer, own in saved.values():
            if own is None:
                delattr(layer, attribute)
            else:
                setattr(layer, attribute, own)
