"""One runtime decision per run: device, strategy and collectives, precision, XLA, steps per
host call, and which CPU-only kernels the training step uses. Resolved once from what was asked
(:class:`RuntimeRequest`, ``None`` = decide) and what is visible (:class:`Devices`).

The CPU kernels (Winograd convolutions, oneDNN batch-norm sums, XLA auto-clustering of the
elementwise ops) were measured on CPUs only and stay off on GPUs, where cuDNN's convolutions and
fused batch norm win and whole-step XLA (``jit_compile``) is what GPUs want. Auto-clustering is
never on with several replicas or workers: it fails there ("Multiple CPU devices").
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keras_wrn.core.fields import option
from keras_wrn.runtime.devices import Devices

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
ALL_REDUCES = ("auto", "ring", "nccl")
SYNC_BN = ("auto", "on", "off")
CLUSTERS = ("auto", "tf_config", "slurm")
# Batch statistics over fewer images than this per replica are synchronised across replicas by
# default (Goyal et al. 2017 trained ImageNet with per-GPU statistics over 32 images).
SYNC_BN_BELOW = 32
# bf16 runs natively from Ampere (compute capability 8.0) on; older GPUs emulate it.
BF16_COMPUTE_CAPABILITY = (8, 0)
GPU_STEPS_PER_LOOP = 50  # host calls amortised over this many steps; loops end at checkpoints
# XLA auto-clustering compiles each step function first (6 s more for ResNet-20, 15-30 s for
# PyramidNet-110 on 2 cores) and then runs the step 13-15% faster (BENCHMARKS.md): ResNet-20
# repays it after ~350 steps of batch 128, so by default it is on in runs of this many steps or
# more (3 CIFAR epochs of batch 128; the quick start's 124 steps took twice as long with it).
FUSION_MIN_STEPS = 1000


class PlanError(ValueError):
    """A forced runtime choice that cannot run on these devices; the message names the fix."""


@dataclasses.dataclass
class RuntimeRequest:
    """The execution choices a user can force; ``None`` (or ``"auto"``) lets the plan decide.
    The training configuration's runtime section extends this class."""

    strategy: str = option("auto", "tf.distribute strategy (auto: multi_worker under "
                            "TF_CONFIG, mirrored over several GPUs or --cpu-devices)", STRATEGIES)
    cpu_devices: int = option(0, "split the CPU into N logical devices")
    precision: str = option("auto", "auto: bf16 on GPUs of compute capability 8.0+, else fp32",
                             PRECISIONS)
    jit_compile: bool | None = option(None, "compile the whole step with XLA (default on GPUs "
                                       "only)")
    xla_fusion: bool | None = option(None, "XLA fuses the step's elementwise ops, convs stay "
                                      "oneDNN (default on one CPU replica in runs of "
                                      f"{FUSION_MIN_STEPS} steps or more)")
    xla_cache: str = option("auto", "folder where a fused run keeps its compiled clusters for "
                             "the next run of the same model (auto: "
                             "~/.cache/keras_wrn/xla/tf-VERSION-KEY; off: compile each run)")
    winograd: bool | None = option(None, "Winograd F(4x4,3x3) for wide 3x3 convs in training "
                                    "(default on CPUs)")
    onednn_bn_sums: bool | None = option(None, "batch norms take their per-channel sums with "
                                          "oneDNN in training (default on CPUs)")
    skip_dropped: bool | None = option(None, "skip the branches stochastic depth drops "
                                        "(default on one CPU replica; elsewhere they are "
                                        "multiplied by 0)")
    steps_per_loop: int | None = option(None, "training steps per host call (default 50 on "
                                         "GPUs, 1 on CPUs)")
    all_reduce: str = option("auto", "multi-worker collectives (auto: NCCL between GPU "
                              "workers, else ring)", ALL_REDUCES)
    sync_bn: str = option("auto", "batch norm statistics over all replicas (auto: when a "
                           f"replica's batch is under {SYNC_BN_BELOW} images)", SYNC_BN)
    device_augment: bool | None = option(None, "crop, flip and Cutout CIFAR-size batches "
                                          "held in memory inside the training step, the "
                                          "host sending uint8 batches (default on)")
    cluster: str = option("auto", "where a multi-worker run finds its cluster (auto: TF_CONFIG, "
                           "else a Slurm job's environment)", CLUSTERS)


@dataclasses.dataclass(frozen=True)
class RuntimePlan:
    """What the run does; printed on its first line and written to ``run.json``."""

    device: str  # "gpu" or "cpu"
    gpus: int  # local GPUs the strategy uses
    workers: int
    strategy: str  # "one_device", "mirrored" or "multi_worker"
    replicas: int  # in sync, over all workers
    all_reduce: str | None  # multi-worker collectives: "nccl" or "ring"
    precision: str  # "fp32", "bf16" or "fp16"
    sync_bn: bool  # batch statistics all-reduced over the replicas
    jit_compile: bool  # each replica's step (forward and backward) compiled with XLA
    xla_fusion: bool  # TensorFlow's auto-clustering of the elementwise ops (process-wide)
    winograd: bool
    onednn_bn_sums: bool
    skip_dropped: bool  # a branch dropped for the whole batch is not computed (a cond)
    steps_per_loop: int
    device_augment: bool  # CIFAR-size augmentation in the replica step, not on the host
    xla_cache: str | None = None  # the fused clusters' persistent cache (set as TF starts)

    @property
    def mixed_precision_policy(self) -> str:
        return {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}[
            self.precision]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        """The plan in one line."""
        where = f"{self.gpus} GPU(s)" if self.device == "gpu" else "CPU"
        if self.workers > 1:
            where += f" x {self.workers} workers ({self.all_reduce} all-reduce)"
        xla = ("whole step" if self.jit_compile else
               "fusion of elementwise ops" if self.xla_fusion else "off")
        if self.xla_fusion and self.xla_cache:
            xla += f" (compiled clusters cached in {self.xla_cache})"
        kernels = [name for name, on in (("Winograd", self.winograd),
                                         ("oneDNN batch-norm sums", self.onednn_bn_sums)) if on]
        bn = "" if self.replicas == 1 else \
            f"batch norm {'synchronised' if self.sync_bn else 'per replica'}, "
        return (f"runtime: {where}, {self.strategy}, {self.replicas} replica(s), "
                f"{self.precision}, {bn}XLA {xla}, "
                f"CPU kernels {', '.join(kernels) or 'off'}, "
                f"stochastic depth {'skips' if self.skip_dropped else 'multiplies'} dropped "
                f"branches, {self.steps_per_loop} step(s) per loop"
                + (", CIFAR augmentation in the step" if self.device_augment else ""))


def _choose(forced: bool | None, default: bool) -> bool:
    return default if forced is None else forced


def resolve_plan(request: RuntimeRequest, devices: Devices, steps: int | None = None,
                 batch_size: int | None = None) -> RuntimePlan:
    """The plan for ``request`` on ``devices`` for a run of ``steps`` training steps (None:
    a long run) at global ``batch_size`` (None: unknown, batch norm then synchronised over
    several replicas): a pure function, so every device layout can be tested on a machine
    without GPUs. Raises PlanError for a forced choice that cannot run."""
    gpu = bool(devices.gpus)
    strategy = request.strategy
    if strategy == "auto":
        if devices.workers > 1:
            strategy = "multi_worker"
        elif len(devices.gpus) > 1 or request.cpu_devices > 1:
            strategy = "mirrored"
        else:
            strategy = "one_device"
    if strategy == "multi_worker" and devices.workers < 1:
        raise PlanError("--strategy multi_worker needs TF_CONFIG describing the cluster "
                        "(docs/distribution.md).")
    local = 1
    if strategy != "one_device":
        local = len(devices.gpus) if gpu else max(request.cpu_devices, 1)
    workers = max(devices.workers, 1) if strategy == "multi_worker" else 1
    replicas = local * workers
    several = replicas > 1 or workers > 1

    all_reduce = None
    if strategy == "multi_worker":
        all_reduce = ("nccl" if gpu else "ring") if request.all_reduce == "auto" \
            else request.all_reduce
        if all_reduce == "nccl" and not gpu:
            raise PlanError("--all-reduce nccl needs GPUs on every worker; use ring.")

    precision = request.precision
    if precision == "auto":
        capability = devices.min_compute_capability
        precision = "bf16" if gpu and capability and capability >= BF16_COMPUTE_CAPABILITY \
            else "fp32"

    small_batch = batch_size is None or batch_size // replicas < SYNC_BN_BELOW
    sync_bn = several and (request.sync_bn == "on" or (request.sync_bn == "auto" and small_batch))
    # XLA cannot compile a synchronised batch norm's all-reduce except over NCCL on real GPUs
    # (b/194942685), so by default a synchronised step runs without whole-step XLA.
    jit_compile = _choose(request.jit_compile, gpu and not sync_bn)

    long_run = steps is None or steps >= FUSION_MIN_STEPS
    xla_fusion = _choose(request.xla_fusion, not gpu and not several and long_run)
    if xla_fusion and several:
        raise PlanError("--xla-fusion cannot run with several replicas or workers (XLA "
                        "auto-clustering fails: 'Multiple CPU devices'); drop it.")
    skip_dropped = _choose(request.skip_dropped, not gpu and not several)
    if skip_dropped and several:
        raise PlanError("--skip-dropped needs one replica: a synchronized batch norm cannot "
                        "run inside a cond; drop it.")
    steps_per_loop = request.steps_per_loop or (GPU_STEPS_PER_LOOP if gpu else 1)
    if steps_per_loop < 1:
        raise PlanError(f"--steps-per-loop must be >= 1, got {steps_per_loop}.")
    return RuntimePlan(
        device="gpu" if gpu else "cpu", gpus=local if gpu else 0, workers=workers,
        strategy=strategy, replicas=replicas, all_reduce=all_reduce, precision=precision,
        sync_bn=sync_bn, jit_compile=jit_compile, xla_fusion=xla_fusion,
        winograd=_choose(request.winograd, not gpu),
        onednn_bn_sums=_choose(request.onednn_bn_sums, not gpu),
        skip_dropped=skip_dropped, steps_per_loop=steps_per_loop,
        device_augment=_choose(request.device_augment, True),
    )
