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

from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    from keras_wrn.core.fields import add_field_flags
    from keras_wrn.training.flags import add_config_flags
    from keras_wrn.tuning.options import SearchOptions

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_field_flags(p, SearchOptions)
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


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    from keras_wrn.core.fields import from_args
    from keras_wrn.core.lock import LockError
    from keras_wrn.data import DataError
    from keras_wrn.runtime import PlanError
    from keras_wrn.training import ConfigError
    from keras_wrn.training.flags import given_config
    from keras_wrn.tuning import SearchStopped, SpaceError
    from keras_wrn.tuning.launch import search, trial_table
    from keras_wrn.tuning.options import SearchOptions

    try:
        result = search(args.arch, given_config(args), args.output_dir,
                        from_args(SearchOptions, args))
    except SearchStopped as err:
        print(f"{err} (the search continues with that trial)", file=sys.stderr)
        raise SystemExit(err.exit_code) from None
    except (ConfigError, DataError, LockError, PlanError, SpaceError, ValueError) as err:
        fail(str(err))
    if result is None:  # a worker other than the chief
        return
    print(trial_table(result.rows))
    best = result.best_config
    print(f"best: trial {result.best_trial} ({result.best_dir}), val_top1 "
          f"{result.best_val_top1:.4f} -> {best} (python apps/train.py --config {best})")
    print("summary: " + json.dumps(result.summary()))


if __name__ == "__main__":
    main()
