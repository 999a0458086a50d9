"""Train a model of the registry: `python apps/train.py --arch pyramidsepdrop`.

Values come from the family's paper recipe (or --recipe), then --config FILE (JSON/YAML), then
the flags given. Running the same command again after a crash, kill -9 or SIGTERM resumes from
the last checkpoint in --output-dir.
"""

from __future__ import annotations

import argparse
import json
import sys

from _app import fail, guarded, parse


def build_parser() -> argparse.ArgumentParser:
    from keras_wrn.training.flags import add_config_flags

    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", help="JSON or YAML file of options, nested by section as "
                                    "config.json or flat (flags override it)")
    add_config_flags(p)
    return p


@guarded
def main(argv: list[str] | None = None) -> None:
    args = parse(build_parser, argv)
    from keras_wrn.core.lock import LockError
    from keras_wrn.data import DataError
    from keras_wrn.runtime import PlanError
    from keras_wrn.training import (
        ConfigError,
        DivergedError,
        PreemptedError,
        read_config_file,
    )
    from keras_wrn.training.flags import given_config
    from keras_wrn.training.launch import train_run

    try:
        given = {**(read_config_file(args.config) if args.config else {}),
                 **given_config(args)}
        summary = train_run(given)
    except PreemptedError as err:
        print(str(err), file=sys.stderr)
        raise SystemExit(err.exit_code) from None
    except (ConfigError, DataError, DivergedError, LockError, PlanError, ValueError) as err:
        fail(str(err))
    print("summary: " + json.dumps(summary.to_dict()))


if __name__ == "__main__":
    main()
