"""tf.distribute's GPU code paths, run on logical CPU devices.

MirroredStrategy and MultiWorkerMirroredStrategy decide their GPU-only behaviour from the
device type of their replicas (``_is_gpu_device`` in mirrored_run, mirrored_strategy and
collective_all_reduce_strategy): on GPUs a ``jit_compile`` function handed to ``strategy.run``
runs on every replica without merge_call, and replica-context all-reduces inside XLA go through
collectives. :func:`force_gpu_paths` makes those predicates true over a CPU split into logical
devices, gives MultiWorkerMirrored a worker's logical CPUs as its local replicas (as it takes a
worker's GPUs), and makes keras_wrn's device detection report that many GPUs of compute
capability 8.0, so that the runtime plan is the default plan of a GPU machine.

Run as a launcher, it does that and then runs an app as ``python apps/APP.py`` would:

    python tests/gpu_paths.py --gpus 2 apps/train.py --arch resnet-8 ...

What this cannot show: NCCL, cuDNN and XLA's GPU kernels, GPU memory, TF32 (docs/design.md).
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

COMPUTE_CAPABILITY = (8, 0)
ROOT = Path(__file__).resolve().parents[1]


def force_gpu_paths(gpus: int) -> None:
    """Splits the CPU into ``gpus`` logical devices and makes tf.distribute and keras_wrn treat
    them as GPUs. Must run before TensorFlow initialises its devices."""
    from tensorflow.python.distribute import (
        collective_all_reduce_strategy,
        mirrored_run,
        mirrored_strategy,
    )

    import keras_wrn.runtime
    import keras_wrn.runtime.devices
    from keras_wrn.runtime.cluster import workers_in_cluster
    from keras_wrn.runtime.strategy import split_cpu

    if gpus > 1:
        split_cpu(gpus)

    def is_gpu_device(device: str) -> bool:
        return True

    for module in (mirrored_run, mirrored_strategy, collective_all_reduce_strategy):
        module._is_gpu_device = is_gpu_device

    def local_devices(self, cluster_resolver, worker_device):
        return tuple(f"{worker_device}/device:CPU:{i}" for i in range(gpus)), "CPU"

    collective_all_reduce_strategy.CollectiveAllReduceExtended._initialize_local_devices = \
        local_devices

    fake = tuple(keras_wrn.runtime.devices.Gpu(f"/physical_device:GPU:{i}", COMPUTE_CAPABILITY)
                 for i in range(gpus))

    def detect(cpu_devices: int = 0, cluster: str = "auto") -> keras_wrn.runtime.devices.Devices:
        return keras_wrn.runtime.devices.Devices(fake, workers_in_cluster(cluster), cpu_devices)

    keras_wrn.runtime.devices.detect = detect
    keras_wrn.runtime.detect = detect


def main(argv: list[str]) -> None:
    """``--gpus N APP ARGS...``: runs ``APP`` (a path) with ``ARGS`` on N forced GPUs."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")  # as apps/_app.py, before TensorFlow
    if len(argv) < 3 or argv[0] != "--gpus":
        raise SystemExit("usage: gpu_paths.py --gpus N apps/APP.py [ARGS...]")
    force_gpu_paths(int(argv[1]))
    app = Path(argv[2]).resolve()
    sys.argv = [str(app), *argv[3:]]
    sys.path.insert(0, str(app.parent))
    runpy.run_path(str(app), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
