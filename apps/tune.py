r"""Search architectures and training hyperparameters with keras-tuner.

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
import sys
from pathlib import Path

from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    from keras_wrn.training.flags import add_config_flags

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tuner", choices=["random", "bayesian", "hyperband"], default="random",
                   help="keras-tuner oracle (default random)")
    p.add_argument("--max-trials", type=int, default=10,
                   help="trials to run (hyperband: set by --epochs instead)")
    p.add_argument("--final-epochs", type=int, help="epochs in best_config.json "
                                                    "(default: the recipe's)")
    p.add_argument("--space", help="YAML/JSON file overriding the default search space")
    p.add_argument("--max-params", type=int, help="never propose a model above this size")
    # The training flags of apps/train.py: they fix what the search space does not search.
    add_config_flags(p, overrides={
        "arch": {"required": True, "help": "family: resnet, preact_resnet, wrn, pyramidnet, "
                                           "pyramiddrop, pyramidsepdrop"},
        "epochs": {"default": 3, "help": "epochs per trial (hyperband: the maximum)"},
        "val_split": {"help": "fraction of the training data held out for selection "
                              "(default 0.1); trials never validate on a test split"},
        "seed": {"default": 0, "help": "the same seed proposes the same trials (default 0)"},
        "output_dir": {"required": True,
                       "help": "search folder; the same command continues the search in it"},
    })
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


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    from keras_wrn.core.artifacts import write_json
    from keras_wrn.core.lock import LockError, OutputLock, task_lock_name
    from keras_wrn.data import DataError
    from keras_wrn.models import registry
    from keras_wrn.runtime import PlanError, start
    from keras_wrn.runtime.cluster import cluster_task
    from keras_wrn.runtime.strategy import is_chief
    from keras_wrn.training import RECIPES, ConfigError, resolve_config
    from keras_wrn.training.flags import given_config
    from keras_wrn.training.runs import load_config_data
    from keras_wrn.tuning import (
        SearchStopped,
        SpaceError,
        TrainerTuner,
        count_params,
        load_space,
        make_oracle,
        smallest_corners,
        to_overrides,
        trial_number,
        trial_rows,
    )

    if args.arch not in registry.list_families():
        fail(f"--arch takes a family ({', '.join(registry.list_families())}), got {args.arch!r}.")
    if args.max_trials < 1:
        fail(f"--max-trials must be >= 1, got {args.max_trials}.")
    base = {k: v for k, v in given_config(args).items() if k != "output_dir"}  # per trial
    try:
        space = load_space(args.arch, args.space)
        # A flag for a key the space sets would be overridden by every trial: refuse it.
        searched = sorted(set(base) & set(to_overrides(args.arch, smallest_corners(space)[0])))
        if searched:
            key = searched[0]
            fail(f"--{key.replace('_', '-')} is set by the search space, which every trial "
                 f"would follow; to fix it, write `{key}: {base[key]}` in a --space file.")
        config = resolve_config(base)
        plan, strategy = start(config.runtime.request(), require_gpu=config.runtime.require_gpu,
                               epochs=config.recipe.epochs,
                               batch_size=config.recipe.batch_size)
        data = load_config_data(config, for_selection=True)
    except (SpaceError, ConfigError, DataError, PlanError, ValueError) as err:
        fail(str(err))
    if data.val is None:
        fail("tuning selects on held-out data: pass --val-split in (0, 1) or --val-dir DIR.")

    counts: dict[str, int] = {}

    def params_of(values: dict) -> int:
        """Parameters of a trial's model (cached: only its model keys change the count)."""
        model_keys = resolve_config({**base, **to_overrides(args.arch, values)}).model.overrides()
        key = json.dumps(model_keys, sort_keys=True)
        if key not in counts:
            counts[key] = count_params(args.arch, data.num_classes, **model_keys)
        return counts[key]

    if args.max_params is not None:
        smallest = min(params_of(corner) for corner in smallest_corners(space))
        if smallest > args.max_params:
            fail(f"the smallest configuration of the search space has {smallest:,} parameters, "
                 f"more than --max-params {args.max_params:,}; raise --max-params or widen "
                 f"--space.")
    oracle = make_oracle(args.tuner, space, args.max_trials, args.epochs, args.seed,
                         params_of if args.max_params is not None else None, args.max_params)
    try:
        lock = OutputLock(args.output_dir, task_lock_name(cluster_task(config.runtime.cluster)))
        lock.acquire()
    except LockError as err:
        fail(str(err))
    try:
        tuner = TrainerTuner(oracle, base, args.arch, strategy, data, plan=plan,
                             directory=args.output_dir, project_name="search", overwrite=False)
        tuner.search()
    except SearchStopped as err:
        print(f"{err} (the search continues with that trial)", file=sys.stderr)
        raise SystemExit(err.exit_code) from None
    finally:
        lock.release()
    if not is_chief(strategy):
        return
    rows = trial_rows(tuner, args.arch)
    if not rows and oracle.smallest_rejected is not None:
        fail(f"every configuration proposed has more than --max-params {args.max_params:,} "
             f"parameters (the smallest {oracle.smallest_rejected:,}); raise --max-params or "
             f"narrow --space.")
    if not rows:
        fail("no trial finished; see the errors above.")
    output = Path(args.output_dir)
    write_json(output / "trials.json", rows)
    best = tuner.oracle.get_best_trials(1)[0]
    best_config = tuner.trial_config(best.hyperparameters.values)
    best_config.recipe.epochs = args.final_epochs or RECIPES[best_config.recipe.name]["epochs"]
    best_config.runtime.steps_per_epoch = None
    write_json(output / "best_config.json", best_config.to_dict())
    print(format_rows(rows))
    number = trial_number(best.trial_id)  # 1-based, as keras-tuner's banner
    print(f"best: trial {number} ({Path(tuner.get_trial_dir(best.trial_id)) / 'run'}), "
          f"val_top1 {best.score:.4f} -> {output / 'best_config.json'} (python apps/train.py "
          f"--config {output / 'best_config.json'})")
    print("summary: " + json.dumps({"trials": len(rows), "best_trial": number,
                                    "best_val_top1": best.score}))


if __name__ == "__main__":
    main()
