"""Where a multi-worker run finds its cluster (``--cluster auto|tf_config|slurm``): a Slurm job
step's environment, faked here, resolved by TensorFlow's SlurmClusterResolver; TF_CONFIG's
precedence; the workers the plan counts; one-line errors; each task's lock."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import tensorflow as tf
from helpers import (
    ROOT,
    TINY,
    TINY_MODEL,
    app_env,
    call_app,
    error_line,
    free_port,
    summary,
    write_image_folder,
)

import keras_wrn.runtime as runtime
from keras_wrn.core.lock import task_lock_name
from keras_wrn.data.tfrecord import read_manifest
from keras_wrn.runtime import PlanError, RuntimeRequest, preplan
from keras_wrn.runtime.cluster import (
    ClusterTask,
    cluster_resolver,
    cluster_source,
    cluster_task,
    slurm_resolver,
)
from keras_wrn.runtime.strategy import is_chief, task_id

SLURM = ("SLURM_JOB_ID", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS",
         "SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_STEP_TASKS_PER_NODE",
         "SLURMD_NODENAME")


@pytest.fixture(autouse=True)
def no_cluster(monkeypatch):
    """Neither TF_CONFIG nor Slurm from the machine running the tests."""
    for name in ("TF_CONFIG", *SLURM):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(runtime, "gpu_driver_present", lambda: False)


def srun_task(monkeypatch, procid: int, nodes: str = "node[1-2]", tasks_per_node: str = "1(x2)",
              tasks: int = 2, node: str | None = None) -> None:
    """The environment srun gives task ``procid`` of a job step."""
    for name, value in {"SLURM_JOB_ID": "4242", "SLURM_NTASKS": tasks, "SLURM_PROCID": procid,
                        "SLURM_STEP_NUM_TASKS": tasks, "SLURM_STEP_NODELIST": nodes,
                        "SLURM_JOB_NODELIST": nodes,
                        "SLURM_STEP_TASKS_PER_NODE": tasks_per_node}.items():
        monkeypatch.setenv(name, str(value))
    if node:
        monkeypatch.setenv("SLURMD_NODENAME", node)


def tf_config(monkeypatch, workers: int, index: int) -> None:
    monkeypatch.setenv("TF_CONFIG", json.dumps({
        "cluster": {"worker": [f"host{i}:2222" for i in range(workers)]},
        "task": {"type": "worker", "index": index}}))


@pytest.mark.parametrize("cluster", ["auto", "slurm"])
def test_a_slurm_step_resolves_to_its_nodes_and_this_tasks_rank(monkeypatch, cluster):
    srun_task(monkeypatch, procid=1, node="node2")
    assert cluster_source(cluster) == "slurm"
    assert cluster_task(cluster) == ClusterTask("slurm", workers=2, task_type="worker",
                                                task_index=1, chief=False)
    resolver = cluster_resolver(cluster)
    assert isinstance(resolver, tf.distribute.cluster_resolver.SlurmClusterResolver)
    assert resolver.cluster_spec().as_dict() == {"worker": ["node1:8888", "node2:8888"]}
    assert (resolver.task_type, resolver.task_id) == ("worker", 1)


def test_tasks_sharing_a_node_get_consecutive_ports_and_report_the_gpus_asked(monkeypatch):
    """Two nodes of two tasks; the GPUs each task reports are what MultiWorkerMirrored
    replicates over, 0 on a machine without GPUs, and CUDA_VISIBLE_DEVICES is left alone."""
    srun_task(monkeypatch, procid=3, nodes="gpu[01-02]", tasks_per_node="2(x2)", tasks=4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    resolver = slurm_resolver(gpus=4)
    assert resolver.cluster_spec().as_dict() == {"worker": [
        "gpu01:8888", "gpu01:8889", "gpu02:8888", "gpu02:8889"]}
    assert resolver.task_id == 3 and resolver.num_accelerators() == {"GPU": 4}
    assert slurm_resolver(gpus=0).num_accelerators() == {"GPU": 0}
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""


def test_the_plan_counts_the_slurm_tasks_as_workers(monkeypatch):
    srun_task(monkeypatch, procid=0)
    for request in (RuntimeRequest(), RuntimeRequest(cluster="slurm")):
        for plan in (preplan(request), runtime.current_plan(request)):  # before and after TF
            assert (plan.strategy, plan.workers, plan.all_reduce) == ("multi_worker", 2, "ring")
    assert runtime.devices.detect(cluster="slurm").workers == 2


def test_tf_config_wins_over_slurm_under_auto(monkeypatch):
    srun_task(monkeypatch, procid=1)
    tf_config(monkeypatch, workers=3, index=2)
    assert cluster_source("auto") == "tf_config"
    assert cluster_task("auto") == ClusterTask("tf_config", 3, "worker", 2, False)
    assert preplan(RuntimeRequest()).workers == 3
    assert isinstance(cluster_resolver("auto"),
                      tf.distribute.cluster_resolver.TFConfigClusterResolver)
    assert preplan(RuntimeRequest(cluster="slurm")).workers == 2  # forced: TF_CONFIG ignored


@pytest.mark.parametrize("environment", [
    {},  # no Slurm
    {"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2", "SLURM_PROCID": "0",
     "SLURM_JOB_NODELIST": "node[1-2]"},  # the batch script itself, without srun
    {"SLURM_JOB_ID": "7", "SLURM_PROCID": "0", "SLURM_STEP_NUM_TASKS": "1",
     "SLURM_STEP_NODELIST": "node1", "SLURM_STEP_TASKS_PER_NODE": "1"},  # srun -n 1
])
def test_auto_runs_one_worker_outside_a_multi_task_step(monkeypatch, environment):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert cluster_source("auto") is None and cluster_task("auto") == ClusterTask()
    assert preplan(RuntimeRequest()).strategy == "one_device"
    assert isinstance(cluster_resolver("auto"),
                      tf.distribute.cluster_resolver.TFConfigClusterResolver)


@pytest.mark.parametrize("cluster, message", [
    ("slurm", r"^--cluster slurm needs a Slurm job step \(SLURM_PROCID, .*\): start every task "
              r"with srun"),
    ("tf_config", r"^--cluster tf_config needs TF_CONFIG set on every worker"),
])
def test_a_forced_cluster_without_its_environment_is_a_one_line_error(cluster, message):
    for call in (lambda: cluster_task(cluster), lambda: preplan(RuntimeRequest(cluster=cluster)),
                 lambda: cluster_resolver(cluster)):
        with pytest.raises(PlanError, match=message) as err:
            call()
        assert "\n" not in str(err.value)


def test_the_app_stops_with_that_line_before_training(tmp_path):
    result = call_app("train.py", *TINY, "--cluster", "slurm", "--output-dir", tmp_path / "r",
                      check=False)
    assert result.returncode == 2
    assert error_line(result).startswith("error: --cluster slurm needs a Slurm job step")
    assert not (tmp_path / "r").exists()


def test_an_unreadable_step_is_a_one_line_error(monkeypatch):
    srun_task(monkeypatch, procid=0, nodes="node[1-2")
    with pytest.raises(PlanError, match=r"^--cluster slurm: the Slurm step's environment does "
                                        r"not resolve to a cluster \(Invalid hostlist") as err:
        cluster_task("slurm")
    assert "\n" not in str(err.value)


def test_a_task_placed_on_another_node_than_slurms_is_refused(monkeypatch):
    """SlurmClusterResolver sorts the node names: node10 before node9, whereas Slurm ran
    task 0 on node9. Its workers would dial each other at the wrong addresses."""
    srun_task(monkeypatch, procid=0, nodes="node[9-10]", node="node9")
    with pytest.raises(PlanError, match="Slurm runs task 0 on node9, but SlurmClusterResolver "
                                        "gives it node10"):
        cluster_task("auto")
    srun_task(monkeypatch, procid=0, nodes="node[09-10]", node="node09")
    assert cluster_task("auto").chief


@pytest.mark.parametrize("procid, lock, chief", [(0, ".lock", True),
                                                 (1, ".lock-worker-1", False)])
def test_each_slurm_task_has_its_lock_and_task_0_is_the_chief(monkeypatch, procid, lock, chief):
    srun_task(monkeypatch, procid=procid)
    assert task_lock_name(cluster_task("slurm")) == lock
    strategy = types.SimpleNamespace(cluster_resolver=slurm_resolver())  # as MWMS holds it
    assert (is_chief(strategy), task_id(strategy)) == (chief, procid)


@pytest.mark.parametrize("tf_config_index, lock", [(0, ".lock"), (1, ".lock-worker-1")])
def test_tf_config_tasks_keep_their_locks(monkeypatch, tf_config_index, lock):
    tf_config(monkeypatch, workers=2, index=tf_config_index)
    assert task_lock_name(cluster_task("tf_config")) == lock


def _opened(stderr: str) -> set[str]:
    """The TFRecord files a process opened (TF_CPP_VMODULE=tf_record_dataset_op=2)."""
    return {Path(p).name for p in re.findall(r"Reading file: (\S+)", stderr)}


@pytest.mark.slow
def test_two_slurm_tasks_train_as_one_multi_worker_run_each_reading_its_own_shards(tmp_path):
    """Two tasks of a faked one-node Slurm step (what `srun --ntasks=2` starts) train under
    MultiWorkerMirrored on the CPU from TFRecord shards: each task opens its own shards, every
    one of them and no other; the same model on both; the outputs the chief's, whose
    validation (sharded, then all-reduced) equals evaluate.py's on the whole split."""
    root = write_image_folder(tmp_path / "images", per_class=20, size=40)
    records = tmp_path / "records"
    call_app("make_tfrecords.py", "--data-dir", root, "--output", records, "--shards", "4")
    port = free_port()
    launcher = ("import runpy, sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/apps']; "
                "import keras_wrn.runtime.cluster as c; c.SLURM_PORT_BASE = int(sys.argv[2]); "
                "sys.argv = [sys.argv[1] + '/apps/train.py', *sys.argv[3:]]; "
                "runpy.run_path(sys.argv[0], run_name='__main__')")
    out = tmp_path / "run"
    tasks = []
    for procid in range(2):
        env = app_env(SLURM_JOB_ID="1", SLURM_PROCID=str(procid), SLURM_STEP_NUM_TASKS="2",
                      SLURM_STEP_NODELIST="localhost", SLURM_STEP_TASKS_PER_NODE="2",
                      SLURMD_NODENAME="localhost", TF_CPP_MIN_LOG_LEVEL="0",
                      TF_CPP_VMODULE="tf_record_dataset_op=2")
        env.pop("TF_CONFIG", None)
        tasks.append(subprocess.Popen(
            [sys.executable, "-c", launcher, str(ROOT), str(port), *TINY_MODEL, "--epochs", "2",
             "--batch-size", "8", "--data-dir", str(records), "--cluster", "slurm",
             "--output-dir", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    results = [(task.communicate(timeout=400), task.returncode) for task in tasks]
    for (_, stderr), code in results:
        assert code == 0, stderr[-3000:]
    chief, other = (summary(stdout) for (stdout, _), _ in results)
    assert (chief["worker"], other["worker"]) == (0, 1)
    assert chief["weights_checksum"] == other["weights_checksum"]
    run = json.loads((out / "run.json").read_text())["runtime"]
    assert (run["strategy"], run["workers"]) == ("multi_worker", 2)
    assert not list(out.glob(".lock*"))
    splits = read_manifest(records)["splits"]
    for task, ((_, stderr), _) in enumerate(results):
        mine = set(splits["train"]["files"][task::2] + splits["validation"]["files"][task::2])
        assert _opened(stderr) == mine, (task, _opened(stderr))
    metrics = json.loads(call_app("evaluate.py", "--model", out, "--json")
                         .stdout.strip().splitlines()[-1])
    assert metrics["examples"] == 6
    assert metrics["top1"] == pytest.approx(chief["val_top1"], abs=1e-6)
