"""The runtime plan: what each device layout gets (GPUs mocked: these machines have none), the
XLA flags decided before TensorFlow starts, and the GPU plan's training step traced on the CPU."""

from __future__ import annotations

import dataclasses
import json

import pytest
import tensorflow as tf

import keras_wrn.runtime as runtime
from keras_wrn.data.sizes import train_size_hint
from keras_wrn.runtime import Devices, Gpu, PlanError, RuntimeRequest, preplan, resolve_plan
from keras_wrn.runtime import devices as devices_module
from keras_wrn.runtime.plan import FUSION_MIN_STEPS
from keras_wrn.training import resolve_config
from keras_wrn.training.runs import planned_steps


def gpus(count: int, capability: tuple[int, int] = (8, 0)) -> tuple[Gpu, ...]:
    return tuple(Gpu(f"/physical_device:GPU:{i}", capability) for i in range(count))


CPU_PLAN = dict(device="cpu", gpus=0, workers=1, strategy="one_device", replicas=1,
                all_reduce=None, precision="fp32", sync_bn=False, jit_compile=False,
                xla_fusion=True, winograd=True, onednn_bn_sums=True, skip_dropped=True,
                steps_per_loop=1, device_augment=True, xla_cache=None)
GPU_PLAN = dict(device="gpu", gpus=1, workers=1, strategy="one_device", replicas=1,
                all_reduce=None, precision="bf16", sync_bn=False, jit_compile=True,
                xla_fusion=False, winograd=False, onednn_bn_sums=False, skip_dropped=False,
                steps_per_loop=50, device_augment=True, xla_cache=None)


@pytest.mark.parametrize("devices, expected", [
    (Devices(), CPU_PLAN),
    (Devices(gpus(1)), GPU_PLAN),
    (Devices(gpus(1, (7, 0))), {**GPU_PLAN, "precision": "fp32"}),  # no native bf16: fp32
    (Devices(gpus(8)), {**GPU_PLAN, "gpus": 8, "strategy": "mirrored", "replicas": 8}),
    (Devices(gpus(8) + gpus(1, (7, 5))), {**GPU_PLAN, "gpus": 9, "strategy": "mirrored",
                                          "replicas": 9, "precision": "fp32", "sync_bn": True,
                                          "jit_compile": False}),  # 28 images a replica
    (Devices(workers=2), {**CPU_PLAN, "workers": 2, "strategy": "multi_worker", "replicas": 2,
                          "all_reduce": "ring", "xla_fusion": False, "skip_dropped": False}),
    (Devices(gpus(8), workers=2), {**GPU_PLAN, "gpus": 8, "workers": 2,
                                   "strategy": "multi_worker", "replicas": 16,
                                   "all_reduce": "nccl", "sync_bn": True, "jit_compile": False}),
    (Devices(cpu_devices=2), {**CPU_PLAN, "strategy": "mirrored", "replicas": 2,
                              "xla_fusion": False, "skip_dropped": False}),
    (Devices(gpus(1), workers=2), {**GPU_PLAN, "workers": 2, "strategy": "multi_worker",
                                   "replicas": 2, "all_reduce": "nccl"}),
], ids=["cpu", "1-gpu", "1-gpu-cc7", "8-gpus", "mixed-gpus", "2-cpu-workers",
        "2-gpu-workers", "cpu-split", "1-gpu-workers"])
def test_the_plan_of_each_device_layout(devices, expected):
    request = RuntimeRequest(cpu_devices=devices.cpu_devices)
    assert resolve_plan(request, devices, batch_size=256).to_dict() == expected


def test_the_plan_line_of_workers_names_gpus_per_worker_and_all_replicas():
    """As apps/gpu_check.py's two workers print it, each given one GPU."""
    plan = resolve_plan(RuntimeRequest(), Devices(gpus(1), workers=2), batch_size=16)
    assert plan.summary().startswith(
        "runtime: 1 GPU(s) x 2 workers (nccl all-reduce), multi_worker, 2 replica(s), bf16, "
        "batch norm synchronised")


def test_the_plan_line_of_a_fused_cpu_run_names_its_xla_cache():
    plan = resolve_plan(RuntimeRequest(), Devices())
    assert "XLA fusion of elementwise ops, CPU kernels" in plan.summary()
    cached = dataclasses.replace(plan, xla_cache="/c/xla")
    assert "XLA fusion of elementwise ops (compiled clusters cached in /c/xla), " in \
        cached.summary()


def test_every_choice_can_be_forced():
    forced = RuntimeRequest(precision="fp16", jit_compile=False, winograd=True,
                            onednn_bn_sums=True, xla_fusion=True, skip_dropped=True,
                            steps_per_loop=7)
    plan = resolve_plan(forced, Devices(gpus(1)))
    assert (plan.precision, plan.jit_compile, plan.winograd, plan.onednn_bn_sums,
            plan.xla_fusion, plan.skip_dropped, plan.steps_per_loop) == (
        "fp16", False, True, True, True, True, 7)
    off = RuntimeRequest(winograd=False, onednn_bn_sums=False, xla_fusion=False,
                         skip_dropped=False, jit_compile=True, precision="bf16")
    plan = resolve_plan(off, Devices())
    assert (plan.winograd, plan.onednn_bn_sums, plan.xla_fusion, plan.skip_dropped,
            plan.jit_compile, plan.precision) == (False, False, False, False, True, "bf16")
    ring = resolve_plan(RuntimeRequest(all_reduce="ring"), Devices(gpus(2), workers=2))
    assert ring.all_reduce == "ring"


@pytest.mark.parametrize("request_, devices, message", [
    (RuntimeRequest(xla_fusion=True), Devices(workers=2), "--xla-fusion cannot run"),
    (RuntimeRequest(xla_fusion=True, cpu_devices=2), Devices(cpu_devices=2),
     "--xla-fusion cannot run"),
    (RuntimeRequest(skip_dropped=True), Devices(gpus(2)), "--skip-dropped needs one replica"),
    (RuntimeRequest(all_reduce="nccl"), Devices(workers=2), "--all-reduce nccl needs GPUs"),
    (RuntimeRequest(strategy="multi_worker"), Devices(workers=0), "needs TF_CONFIG"),
])
def test_impossible_choices_are_one_line_errors(request_, devices, message):
    with pytest.raises(PlanError, match=message):
        resolve_plan(request_, devices)


def test_xla_fusion_is_the_default_of_long_single_replica_cpu_runs_only():
    """Its compile is repaid over a long run; a short one (the quick start) goes without."""
    assert resolve_plan(RuntimeRequest(), Devices()).xla_fusion  # length unknown: a long run
    assert resolve_plan(RuntimeRequest(), Devices(), steps=FUSION_MIN_STEPS).xla_fusion
    assert not resolve_plan(RuntimeRequest(), Devices(), steps=FUSION_MIN_STEPS - 1).xla_fusion
    assert resolve_plan(RuntimeRequest(xla_fusion=True), Devices(), steps=10).xla_fusion


@pytest.fixture(scope="module")
def thousand_images(tmp_path_factory):
    """An image folder's listing: two classes of 500 (empty) files."""
    root = tmp_path_factory.mktemp("folder")
    for name in ("cat", "dog"):
        (root / name).mkdir()
        for i in range(500):
            (root / name / f"{i}.png").touch()
    return str(root)


@pytest.mark.parametrize("args, fused", [
    ({"recipe": "quick", "dataset": "synthetic"}, False),  # 4 epochs of 2,000 // 64 steps
    ({"epochs": 8}, False),  # 900 training images // 8 = 112 steps an epoch: 896
    ({"epochs": 9}, True),  # 1008
    ({"epochs": 90, "steps_per_epoch": 10}, False),
    ({"epochs": 8, "val_split": 0.0}, True),  # 1000 // 8 = 125 steps an epoch
])
def test_a_runs_length_in_steps_decides_xla_fusion(thousand_images, args, fused):
    """The plan counts the run's steps from the data's listing, before TensorFlow starts."""
    folder = {} if "dataset" in args else {"data_dir": thousand_images, "batch_size": 8}
    config = resolve_config({"arch": "resnet-20", **folder, **args})
    assert resolve_plan(config.runtime.request(), Devices(), planned_steps(config),
                        config.recipe.batch_size).xla_fusion is fused


def test_the_data_is_not_listed_where_the_length_decides_nothing(thousand_images, monkeypatch):
    """A forced --xla-fusion, or GPUs (where auto-clustering is never the default)."""
    base = {"arch": "resnet-20", "data_dir": thousand_images, "batch_size": 8}
    config = resolve_config(base)
    assert planned_steps(config) == 112 * config.recipe.epochs  # 900 images // 8
    assert planned_steps(resolve_config({**base, "xla_fusion": False})) is None
    monkeypatch.setattr(devices_module, "gpu_driver_present", lambda: True)
    assert planned_steps(resolve_config(base)) is None


def test_the_training_size_hint_follows_the_validation_choice(thousand_images):
    """Held out per class, a separate folder, none; unknown TFDS data: None (a long run)."""
    assert train_size_hint(None, thousand_images) == 900
    assert train_size_hint(None, thousand_images, val_dir=thousand_images) == 1000
    assert train_size_hint(None, thousand_images, val_split=0.0) == 1000
    assert train_size_hint("synthetic") == 2000
    assert train_size_hint("no_such_dataset") is None


def test_the_config_reaches_the_plan():
    """Flags and config keys of the runtime section become the request."""
    config = resolve_config({"arch": "resnet-20", "precision": "fp16", "steps_per_loop": 4,
                             "winograd": False})
    plan = resolve_plan(config.runtime.request(), Devices())
    assert (plan.precision, plan.steps_per_loop, plan.winograd, plan.xla_fusion) == (
        "fp16", 4, False, True)


def test_the_xla_flags_are_decided_before_tensorflow_lists_devices(monkeypatch):
    """The crash of multi-worker runs with the default flags: auto-clustering must stay off
    when TF_CONFIG names several workers, on a split CPU and where a GPU driver is present."""
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(runtime, "gpu_driver_present", lambda: False)
    assert preplan(RuntimeRequest()).xla_fusion
    assert not preplan(RuntimeRequest(cpu_devices=2)).xla_fusion
    cluster = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]},
               "task": {"type": "worker", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster))
    two_workers = preplan(RuntimeRequest())
    assert two_workers.strategy == "multi_worker" and not two_workers.xla_fusion
    monkeypatch.delenv("TF_CONFIG")
    monkeypatch.setattr(runtime, "gpu_driver_present", lambda: True)
    gpu = preplan(RuntimeRequest())
    assert gpu.device == "gpu" and not gpu.xla_fusion


def test_no_gpu_when_cuda_visible_devices_hides_them(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not devices_module.gpu_driver_present()
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")
    assert not devices_module.gpu_driver_present()


# ------------------------------------------------------------------------------------------
# The GPU plan's training step, traced on the CPU.

# Op types that betray a CPU kernel or a host stall in a GPU step: Winograd's batched matmuls
# and einsums, the oneDNN batch-norm sums (a stride-1 average pool over each whole image, told
# apart from PyramidNet's stride-2 shortcut pool, and a depthwise weight gradient), and conds
# (their predicate is computed on the device).
WINOGRAD_OPS = {"BatchMatMulV2", "Einsum"}
BATCH_NORM_SUM_OPS = {"AvgPool/stride-1", "DepthwiseConv2dNativeBackpropFilter"}
COND_OPS = {"If", "StatelessIf", "Switch"}


def _kind(node) -> str:
    if node.op == "AvgPool" and list(node.attr["strides"].list.i) == [1, 1, 1, 1]:
        return "AvgPool/stride-1"
    return node.op


def _graph_ops(trainer, steps_per_loop: int) -> tuple[set[str], bool]:
    """The op types in the training call's graph and every function it calls, and whether the
    per-replica step is a function compiled whole by XLA."""
    from keras_wrn.data import AugmentConfig, train_dataset

    data = trainer.data
    dataset = train_dataset(data.train_examples, data.num_classes,
                            trainer.config.recipe.batch_size, 0, 0, AugmentConfig())
    iterator = iter(trainer.strategy.experimental_distribute_dataset(dataset))
    if steps_per_loop == 1:
        graph = trainer.train_step.get_concrete_function(next(iterator)).graph
    else:
        graph = trainer.train_loop.get_concrete_function(iterator, tf.constant(2)).graph
    graph_def = graph.as_graph_def()
    nodes = list(graph_def.node)
    for function in graph_def.library.function:
        nodes += list(function.node_def)
    compiled = any(f.attr["_XlaMustCompile"].b and "replica_step" in f.signature.name
                   for f in graph_def.library.function)
    return {_kind(node) for node in nodes}, compiled


def _trainer(tmp_path, plan):
    from helpers import small_trainer

    # Wide enough at 8x8 for Winograd with either CPU's rule (128 channels on 4x4) and with
    # stochastic depth.
    return small_trainer(tmp_path, arch="pyramidsepdrop", depth=8, alpha=168, drop_rate=0.5,
                         plan=plan)


def test_the_cpu_plan_step_has_the_cpu_kernels(tmp_path):
    """The control: the detector sees the CPU kernels and the skip's cond where they are."""
    ops, compiled = _graph_ops(_trainer(tmp_path, resolve_plan(RuntimeRequest(), Devices())), 1)
    assert WINOGRAD_OPS & ops and ops >= BATCH_NORM_SUM_OPS and COND_OPS & ops
    assert not compiled


@pytest.mark.parametrize("precision", ["auto", "fp32"])
def test_the_gpu_plan_step_has_no_cpu_kernel_and_no_cond(tmp_path, precision):
    plan = resolve_plan(RuntimeRequest(precision=precision), Devices(gpus(1)))
    assert plan.precision == ("bf16" if precision == "auto" else "fp32")
    ops, compiled = _graph_ops(_trainer(tmp_path, plan), plan.steps_per_loop)
    assert not ops & WINOGRAD_OPS, ops & WINOGRAD_OPS
    assert not ops & BATCH_NORM_SUM_OPS, ops & BATCH_NORM_SUM_OPS
    assert not ops & COND_OPS, ops & COND_OPS
    assert ops & {"While", "StatelessWhile"} and "Conv2D" in ops  # the loop, and the model
    assert compiled  # the per-replica step is compiled whole with XLA
