"""What the run can use: the GPUs TensorFlow sees (with their compute capability), the workers
of its cluster (TF_CONFIG's or a Slurm job's) and the logical CPU devices asked for."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Gpu:
    """One visible GPU: its TensorFlow name and compute capability (major, minor)."""

    name: str
    compute_capability: tuple[int, int] | None = None


@dataclasses.dataclass(frozen=True)
class Devices:
    """The devices a run's plan is resolved from (tests build these by hand)."""

    gpus: tuple[Gpu, ...] = ()
    workers: int = 1
    cpu_devices: int = 0

    @property
    def min_compute_capability(self) -> tuple[int, int] | None:
        """The oldest visible GPU's capability, which bounds what the replicas can all run."""
        known = [gpu.compute_capability for gpu in self.gpus if gpu.compute_capability]
        return min(known) if known else None


def gpu_driver_present() -> bool:
    """Whether an NVIDIA driver shows GPUs to this process, read without TensorFlow: listing
    TensorFlow's devices makes it read TF_XLA_FLAGS, which the plan must decide first."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in ("", "-1"):
        return False
    proc = Path("/proc/driver/nvidia/gpus")
    return (proc.is_dir() and any(proc.iterdir())) or any(Path("/dev").glob("nvidia[0-9]*"))


def detect(cpu_devices: int = 0, cluster: str = "auto") -> Devices:
    """The GPUs TensorFlow sees, the workers of the ``cluster`` choice (``--cluster``) and
    ``cpu_devices``. Lists TensorFlow's physical devices, which initialises nothing but makes
    TensorFlow read its XLA flags."""
    import tensorflow as tf

    from keras_wrn.runtime.cluster import workers_in_cluster

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(device).get("compute_capability")
        gpus.append(Gpu(device.name, tuple(capability) if capability else None))
    return Devices(tuple(gpus), workers_in_cluster(cluster), cpu_devices)
