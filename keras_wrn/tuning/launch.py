"""A hyperparameter search from Python or the command line: the space checked against the
training keys given, the data held out for selection, trials run by keras-tuner under the
search folder's lock, then ``trials.json`` and ``best_config.json`` written. apps/tune.py parses
flags and calls :func:`search`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keras_wrn.tuning.options import SearchError, SearchOptions


@dataclasses.dataclass(frozen=True)
class SearchResult:
    """A finished search: its trials' rows and the best trial (numbered from 1, as
    keras-tuner's banner), with the configuration that trains it as it is."""

    rows: list[dict[str, Any]]
    best_trial: int
    best_dir: Path
    best_val_top1: float
    best_config: Path

    def summary(self) -> dict[str, Any]:
        """The ``summary:`` line's keys."""
        return {"trials": len(self.rows), "best_trial": self.best_trial,
                "best_val_top1": self.best_val_top1}


def trial_table(rows: list[dict[str, Any]]) -> str:
    """The trials as a Markdown table: trial, the searched values, params, val_top1, seconds."""
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


def search(arch: str, base: Mapping[str, Any], output_dir: str | Path,
           options: SearchOptions | None = None) -> SearchResult | None:
    """Searches family ``arch`` with keras-tuner; ``base``: the training keys every trial
    keeps (flat, as train's flags), ``output_dir``: the search folder (the same call continues
    a search in it). None on a worker that is not the chief. Raises SearchError, SpaceError,
    ConfigError, DataError, PlanError, LockError or ValueError (one line), and SearchStopped
    (exit with its ``exit_code``) when a stop signal ends it."""
    from keras_wrn.core.artifacts import write_json
    from keras_wrn.core.lock import OutputLock, task_lock_name
    from keras_wrn.models import registry
    from keras_wrn.runtime import start
    from keras_wrn.runtime.cluster import cluster_task
    from keras_wrn.runtime.strategy import is_chief
    from keras_wrn.training import RECIPES, resolve_config
    from keras_wrn.training.runs import load_config_data, planned_steps
    from keras_wrn.tuning.space import load_space, smallest_corners, to_overrides
    from keras_wrn.tuning.tuner import (
        TrainerTuner,
        count_params,
        make_oracle,
        trial_number,
        trial_rows,
    )

    options = options or SearchOptions()
    base = {k: v for k, v in base.items() if k not in ("arch", "output_dir")}  # per trial
    base = {"arch": arch, **base}
    if arch not in registry.list_families():
        raise SearchError(f"--arch takes a family ({', '.join(registry.list_families())}), "
                          f"got {arch!r}.")
    if options.max_trials < 1:
        raise SearchError(f"--max-trials must be >= 1, got {options.max_trials}.")
    space = load_space(arch, options.space)
    # A flag for a key the space sets would be overridden by every trial: refuse it.
    searched = sorted(set(base) & set(to_overrides(arch, smallest_corners(space)[0])))
    if searched:
        key = searched[0]
        raise SearchError(f"--{key.replace('_', '-')} is set by the search space, which every "
                          f"trial would follow; to fix it, write `{key}: {base[key]}` in a "
                          f"--space file.")
    config = resolve_config(base)
    plan, strategy = start(config.runtime.request(), require_gpu=config.runtime.require_gpu,
                           steps=planned_steps(config, for_selection=True),
                           batch_size=config.recipe.batch_size)
    data = load_config_data(config, for_selection=True)
    if data.val is None:
        raise SearchError("tuning selects on held-out data: pass --val-split in (0, 1) or "
                          "--val-dir DIR.")
    counts: dict[str, int] = {}

    def params_of(values: dict[str, Any]) -> int:
        """Parameters of a trial's model (cached: only its model keys change the count)."""
        model_keys = resolve_config({**base, **to_overrides(arch, values)}).model.overrides()
        key = json.dumps(model_keys, sort_keys=True)
        if key not in counts:
            counts[key] = count_params(arch, data.num_classes, **model_keys)
        return counts[key]

    limit = options.max_params
    if limit is not None:
        smallest = min(params_of(corner) for corner in smallest_corners(space))
        if smallest > limit:
            raise SearchError(f"the smallest configuration of the search space has "
                              f"{smallest:,} parameters, more than --max-params {limit:,}; "
                              f"raise --max-params or widen --space.")
    oracle = make_oracle(options.tuner, space, options.max_trials, config.recipe.epochs,
                         config.runtime.seed, params_of if limit is not None else None, limit)
    lock = OutputLock(output_dir, task_lock_name(cluster_task(config.runtime.cluster)))
    lock.acquire()
    try:
        tuner = TrainerTuner(oracle, base, arch, strategy, data, plan=plan,
                             directory=str(output_dir), project_name="search", overwrite=False)
        tuner.search()
    finally:
        lock.release()
    if not is_chief(strategy):
        return None
    rows = trial_rows(tuner, arch)
    if not rows and oracle.smallest_rejected is not None:
        raise SearchError(f"every configuration proposed has more than --max-params {limit:,} "
                          f"parameters (the smallest {oracle.smallest_rejected:,}); raise "
                          f"--max-params or narrow --space.")
    if not rows:
        raise SearchError("no trial finished; see the errors above.")
    output = Path(output_dir)
    write_json(output / "trials.json", rows)
    best = tuner.oracle.get_best_trials(1)[0]
    best_config = tuner.trial_config(best.hyperparameters.values)
    best_config.recipe.epochs = options.final_epochs or RECIPES[best_config.recipe.name]["epochs"]
    best_config.runtime.steps_per_epoch = None
    write_json(output / "best_config.json", best_config.to_dict())
    return SearchResult(rows, trial_number(best.trial_id),
                        Path(tuner.get_trial_dir(best.trial_id)) / "run", best.score,
                        output / "best_config.json")
