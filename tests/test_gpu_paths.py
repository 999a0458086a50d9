"""Multi-GPU training runs with tf.distribute's GPU code paths taken on logical CPU devices
(tests/gpu_paths.py): the default plan of a 2-GPU machine through apps/train.py in fp16 and, on
two 2-GPU workers, in bf16 (then resumed); in fp32, the replicas' agreement with each other and
with one device, batch norm per replica or synchronised, and per-replica random draws."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from helpers import ROOT, app_env, history, summary, two_workers

from keras_wrn.runtime import Devices, Gpu, RuntimeRequest, resolve_plan
from keras_wrn.runtime.agreement import plan_differences

# A tiny PyramidSepDrop (separated per-batch gates); the global batch 64 is 32 images per
# replica, where batch norm is not synchronised and each replica's step is compiled with XLA.
TINY_GPU = ["--arch", "pyramidsepdrop", "--depth", "8", "--alpha", "12", "--dataset",
            "synthetic", "--recipe", "quick", "--steps-per-epoch", "4", "--batch-size", "64"]


def gpu_app(gpus: int, app: str, *args: str) -> list[str]:
    """The command that runs apps/``app`` with ``gpus`` forced GPUs."""
    return [sys.executable, str(ROOT / "tests" / "gpu_paths.py"), "--gpus", str(gpus),
            str(ROOT / "apps" / app), *map(str, args)]


def run_gpu_app(gpus: int, app: str, *args: str, timeout: float = 300):
    result = subprocess.run(gpu_app(gpus, app, *args), capture_output=True, text=True,
                            timeout=timeout, env=app_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def plan_line(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("runtime: "))


@pytest.mark.slow
def test_the_default_plan_of_a_two_gpu_machine_trains_in_fp16(tmp_path):
    """fp16, with its loss scaling, through apps/train.py on two replicas. The other precisions
    run end to end too: bf16 (the default) on two workers of two GPUs through apps/train.py
    below and in apps/gpu_check.py's Mirrored run (tests/test_gpu_check.py), fp32 in the
    replicas' agreement below and in gpu_check's."""
    out, precision = tmp_path / "run", "fp16"
    result = run_gpu_app(2, "train.py", *TINY_GPU, "--epochs", "2", "--precision", precision,
                         "--steps-per-loop", "2", "--output-dir", out)
    assert plan_line(result.stdout).startswith(
        f"runtime: 2 GPU(s), mirrored, 2 replica(s), {precision}, batch norm per replica, "
        "XLA whole step, CPU kernels off, stochastic depth multiplies dropped branches, "
        "2 step(s) per loop")
    records = history(out)
    assert len(records) == 2
    assert all(math.isfinite(r["train_loss"]) and math.isfinite(r["val_loss"]) for r in records)
    assert records[1]["train_loss"] < records[0]["train_loss"]
    # The saved model computes in float32 whatever the training precision.
    import keras

    model = keras.saving.load_model(out / "model.keras")
    assert {layer.dtype_policy.name for layer in model._flatten_layers()} == {"float32"}


# Trains in one process on two forced GPUs and prints what the test compares, as JSON.
_REPLICAS = """
import json, sys, traceback
sys.path[:0] = [{root!r}, {root!r} + "/tests"]
from gpu_paths import force_gpu_paths
force_gpu_paths(2)
import keras
import numpy as np
import tensorflow as tf
from keras_wrn.data import load_synthetic
from keras_wrn.runtime import current_plan
from keras_wrn.runtime.strategy import make_strategy
from keras_wrn.training import Trainer, resolve_config

tf.config.experimental.enable_op_determinism()
data = load_synthetic(8, train_examples=128, val_examples=32)
reduce_calls = []
original = tf.distribute.ReplicaContext.all_reduce

def counted(self, *args, **kwargs):
    # all-reduces called from batch norm's moments (the gradients' sum is counted apart)
    if any("moments" in frame.name for frame in traceback.extract_stack()):
        reduce_calls.append(1)
    return original(self, *args, **kwargs)

tf.distribute.ReplicaContext.all_reduce = counted
strategies = {{}}

# Augmented on the host, whose draws are keyed per image: one device and two replicas augment
# alike (the device's draws are keyed per batch).
def trainer(folder, strategy_name, **keys):
    config = resolve_config({{"arch": "pyramidsepdrop", "depth": 8, "alpha": 12, "image_size": 8,
                             "dataset": "synthetic", "recipe": "quick", "batch_size": 32,
                             "epochs": 2, "steps_per_epoch": 2, "strategy": strategy_name,
                             "steps_per_loop": 2, "device_augment": False, **keys}})
    plan = current_plan(config.runtime.request(), 2, 32)
    # One strategy per kind: collectives of two MirroredStrategy objects in one process share
    # their keys.
    strategy = strategies.setdefault(strategy_name, make_strategy(plan))
    return Trainer(config, strategy, data, {tmp!r} + "/" + folder, log=lambda _: None,
                   plan=plan)

def replicas_of(trainer, variables):
    return [[np.asarray(v).tolist() for v in
             trainer.strategy.experimental_local_results(variable.value)]
            for variable in variables]

results = {{}}
# Without XLA, as the synchronised step below (XLA draws other random numbers on a CPU).
one = trainer("one", "one_device", precision="fp32", jit_compile=False)
one.fit()
weights = [np.asarray(w) for w in one.model.trainable_weights]
for sync in ("on", "off"):
    many = trainer(sync, "mirrored", precision="fp32", sync_bn=sync)
    reduce_calls.clear()
    many.train_step.get_concrete_function(next(iter(many._train_data(0, 0))))
    traced_reduces = len(reduce_calls)
    many.fit()
    per_replica = replicas_of(many, many.model.trainable_weights)
    stats = [v for layer in many.model._flatten_layers()
             if isinstance(layer, keras.layers.BatchNormalization)
             for v in (layer.moving_mean, layer.moving_variance)]
    results[sync] = {{
        "plan": many.plan.summary(),
        "traced_reduces": traced_reduces,
        "replicas_equal": all(a == b for a, b in per_replica),
        "stats_equal": all(a == b for a, b in replicas_of(many, stats)),
        "max_diff_to_one_device": max(float(np.max(np.abs(np.asarray(a) - w)))
                                      for (a, _), w in zip(per_replica, weights)),
    }}

# Random draws: dropout (WRN) and per-sample gates differ across replicas, per-batch gates not.
draws = {{}}
wrn = {{"depth": 10, "alpha": None, "widen_factor": 1, "dropout": 0.5}}
for arch, keys, kind in (("wrn", wrn, "dropout"),
                         ("pyramidnet", {{"depth": 8, "alpha": 12, "drop_rate": 0.5,
                                         "drop_mode": "sample"}}, "sample"),
                         ("pyramidnet", {{"depth": 8, "alpha": 12, "drop_rate": 0.5,
                                         "drop_mode": "batch"}}, "batch")):
    run = trainer(kind, "mirrored", arch=arch, **keys)
    layers = [layer for layer in run.model._flatten_layers()
              if isinstance(layer, keras.layers.Dropout) or hasattr(layer, "training_gates")]
    x = tf.ones([4, 8, 8, 3])

    def replica_draws(layer=layers[0]):
        if isinstance(layer, keras.layers.Dropout):
            return layer(tf.ones([4, 16]), training=True)
        return layer.training_gates(tf.ones([4, 8, 8, 16]))

    values = run.strategy.experimental_local_results(
        tf.function(lambda: run.strategy.run(replica_draws))())
    draws[kind] = bool(np.array_equal(values[0].numpy(), values[1].numpy()))
results["draws_equal"] = draws
print(json.dumps(results))
"""


@pytest.mark.slow
def test_replicas_agree_with_each_other_and_with_one_device(tmp_path):
    script = _REPLICAS.format(root=str(ROOT), tmp=str(tmp_path))
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=app_env(), timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    on, off = results["on"], results["off"]
    # Synchronised (auto below 32 images a replica): the step runs without whole-step XLA and
    # equals one device's on the same global batch.
    assert "batch norm synchronised, XLA off" in on["plan"]
    assert on["traced_reduces"] > 0
    assert on["replicas_equal"] and on["stats_equal"]
    assert on["max_diff_to_one_device"] < 1e-5
    # Per replica: no all-reduce inside batch norm, XLA compiles each replica's step, the
    # weights agree and the moving statistics are averaged before evaluation and checkpoints.
    assert "batch norm per replica, XLA whole step" in off["plan"]
    assert off["traced_reduces"] == 0
    assert off["replicas_equal"] and off["stats_equal"]
    assert results["draws_equal"] == {"dropout": False, "sample": False, "batch": True}


@pytest.mark.slow
def test_two_workers_of_two_gpus_train_and_resume(tmp_path):
    out = tmp_path / "run"
    # 32 images a replica: each replica's step compiled with XLA, batch norm per replica and
    # its statistics averaged over both workers before every checkpoint.
    args = [*TINY_GPU, "--batch-size", "128", "--checkpoint-steps", "2", "--output-dir", out]
    launcher = gpu_app(2, "train.py")
    outputs = two_workers(*args, "--epochs", "1", launcher=launcher)
    chief, worker = (summary(stdout) for stdout, _ in outputs)
    assert plan_line(outputs[0][0]).startswith(
        "runtime: 2 GPU(s) x 2 workers (nccl all-reduce), multi_worker, 4 replica(s), bf16")
    assert chief["weights_checksum"] == pytest.approx(worker["weights_checksum"], rel=1e-6)
    assert not (out / "checkpoints" / "worker-1").exists()  # only the chief keeps outputs
    # Extended by an epoch, the run resumes from the chief's checkpoint on both workers (worker
    # 1's own checkpoint folder went with the finished run), at the same step.
    outputs = two_workers(*args, "--epochs", "2", launcher=launcher)
    for stdout, _ in outputs:
        assert "resuming at epoch 2 step 0" in stdout
    chief, worker = (summary(stdout) for stdout, _ in outputs)
    assert (chief["worker"], worker["worker"], chief["epochs"]) == (0, 1, 2)
    assert chief["weights_checksum"] == pytest.approx(worker["weights_checksum"], rel=1e-6)
    records = history(out)
    assert [r["epoch"] for r in records] == [1, 2]
    assert all(math.isfinite(r["train_loss"]) and math.isfinite(r["val_loss"]) for r in records)


@pytest.mark.slow
def test_workers_with_different_plans_stop_with_one_line(tmp_path):
    """A fp32 worker beside a bf16 one: both stop before their first collective."""
    from helpers import two_workers_results

    results = two_workers_results(
        *TINY_GPU, "--output-dir", tmp_path / "run", launcher=gpu_app(2, "train.py"),
        per_worker=[["--precision", "bf16"],
                                                                 ["--precision", "fp32"]])
    for code, _, stderr in results:
        assert code == 2, stderr[-2000:]
        errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
        assert errors == ["error: the workers resolved different runtime plans: precision "
                          "(worker 0: bf16, worker 1: fp32); give every worker the same "
                          "devices and the same flags."]


def test_plan_differences_name_each_field_and_every_worker():
    plans = {0: {"gpus": 4, "precision": "bf16", "replicas": 8},
             1: {"gpus": 2, "precision": "bf16", "replicas": 4}}
    assert plan_differences(plans) == ("gpus (worker 0: 4, worker 1: 2); replicas "
                                       "(worker 0: 8, worker 1: 4)")
    assert plan_differences({0: plans[0], 1: dict(plans[0])}) == ""


@pytest.mark.parametrize(("gpus", "batch", "sync_bn", "synced", "jit"), [
    (1, 16, "auto", False, True),  # one replica: nothing to synchronise
    (2, 64, "auto", False, True),  # 32 images a replica: per replica, XLA
    (2, 32, "auto", True, False),  # 16 a replica: synchronised, without XLA's collectives
    (8, 128, "auto", True, False),
    (2, 32, "off", False, True),
    (2, 512, "on", True, False),
])
def test_batch_norm_synchronises_below_32_images_a_replica(gpus, batch, sync_bn, synced, jit):
    devices = Devices(tuple(Gpu(f"GPU:{i}", (8, 0)) for i in range(gpus)))
    plan = resolve_plan(RuntimeRequest(sync_bn=sync_bn), devices, batch_size=batch)
    assert (plan.sync_bn, plan.jit_compile) == (synced, jit)
    assert ("batch norm synchronised" in plan.summary()) == synced
