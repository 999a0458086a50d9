"""The runtime of a run: its plan (device, precision, XLA, strategy, CPU kernels) and the
`tf.distribute` strategy that carries it out. Apps call :func:`start` once, first."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from keras_wrn.runtime.devices import Devices, Gpu, detect, gpu_driver_present
from keras_wrn.runtime.plan import (
    ALL_REDUCES,
    PRECISIONS,
    STRATEGIES,
    PlanError,
    RuntimePlan,
    RuntimeRequest,
    resolve_plan,
)
from keras_wrn.runtime.xla_cache import open_cache
from keras_wrn.runtime.xla_flags import enable_xla_fusion, xla_fusion_enabled


def preplan(request: RuntimeRequest, steps: int | None = None,
            batch_size: int | None = None) -> RuntimePlan:
    """The plan as far as it can be known before TensorFlow lists its devices (from the GPU
    driver and the cluster, TF_CONFIG's or a Slurm job's): what decides the process-wide XLA
    flags."""
    from keras_wrn.runtime.cluster import workers_in_cluster  # imports TensorFlow

    driver_gpus = (Gpu("driver"),) if gpu_driver_present() else ()
    return resolve_plan(request, Devices(driver_gpus, workers_in_cluster(request.cluster),
                                         request.cpu_devices), steps, batch_size)


def start(request: RuntimeRequest, require_gpu: bool = False,
          warn: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
          steps: int | None = None, batch_size: int | None = None) -> tuple[RuntimePlan, Any]:
    """Resolves the plan for a run of ``steps`` training steps (None: a long one) at global
    ``batch_size`` and creates its strategy. Must run before TensorFlow lists or uses its
    devices: the XLA flags are set from :func:`preplan`, then the plan is resolved from the
    GPUs TensorFlow sees. Raises PlanError for impossible requests."""
    expected = preplan(request, steps, batch_size)
    cache = None
    if expected.xla_fusion:
        cache = open_cache(request.xla_cache, warn)
        enable_xla_fusion(cache)
    devices = detect(request.cpu_devices, request.cluster)
    if require_gpu and not devices.gpus:
        raise PlanError("--require-gpu: TensorFlow sees no GPU; install with "
                        "requirements-gpu.txt (TensorFlow with its CUDA libraries) and check "
                        "nvidia-smi and CUDA_VISIBLE_DEVICES.")
    if expected.device == "gpu" and not devices.gpus:
        warn("warning: the NVIDIA driver shows GPUs but TensorFlow sees none, so this run "
             "trains on the CPU; install with requirements-gpu.txt (--require-gpu stops here).")
    plan = dataclasses.replace(resolve_plan(request, devices, steps, batch_size),
                               xla_fusion=expected.xla_fusion,
                               xla_cache=str(cache) if cache else None)
    from keras_wrn.runtime.strategy import make_strategy

    return plan, make_strategy(plan, request.cpu_devices, cluster=request.cluster)


def current_plan(request: RuntimeRequest, steps: int | None = None,
                 batch_size: int | None = None) -> RuntimePlan:
    """The plan in a process whose TensorFlow has started: XLA fusion is on only if its flags
    were set before (as :func:`start` does)."""
    plan = resolve_plan(request, detect(request.cpu_devices, request.cluster), steps,
                        batch_size)
    return dataclasses.replace(plan, xla_fusion=plan.xla_fusion and xla_fusion_enabled())


def environment() -> dict[str, Any]:
    """TensorFlow's build (CUDA, cuDNN) and the devices it runs on, for ``run.json``."""
    import keras
    import tensorflow as tf

    build = tf.sysconfig.get_build_info()
    return {
        "tensorflow": tf.__version__, "keras": keras.__version__,
        "cuda_build": bool(build.get("is_cuda_build")),
        "cuda": build.get("cuda_version"), "cudnn": build.get("cudnn_version"),
        "devices": [d.name for d in tf.config.list_logical_devices()
                    if d.device_type in ("CPU", "GPU")],
        "gpu_names": [tf.config.experimental.get_device_details(d).get("device_name", d.name)
                      for d in tf.config.list_physical_devices("GPU")],
    }


__all__ = ["ALL_REDUCES", "PRECISIONS", "STRATEGIES", "Devices", "Gpu", "PlanError",
           "RuntimePlan", "RuntimeRequest", "current_plan", "environment", "preplan",
           "resolve_plan", "start"]
