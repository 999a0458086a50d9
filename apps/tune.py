"""Search architectures and training hyperparameters with keras-tuner.

    python apps/tune.py --arch pyramidsepdrop --tuner random --max-trials 8 --epochs 3 \
        --dataset synthetic --output-dir runs/tune-pyramidsepdrop

Every trial is a run of the training loop of apps/train.py (same data flags, recipe and
strategy). Running the same command again continues an interrupted search: finished trials are
kept, the interrupted one is run again. At the end: a table of trials and best_config.json, which
`python apps/train.py --config best_config.json` trains as it is.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _app import fail


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True, help="family: resnet, preact_resnet, wrn, "
                                                 "pyramidnet, pyramiddrop, pyramidsepdrop")
    p.add_argument("--tuner", choices=["random", "bayesian", "hyperband"], default="random")
    p.add_argument("--max-trials", type=int, default=10)
    p.add_argument("--epochs", type=int, default=3, help="epochs per trial (hyperband: maximum)")
    p.add_argument("--final-epochs", type=int, help="epochs in best_config.json "
                                                    "(default: the recipe's)")
    p.add_argument("--space", help="YAML/JSON file overriding the default search space")
    p.add_argument("--max-params", type=int, help="never propose a model above this size")
    p.add_argument("--output-dir", required=True)
    p.add_argument("--seed", type=int, default=0)
    for flag in ("--dataset", "--data-dir", "--val-dir", "--tfds-data-dir", "--recipe",
                 "--strategy"):
        p.add_argument(flag)
    p.add_argument("--precision", choices=["auto", "fp32", "bf16", "fp16"],
                   help="as apps/train.py (auto: bf16 on GPUs of compute capability 8.0+)")
    p.add_argument("--val-split", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--steps-per-epoch", type=int)
    p.add_argument("--cpu-devices", type=int)
    p.add_argument("--deterministic", action="store_true", default=None,
                   help="bit-identical trials for the same command and seed, as apps/train.py")
    return p


def format_rows(rows: list[dict]) -> str:
    keys = sorted({k for row in rows for k in row} - {"trial", "val_top1", "params", "seconds"})
    header = ["trial", *keys, "params", "val_top1", "seconds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = []
        for key in header:
            value = row.get(key, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else f"{value}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from keras_wrn.data import DataError, load_data
    from keras_wrn.models import registry
    from keras_wrn.runtime import PlanError, start
    from keras_wrn.runtime.strategy import is_chief
    from keras_wrn.training import RECIPES, ConfigError, resolve_config
    from keras_wrn.training.artifacts import write_json
    from keras_wrn.training.config import MODEL_KEYS
    from keras_wrn.tuning import (
        SpaceError,
        TrainerTuner,
        count_params,
        load_space,
        make_oracle,
        to_overrides,
        trial_rows,
    )

    if args.arch not in registry.list_families():
        fail(f"--arch takes a family ({', '.join(registry.list_families())}), got {args.arch!r}.")
    if args.max_trials < 1 or args.epochs < 1:
        fail("--max-trials and --epochs must be >= 1.")
    if args.seed < 0:
        fail(f"--seed must be >= 0, got {args.seed}.")
    base = {key: getattr(args, key) for key in (
        "dataset", "data_dir", "val_dir", "tfds_data_dir", "recipe", "strategy",
        "precision", "val_split", "batch_size", "steps_per_epoch", "cpu_devices", "seed",
        "deterministic")}
    base = {"arch": args.arch, "epochs": args.epochs,
            **{k: v for k, v in base.items() if v is not None}}
    try:
        space = load_space(args.arch, args.space)
        config = resolve_config(base)
        plan, strategy = start(config.runtime_request())  # as apps/train.py
        data = load_data(config.dataset, config.input_size(), data_dir=config.data_dir,
                         val_dir=config.val_dir, val_split=config.val_split,
                         tfds_data_dir=config.tfds_data_dir, seed=config.seed)
    except (SpaceError, ConfigError, DataError, PlanError, ValueError) as err:
        fail(str(err))

    def params_of(values: dict) -> int:
        overrides = to_overrides(args.arch, values)
        model_keys = {k: overrides[k] for k in MODEL_KEYS if k in overrides}
        return count_params(args.arch, data.num_classes, **model_keys)

    oracle = make_oracle(args.tuner, space, args.max_trials, args.epochs, args.seed,
                         params_of if args.max_params else None, args.max_params)
    tuner = TrainerTuner(oracle, base, args.arch, strategy, data, plan=plan,
                         directory=args.output_dir, project_name="search", overwrite=False)
    tuner.search()
    if not is_chief(strategy):
        return
    rows = trial_rows(tuner, args.arch)
    if not rows:
        fail("no trial finished; see the errors above.")
    output = Path(args.output_dir)
    write_json(output / "trials.json", rows)
    best = tuner.oracle.get_best_trials(1)[0]
    best_config = tuner.trial_config(best.hyperparameters.values).to_dict()
    best_config.update({"epochs": args.final_epochs or RECIPES[best_config["recipe"]]["epochs"],
                        "steps_per_epoch": None, "output_dir": None})
    write_json(output / "best_config.json", best_config)
    print(format_rows(rows))
    print(f"best: trial {best.trial_id}, val_top1 {best.score:.4f} -> "
          f"{output / 'best_config.json'} (python apps/train.py --config "
          f"{output / 'best_config.json'})")
    print("summary: " + json.dumps({"trials": len(rows), "best_trial": best.trial_id,
                                    "best_val_top1": best.score}))


if __name__ == "__main__":
    main()
