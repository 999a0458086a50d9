"""A training run from Python or the command line: the configuration resolved, the run folder
held, a run already in it resumed, ``config.json`` and ``run.json`` written, then trained.
`apps/train.py` parses flags and calls :func:`train_run`; a notebook calls it the same way."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from keras_wrn.training.config import TrainConfig, flatten, resolve_config


@dataclasses.dataclass(frozen=True)
class TrainSummary:
    """What a finished run reports (the ``summary:`` line of apps/train.py)."""

    arch: str
    epochs: int | None
    val_top1: float | None
    best_val_top1: float | None
    train_loss: float | None
    images_per_s: float | None
    wall_s: float
    worker: int
    weights_checksum: float
    output_dir: str

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON keys, in the order the app prints them."""
        return dataclasses.asdict(self)


def weights_checksum(model: Any) -> float:
    """Sum of every weight (trainable and not): equal on workers that hold the same model."""
    return float(sum(float(np.sum(np.asarray(w, np.float64))) for w in model.weights))


def train_run(config: TrainConfig | Mapping[str, Any],
              echo: Callable[[str], None] = lambda line: print(line, flush=True),
              warn: Callable[[str], None] = lambda line: print(line, file=sys.stderr)
              ) -> TrainSummary:
    """Trains ``config`` (a TrainConfig, or the flat keys given, resolved over the family's
    recipe) into its output folder (``output_dir``, else ``runs/ARCH``), which this run holds
    locked; a run found there is resumed (ConfigError when the values make it another run).
    ``echo`` takes the progress lines, ``warn`` the warnings. Raises ConfigError, LockError,
    DataError, PlanError, DivergedError, PreemptedError (exit with its ``exit_code``) or
    ValueError, each one line."""
    from keras_wrn.core.lock import OutputLock, task_lock_name
    from keras_wrn.runtime.cluster import cluster_task
    from keras_wrn.training.resume import resume_config

    if isinstance(config, TrainConfig):  # every value counts as given
        given = set(flatten(config.to_dict()))
    else:
        given, config = set(config), resolve_config(dict(config))
    output_dir = Path(config.runtime.output_dir or f"runs/{config.model.arch}")
    # The lock is the run's first write: a second run, or an unusable directory, stops here.
    # Each task of a multi-worker run (TF_CONFIG's or Slurm's) holds its own.
    lock = OutputLock(output_dir, task_lock_name(cluster_task(config.runtime.cluster)))
    lock.acquire()
    try:
        config, changed = resume_config(config, given, output_dir)
        return _train(config, output_dir, changed, echo, warn)
    finally:
        lock.release()


def _train(config: TrainConfig, output_dir: Path, changed: dict[str, list[Any]],
           echo: Callable[[str], None], warn: Callable[[str], None]) -> TrainSummary:
    """Trains a resolved ``config`` into ``output_dir``, which this run holds; ``changed``:
    the allowed values a resumed run changes, recorded in ``run.json``."""
    from keras_wrn.core.artifacts import write_json
    from keras_wrn.runtime import environment, start
    from keras_wrn.runtime.strategy import is_chief, task_id
    from keras_wrn.training.config import schedule_line
    from keras_wrn.training.resume import resume_record
    from keras_wrn.training.runs import load_config_data, planned_steps
    from keras_wrn.training.trainer import Trainer

    plan, strategy = start(config.runtime.request(), require_gpu=config.runtime.require_gpu,
                           steps=planned_steps(config), batch_size=config.recipe.batch_size)
    data = load_config_data(config)
    chief = is_chief(strategy)
    if chief:
        held = "in memory" if data.cached else "streamed from the files"
        echo(f"data: {data.train_size} training images ({held}), validating on "
             f"{data.val_from} ({data.val_size} images)")
    if data.skipped:
        warn(f"warning: skipped {data.skipped} unreadable images")
    trainer = Trainer(config, strategy, data, output_dir, plan=plan)
    params = trainer.model.count_params()
    if chief:
        changes = resume_record(output_dir, changed)
        if changed:
            echo("resuming with " + ", ".join(f"{k} {old} -> {new}"
                                              for k, (old, new) in changed.items()))
        write_json(output_dir / "config.json", config.to_dict())
        lr, warmup_epochs = config.scaled_lr()
        write_json(output_dir / "run.json", {
            "num_classes": data.num_classes, "class_names": data.class_names,
            "train_examples": data.train_size, "val_examples": data.val_size,
            "skipped_images": data.skipped, "data_cached": data.cached,
            "image_size": config.input_size(),
            "params": params, "runtime": plan.to_dict(),
            "winograd_convs": len(trainer.winograd_layers),
            "device_augmentation": trainer.device_augment,
            "onednn_batch_norms": len(trainer.batch_norm_layers),
            "lr": lr, "warmup_epochs": warmup_epochs, "changes": changes, **environment(),
        })
        echo(f"{config.model.arch}: {params:,} parameters, {data.train_size} training / "
             f"{data.val_size} validation images, recipe {config.recipe.name}, "
             f"{len(trainer.winograd_layers)} conv(s) on Winograd, "
             f"{len(trainer.batch_norm_layers)} batch norm(s) summing on oneDNN")
        echo(schedule_line(config))
    began = time.perf_counter()
    history = trainer.fit()
    last = history[-1] if history else {}
    validated = [h["val_top1"] for h in history if h.get("val_top1") is not None]
    return TrainSummary(
        arch=config.model.arch, epochs=last.get("epoch"), val_top1=last.get("val_top1"),
        best_val_top1=max(validated, default=None), train_loss=last.get("train_loss"),
        images_per_s=last.get("images_per_s"), wall_s=round(time.perf_counter() - began, 1),
        worker=task_id(strategy), weights_checksum=weights_checksum(trainer.model),
        output_dir=str(output_dir))
