"""Train a model of the registry: `python apps/train.py --arch pyramidsepdrop`.

Values come from the family's paper recipe (or --recipe), then --config FILE (JSON/YAML), then
the flags given. Running the same command again after a crash, kill -9 or SIGTERM resumes from
the last checkpoint in --output-dir.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    from keras_wrn.training.flags import add_config_flags

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="JSON or YAML file of options, nested by section as "
                                    "config.json or flat (flags override it)")
    add_config_flags(p)
    return p


def weights_checksum(model) -> float:
    """Sum of every weight (trainable and not): equal on workers that hold the same model."""
    return float(sum(float(np.sum(np.asarray(w, np.float64))) for w in model.weights))


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    from keras_wrn.core.lock import LockError, OutputLock, task_lock_name
    from keras_wrn.runtime.cluster import cluster_task
    from keras_wrn.training import ConfigError, read_config_file, resolve_config
    from keras_wrn.training.flags import given_config
    from keras_wrn.training.resume import resume_config

    try:
        given = {**(read_config_file(args.config) if args.config else {}),
                 **given_config(args)}
        config = resolve_config(given)
        output_dir = Path(config.runtime.output_dir or f"runs/{config.model.arch}")
        # The lock is the run's first write: a second run, or an unusable directory, stops here.
        # Each task of a multi-worker run (TF_CONFIG's or Slurm's) holds its own.
        lock = OutputLock(output_dir, task_lock_name(cluster_task(config.runtime.cluster)))
        lock.acquire()
    except (ConfigError, LockError, ValueError) as err:
        fail(str(err))
    try:
        try:
            config, changed = resume_config(config, set(given), output_dir)
        except ConfigError as err:
            fail(str(err))
        train(config, output_dir, changed)
    finally:
        lock.release()


def train(config, output_dir: Path, changed: dict | None = None) -> None:
    """Trains ``config`` (a resolved TrainConfig) into ``output_dir``, which this run holds;
    ``changed``: the allowed values a resumed run changes, recorded in ``run.json``."""
    from keras_wrn.core.artifacts import write_json
    from keras_wrn.data import DataError
    from keras_wrn.runtime import PlanError, environment, start
    from keras_wrn.runtime.strategy import is_chief, task_id
    from keras_wrn.training import ConfigError, DivergedError, PreemptedError, Trainer
    from keras_wrn.training.config import schedule_line
    from keras_wrn.training.resume import resume_record
    from keras_wrn.training.runs import load_config_data

    try:
        plan, strategy = start(config.runtime.request(), require_gpu=config.runtime.require_gpu,
                               epochs=config.recipe.epochs,
                               batch_size=config.recipe.batch_size)
        data = load_config_data(config)
        if is_chief(strategy):
            held = "in memory" if data.cached else "streamed from the files"
            print(f"data: {data.train_size} training images ({held}), validating on "
                  f"{data.val_from} ({data.val_size} images)", flush=True)
        if data.skipped:
            print(f"warning: skipped {data.skipped} unreadable images", file=sys.stderr)
        trainer = Trainer(config, strategy, data, output_dir, plan=plan)
    except (ConfigError, DataError, PlanError, ValueError) as err:
        fail(str(err))
    chief = is_chief(strategy)
    params = trainer.model.count_params()
    if chief:
        changes = resume_record(output_dir, changed or {})
        if changed:
            print("resuming with " + ", ".join(f"{k} {old} -> {new}"
                                               for k, (old, new) in changed.items()), flush=True)
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
        print(f"{config.model.arch}: {params:,} parameters, {data.train_size} training / "
              f"{data.val_size} validation images, recipe {config.recipe.name}, "
              f"{len(trainer.winograd_layers)} conv(s) on Winograd, "
              f"{len(trainer.batch_norm_layers)} batch norm(s) summing on oneDNN")
        print(schedule_line(config), flush=True)
    began = time.perf_counter()
    try:
        history = trainer.fit()
    except PreemptedError as err:
        print(str(err), file=sys.stderr)
        raise SystemExit(err.exit_code) from None
    except (DivergedError, DataError) as err:
        fail(str(err))
    last = history[-1] if history else {}
    validated = [h["val_top1"] for h in history if h.get("val_top1") is not None]
    summary = {
        "arch": config.model.arch, "epochs": last.get("epoch"), "val_top1": last.get("val_top1"),
        "best_val_top1": max(validated, default=None),
        "train_loss": last.get("train_loss"), "images_per_s": last.get("images_per_s"),
        "wall_s": round(time.perf_counter() - began, 1), "worker": task_id(strategy),
        "weights_checksum": weights_checksum(trainer.model), "output_dir": str(output_dir),
    }
    print("summary: " + json.dumps(summary))

if __name__ == "__main__":
    main()
