"""Train a model of the registry: `python apps/train.py --arch pyramidsepdrop`.

Values come from the family's paper recipe (or --recipe), then --config FILE (JSON/YAML), then
the flags given. Running the same command again after a crash, kill -9 or SIGTERM resumes from
the last checkpoint in --output-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from _app import fail, guarded

BOOL = argparse.BooleanOptionalAction


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                argument_default=None)
    m = p.add_argument_group("model (a family or preset; flags override it)")
    m.add_argument("--arch", help="family or preset, e.g. pyramidsepdrop, wrn-28-10 "
                                  "(default pyramidsepdrop)")
    m.add_argument("--depth", type=int)
    m.add_argument("--alpha", type=float, help="PyramidNet total widening")
    m.add_argument("--widen-factor", type=int, help="WRN k")
    m.add_argument("--bottleneck", action=BOOL)
    m.add_argument("--multiplicative", action=BOOL, help="PyramidNet multiplicative widening")
    m.add_argument("--drop-rate", type=float, help="final stochastic-depth death rate p_L")
    m.add_argument("--drop-mode", choices=["batch", "sample"])
    m.add_argument("--dropout", type=float, help="WRN dropout between the convolutions")
    d = p.add_argument_group("data")
    d.add_argument("--dataset", help="TFDS name (default cifar10) or 'synthetic' (offline)")
    d.add_argument("--data-dir", help="image folder, one sub-folder per class")
    d.add_argument("--val-dir", help="validation image folder (default: hold out --val-split)")
    d.add_argument("--val-split", type=float, help="fraction held out per class (default 0.1)")
    d.add_argument("--tfds-data-dir", help="folder with prepared TFDS datasets")
    d.add_argument("--image-size", type=int, help="input side (default: the model's, 32 CIFAR)")
    r = p.add_argument_group("recipe (defaults: the family's paper recipe)")
    r.add_argument("--recipe", help="pyramidnet-cifar, pyramidsepdrop-cifar, wrn-cifar, "
                                    "resnet-cifar, cpu-fast, quick")
    r.add_argument("--config", help="JSON or YAML file of options (flags override it)")
    r.add_argument("--epochs", type=int)
    r.add_argument("--batch-size", type=int, help="global batch size")
    r.add_argument("--lr", type=float)
    r.add_argument("--schedule", choices=["step", "cosine"])
    r.add_argument("--milestones", type=float, nargs="*", help="epochs of step decay")
    r.add_argument("--lr-decay", type=float, help="step decay factor")
    r.add_argument("--warmup-epochs", type=float)
    r.add_argument("--momentum", type=float)
    r.add_argument("--nesterov", action=BOOL)
    r.add_argument("--weight-decay", type=float)
    r.add_argument("--label-smoothing", type=float)
    r.add_argument("--crop-padding", type=int, help="random crop padding (0: no crop)")
    r.add_argument("--flip", action=BOOL)
    r.add_argument("--cutout", type=int, help="Cutout square side (0: off)")
    r.add_argument("--randaugment-ops", type=int, help="RandAugment ops per image (0: off)")
    r.add_argument("--randaugment-magnitude", type=float)
    r.add_argument("--mixup", type=float, help="mixup Beta alpha (0: off)")
    r.add_argument("--lr-scaling", choices=["none", "linear"],
                   help="linear: LR x global batch / the recipe's batch, with warm-up past 2x "
                        "(default none: the papers' values)")
    e = p.add_argument_group("execution (default: the runtime plan for the visible devices)")
    e.add_argument("--strategy", choices=["auto", "one_device", "mirrored", "multi_worker"])
    e.add_argument("--cpu-devices", type=int, help="split the CPU into N logical devices")
    e.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"],
                   help="auto: bf16 on GPUs of compute capability 8.0+, else fp32")
    e.add_argument("--require-gpu", action=BOOL, help="stop at once when no GPU is visible")
    e.add_argument("--jit-compile", action=BOOL,
                   help="compile the whole step with XLA (default on GPUs only)")
    e.add_argument("--steps-per-loop", type=int,
                   help="training steps per host call (default 50 on GPUs, 1 on CPUs)")
    e.add_argument("--all-reduce", choices=["auto", "ring", "nccl"],
                   help="multi-worker collectives (auto: NCCL between GPU workers, else ring)")
    e.add_argument("--winograd", action=BOOL,
                   help="Winograd F(4x4,3x3) for wide 3x3 convs in training (default on CPUs)")
    e.add_argument("--onednn-bn-sums", action=BOOL,
                   help="batch norms take their per-channel sums with oneDNN in training "
                        "(default on CPUs)")
    e.add_argument("--xla-fusion", action=BOOL,
                   help="XLA fuses the step's elementwise ops, convs stay oneDNN (default on "
                        "one CPU replica, off in the quick recipe)")
    e.add_argument("--skip-dropped", action=BOOL,
                   help="skip the branches stochastic depth drops (default on one CPU "
                        "replica; elsewhere they are multiplied by 0)")
    e.add_argument("--output-dir", help="default runs/ARCH")
    e.add_argument("--checkpoint-steps", type=int, help="also checkpoint every N steps")
    e.add_argument("--steps-per-epoch", type=int, help="cap steps per epoch (smoke runs)")
    e.add_argument("--eval-batch-size", type=int)
    e.add_argument("--seed", type=int)
    e.add_argument("--deterministic", action=BOOL,
                   help="the same --seed gives bit-identical runs (TensorFlow's op determinism; "
                        "default off)")
    return p


def weights_checksum(model) -> float:
    """Sum of every weight (trainable and not): equal on workers that hold the same model."""
    return float(sum(float(np.sum(np.asarray(w, np.float64))) for w in model.weights))


@guarded
def main(argv: list[str] | None = None) -> None:
    args = vars(build_parser().parse_args(argv))
    from keras_wrn.training import ConfigError, read_config_file, resolve_config
    from keras_wrn.training.lock import LockError, OutputLock, worker_lock_name

    try:
        config_file = args.pop("config")
        config = resolve_config(args, read_config_file(config_file) if config_file else None)
        output_dir = Path(config.output_dir or f"runs/{config.arch}")
        # The lock is the run's first write: a second run, or an unusable directory, stops here.
        lock = OutputLock(output_dir, worker_lock_name(os.environ.get("TF_CONFIG"))).acquire()
    except (ConfigError, LockError) as err:
        fail(str(err))
    try:
        train(config, output_dir)
    finally:
        lock.release()


def train(config, output_dir: Path) -> None:
    """Trains ``config`` (a resolved TrainConfig) into ``output_dir``, which this run holds."""
    from keras_wrn.data import DataError, load_data
    from keras_wrn.runtime import PlanError, environment, start
    from keras_wrn.runtime.strategy import is_chief, task_id
    from keras_wrn.training import ConfigError, PreemptedError, Trainer
    from keras_wrn.training.artifacts import write_json

    try:
        plan, strategy = start(config.runtime_request(), require_gpu=config.require_gpu)
        data = load_data(config.dataset, config.input_size(), data_dir=config.data_dir,
                         val_dir=config.val_dir, val_split=config.val_split,
                         tfds_data_dir=config.tfds_data_dir, seed=config.seed)
        if data.skipped:
            print(f"warning: skipped {data.skipped} unreadable images", file=sys.stderr)
        trainer = Trainer(config, strategy, data, output_dir, plan=plan)
    except (ConfigError, DataError, PlanError, ValueError) as err:
        fail(str(err))
    chief = is_chief(strategy)
    params = trainer.model.count_params()
    if chief:
        write_json(output_dir / "config.json", config.to_dict())
        lr, warmup_epochs = config.scaled_lr()
        write_json(output_dir / "run.json", {
            "num_classes": data.num_classes, "class_names": data.class_names,
            "train_examples": data.train_size, "val_examples": data.val_size,
            "skipped_images": data.skipped, "image_size": config.input_size(),
            "params": params, "runtime": plan.to_dict(),
            "winograd_convs": len(trainer.winograd_layers),
            "onednn_batch_norms": len(trainer.batch_norm_layers),
            "lr": lr, "warmup_epochs": warmup_epochs, **environment(),
        })
        print(f"{config.arch}: {params:,} parameters, {data.train_size} training / "
              f"{data.val_size} validation images, recipe {config.recipe}, "
              f"{len(trainer.winograd_layers)} conv(s) on Winograd, "
              f"{len(trainer.batch_norm_layers)} batch norm(s) summing on oneDNN")
    began = time.perf_counter()
    try:
        history = trainer.fit()
    except PreemptedError as err:
        print(str(err), file=sys.stderr)
        raise SystemExit(err.exit_code) from None
    last = history[-1] if history else {}
    validated = [h["val_top1"] for h in history if h.get("val_top1") is not None]
    summary = {
        "arch": config.arch, "epochs": last.get("epoch"), "val_top1": last.get("val_top1"),
        "best_val_top1": max(validated, default=None),
        "train_loss": last.get("train_loss"), "images_per_s": last.get("images_per_s"),
        "wall_s": round(time.perf_counter() - began, 1), "worker": task_id(strategy),
        "weights_checksum": weights_checksum(trainer.model), "output_dir": str(output_dir),
    }
    print("summary: " + json.dumps(summary))

if __name__ == "__main__":
    main()
