"""Reading PyTorch checkpoints as NumPy arrays; torch is imported here only (the `convert`
extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


class WeightsError(ValueError):
    """A checkpoint cannot be read or does not fit the model; one line that names the key."""


def _unwrap(checkpoint: Any) -> dict[str, Any]:
    """The tensors of a checkpoint: a state dict, or one under ``state_dict`` (the PyramidNet,
    akamaster and D-X-Y training scripts), ``model`` or ``net`` (other training scripts' beside
    their epoch and accuracy) or ``params`` (+ ``stats``: the WRN authors' functional code)."""
    if not isinstance(checkpoint, dict):
        raise WeightsError(f"the checkpoint holds a {type(checkpoint).__name__}, not a state "
                           f"dict; save model.state_dict().")
    for key in ("state_dict", "model", "net"):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    if isinstance(checkpoint.get("params"), dict):
        return {**checkpoint["params"], **(checkpoint.get("stats") or {})}
    return checkpoint


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """``path``'s tensors by name as float32 arrays, loaded with ``weights_only=True`` (no code
    from the file runs). DataParallel's ``module.`` prefix and batch-norm step counters are
    dropped."""
    try:
        import torch
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError("torch is needed to read PyTorch checkpoints",
                                  name="torch") from err
    if not Path(path).is_file():
        raise WeightsError(f"no checkpoint at {path}; pass a .pth/.pt file.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch's own errors
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise WeightsError(f"cannot read {path} as a PyTorch checkpoint: {message}") from None
    state = {}
    for key, value in _unwrap(checkpoint).items():
        if key.endswith("num_batches_tracked") or not hasattr(value, "numpy"):
            continue
        state[key.removeprefix("module.")] = value.detach().float().numpy()
    return state
