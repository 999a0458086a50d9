"""XLA fusion of the training step's elementwise work (batch norm, ReLU, residual adds, the
optimizer's updates) while convolutions and matmuls stay with oneDNN: TensorFlow's
auto-clustering, limited to the ops XLA knows how to fuse.

Compiling the whole step with XLA (``--jit-compile``) halves the speed on this project's CPU,
because XLA's CPU convolutions are slower than oneDNN's. Fusing only the memory-bound ops saves
passes over the activations, which is what narrow networks such as PyramidNet spend their
non-conv time on. The price is compile time when the step first runs (seconds per model).
"""

from __future__ import annotations

import os

XLA_FUSION_FLAGS = ("--tf_xla_auto_jit=fusible", "--tf_xla_cpu_global_jit")


def enable_xla_fusion() -> None:
    """Adds :data:`XLA_FUSION_FLAGS` to ``TF_XLA_FLAGS``, keeping any flag the user set there.
    TensorFlow reads the variable once, when it initialises its devices or optimises its first
    graph, so call this before either: the apps call it before creating the strategy."""
    flags = os.environ.get("TF_XLA_FLAGS", "").split()
    names = {flag.split("=")[0] for flag in flags}
    flags += [flag for flag in XLA_FUSION_FLAGS if flag.split("=")[0] not in names]
    os.environ["TF_XLA_FLAGS"] = " ".join(flags)


def xla_fusion_applies(cpu_devices: int) -> bool:
    """False when the run splits the CPU into ``cpu_devices`` > 1 logical devices: auto-clustering
    then fails ("Multiple CPU devices"). Decided from the configuration because the flags must be
    set before TensorFlow initialises its devices, which is when it reads them."""
    return cpu_devices <= 1


def use_xla_fusion(requested: bool, cpu_devices: int) -> bool:
    """Turns fusion on when ``requested`` and it applies; returns whether it is on. The apps call
    this right after resolving their configuration, before creating the strategy."""
    on = requested and xla_fusion_applies(cpu_devices)
    if on:
        enable_xla_fusion()
    return on
