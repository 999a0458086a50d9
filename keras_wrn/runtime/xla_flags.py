"""XLA auto-clustering of the training step's elementwise work (batch norm, ReLU, residual adds,
the optimizer's updates) while convolutions and matmuls stay with oneDNN: TensorFlow's
auto-clustering limited to the ops XLA knows how to fuse, set through ``TF_XLA_FLAGS``.

On a CPU, compiling the whole step with XLA (``jit_compile``) halves the speed, because XLA's
CPU convolutions are slower than oneDNN's; fusing only the memory-bound ops saves passes over
the activations. The flags are process-wide and apply to every device, so the runtime plan
turns them on for one CPU replica only.
"""

from __future__ import annotations

import os
from pathlib import Path

from keras_wrn.runtime.xla_cache import CACHE_FLAG

XLA_FUSION_FLAGS = ("--tf_xla_auto_jit=fusible", "--tf_xla_cpu_global_jit")


def enable_xla_fusion(cache: Path | None = None) -> None:
    """Adds :data:`XLA_FUSION_FLAGS` to ``TF_XLA_FLAGS``, and the persistent cache in ``cache``,
    keeping any flag the user set there. TensorFlow reads the variable once, when it first lists
    or initialises its devices or optimises its first graph, so this must run before any of
    those."""
    flags = os.environ.get("TF_XLA_FLAGS", "").split()
    names = {flag.split("=")[0] for flag in flags}
    wanted = XLA_FUSION_FLAGS + ((f"{CACHE_FLAG}={cache}",) if cache else ())
    flags += [flag for flag in wanted if flag.split("=")[0] not in names]
    os.environ["TF_XLA_FLAGS"] = " ".join(flags)


def xla_fusion_enabled() -> bool:
    """Whether ``TF_XLA_FLAGS`` holds the fusion flags (as this process's TensorFlow read them,
    if it set them before starting)."""
    flags = set(os.environ.get("TF_XLA_FLAGS", "").split())
    return all(flag in flags for flag in XLA_FUSION_FLAGS)
