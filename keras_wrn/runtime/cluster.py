"""Where a multi-worker run finds its cluster (``--cluster``): TF_CONFIG, or the environment of
a Slurm job step started by ``srun``, read by TensorFlow's SlurmClusterResolver.

``auto`` takes TF_CONFIG when it is set, else a Slurm step of several tasks, else runs one
worker. Every task resolves the same cluster on its own, so the tasks need nothing but their
environment.
"""

from __future__ import annotations

import dataclasses
import json
import os

import tensorflow as tf

from keras_wrn.runtime.plan import CLUSTERS, PlanError

# What SlurmClusterResolver reads: this task's rank, and the step's tasks and their nodes. srun
# sets them for every task it starts; a batch script run without srun has no multi-task step.
SLURM_STEP = ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST",
              "SLURM_STEP_TASKS_PER_NODE")
# TensorFlow's default: the tasks of one node listen on 8888, 8889, ... in rank order.
SLURM_PORT_BASE = 8888


@dataclasses.dataclass(frozen=True)
class ClusterTask:
    """This process's place in its cluster: where the cluster came from ("tf_config", "slurm"
    or None for one worker), its workers (chief included), this task, and whether it is the
    chief (the ``chief`` task, else worker 0), which writes the outputs."""

    source: str | None = None
    workers: int = 1
    task_type: str = "worker"
    task_index: int = 0
    chief: bool = True


def _is_chief(cluster: dict, task_type: str, task_index: int) -> bool:
    return task_type == "chief" or (task_type == "worker" and task_index == 0
                                    and "chief" not in cluster)


def _task(source: str, cluster: dict, task_type: str, task_index: int) -> ClusterTask:
    workers = sum(len(cluster.get(job, [])) for job in ("chief", "worker"))
    return ClusterTask(source, max(workers, 1), task_type, task_index,
                       _is_chief(cluster, task_type, task_index))


def _slurm_step_tasks() -> int:
    """Tasks of this Slurm job step; 0 outside a step that SlurmClusterResolver can read."""
    if not all(os.environ.get(name) for name in SLURM_STEP):
        return 0
    tasks = os.environ["SLURM_STEP_NUM_TASKS"].strip()
    return int(tasks) if tasks.isdigit() else 0


def cluster_source(cluster: str = "auto") -> str | None:
    """The source of the cluster for a ``--cluster`` choice: "tf_config", "slurm", or None (one
    worker). Raises PlanError when a forced source's environment is absent."""
    if cluster not in CLUSTERS:
        raise PlanError(f"--cluster takes {', '.join(CLUSTERS)}, got {cluster!r}.")
    if cluster == "tf_config":
        if not os.environ.get("TF_CONFIG"):
            raise PlanError("--cluster tf_config needs TF_CONFIG set on every worker "
                            "(docs/distribution.md); set it, or pass --cluster auto.")
        return "tf_config"
    if cluster == "slurm":
        missing = [name for name in SLURM_STEP if not os.environ.get(name)]
        if missing:
            raise PlanError(f"--cluster slurm needs a Slurm job step ({', '.join(missing)} "
                            f"unset): start every task with srun inside the job "
                            f"(docs/distribution.md), or pass --cluster auto.")
        return "slurm"
    if os.environ.get("TF_CONFIG"):
        return "tf_config"
    return "slurm" if _slurm_step_tasks() > 1 else None


def tf_config_task(tf_config: str | None) -> ClusterTask:
    """This task as the TF_CONFIG JSON ``tf_config`` names it (None: one worker)."""
    try:
        config = json.loads(tf_config) if tf_config else {}
        cluster, task = config.get("cluster", {}), config.get("task", {})
        return _task("tf_config", cluster, task.get("type", "worker"),
                     int(task.get("index", 0)))
    except (ValueError, AttributeError, TypeError):
        raise ValueError("TF_CONFIG is not a JSON object with a 'cluster' and a 'task'; see "
                         "docs/distribution.md.") from None


class SlurmResolver(tf.distribute.cluster_resolver.SlurmClusterResolver):
    """TensorFlow's SlurmClusterResolver for a task that uses ``gpus`` GPUs, 0 included: those
    TensorFlow sees, which Slurm chose (``--gpus-per-node``, ``--gpus-per-task``).

    TensorFlow's resolver counts each node's GPUs out to its tasks in steps of
    ``gpus_per_task``, which fails for 0 (tensorflow/tensorflow#56894), and its
    ``auto_set_gpu`` sets CUDA_VISIBLE_DEVICES, too late once TensorFlow has listed its GPUs.
    So it gets one placeholder GPU per task to place the tasks, never sets
    CUDA_VISIBLE_DEVICES, and reports ``gpus``: what MultiWorkerMirrored takes as the task's
    replicas."""

    def __init__(self, gpus: int = 0, port_base: int | None = None):
        per_task = max(gpus, 1)
        # The step's tasks bound the tasks of any node: enough placeholder GPUs for all.
        super().__init__(port_base=SLURM_PORT_BASE if port_base is None else port_base,
                         gpus_per_node=per_task * max(_slurm_step_tasks(), 1),
                         gpus_per_task=per_task, auto_set_gpu=False)
        self.gpus = gpus

    def num_accelerators(self, task_type: str | None = None, task_id: int | None = None,
                         config_proto: object = None) -> dict[str, int]:
        """The GPUs of this task (every task of a step uses as many)."""
        del task_type, task_id, config_proto
        return {"GPU": self.gpus}


def slurm_resolver(gpus: int = 0) -> SlurmResolver:
    """This Slurm task's resolver, resolved (task_type "worker", task_id its rank). Raises
    PlanError for an environment it cannot read, or when it would place this task on another
    node than Slurm did."""
    try:
        resolver = SlurmResolver(gpus)
        spec = resolver.cluster_spec()  # sets task_type and task_id
        host = spec.task_address(resolver.task_type, resolver.task_id).rsplit(":", 1)[0]
    except (RuntimeError, ValueError, KeyError) as err:
        reason = " ".join(str(err).split())
        raise PlanError(f"--cluster slurm: the Slurm step's environment does not resolve to a "
                        f"cluster ({reason}); start every task with srun.") from None
    node = os.environ.get("SLURMD_NODENAME")
    if node and node != host:
        raise PlanError(f"Slurm runs task {resolver.task_id} on {node}, but "
                        f"SlurmClusterResolver gives it {host} (it fills the nodes in the "
                        f"order of their sorted names, a block of tasks each): start the tasks "
                        f"with srun --distribution=block, or set TF_CONFIG on every task.")
    return resolver


def slurm_task() -> ClusterTask:
    """This task of the Slurm job step, as SlurmClusterResolver resolves it."""
    resolver = slurm_resolver()
    return _task("slurm", resolver.cluster_spec().as_dict(), resolver.task_type,
                 resolver.task_id)


def cluster_task(cluster: str = "auto") -> ClusterTask:
    """This process's task in the cluster the ``--cluster`` choice resolves to."""
    source = cluster_source(cluster)
    if source == "tf_config":
        return tf_config_task(os.environ["TF_CONFIG"])
    if source == "slurm":
        return slurm_task()
    return ClusterTask()


def workers_in_cluster(cluster: str = "auto") -> int:
    """Workers (chief included) of the cluster the ``--cluster`` choice resolves to: what the
    runtime plan counts."""
    return cluster_task(cluster).workers


def cluster_resolver(cluster: str = "auto",
                     gpus: int = 0) -> tf.distribute.cluster_resolver.ClusterResolver:
    """The resolver MultiWorkerMirrored is given: Slurm's for a Slurm step whose tasks use
    ``gpus`` GPUs each, else TensorFlow's default, TF_CONFIG's."""
    if cluster_source(cluster) == "slurm":
        return slurm_resolver(gpus)
    return tf.distribute.cluster_resolver.TFConfigClusterResolver()
