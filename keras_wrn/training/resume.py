"""Resuming only the same run: a new configuration against the one a run's folder holds.

A run's folder keeps its resolved configuration in ``config.json``. Running again into it
resumes that run, so a value that changes what the run is (the model, its data, the batch,
the recipe, the seed) is refused; how and where it executes, its length and its validation
batch may change, and each change is recorded in ``run.json``.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path
from typing import Any

from keras_wrn.runtime import RuntimeRequest
from keras_wrn.training.config import KEYS, ConfigError, TrainConfig, read_config_file

# Keys a resumed run may change: its length (to extend it), its validation batch, where its
# data is stored or cached, how it checkpoints and stops, and every execution choice of the
# runtime plan (a run preempted on one machine goes on on another).
MAY_CHANGE = frozenset({
    "epochs", "eval_batch_size", "tfds_data_dir", "cache", "cache_budget_gb", "output_dir",
    "checkpoint_steps", "stop_grace", "require_gpu", "deterministic",
    *(f.name for f in dataclasses.fields(RuntimeRequest)),
})
# Keys a run derives from its length unless given: a resumed run keeps the ones it started
# with, so extending a run trains on at its last learning rate instead of re-spreading the
# decay over a length half of which has already run.
DERIVED_FROM_LENGTH = ("milestones", "warmup_epochs")
# Keys whose values are paths: the same folder however it is written.
PATHS = ("data_dir", "val_dir")


def saved_config(run_dir: Path) -> dict[str, Any] | None:
    """The flat keys of the run ``run_dir`` holds (None: no run there yet)."""
    path = run_dir / "config.json"
    if not path.is_file():
        return None
    try:
        return read_config_file(str(path), strict=False)
    except (ConfigError, UnicodeDecodeError, OSError) as err:
        raise ConfigError(f"{path} is not a run's configuration ({str(err)[:120]}); move "
                          f"{run_dir} away or pass another --output-dir.") from None


def _restores(key: str, old: Any, new: Any) -> bool:
    """Whether the run's checkpoints restore after ``key`` changes from ``old`` to ``new``:
    fp16 wraps the optimizer in a loss scale with state of its own, so a run goes neither into
    nor out of fp16 (``auto`` never picks it)."""
    return key != "precision" or (old == "fp16") == (new == "fp16")


def _same(key: str, old: Any, new: Any) -> bool:
    if key in PATHS and old and new:
        return Path(old).resolve() == Path(new).resolve()
    return old == new


def _value(value: Any) -> str:
    """A value as its flag takes it."""
    if value is None:
        return "unset"
    if isinstance(value, list):
        return " ".join(map(_value, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def resume_config(config: TrainConfig, given: set[str], run_dir: Path
                  ) -> tuple[TrainConfig, dict[str, list[Any]]]:
    """``config`` as a run into ``run_dir`` follows it (a resumed run keeps its own schedule
    unless ``given``) and the allowed keys that changed, as ``{key: [before, after]}``.
    ConfigError (one line) listing every key that would make it another run."""
    saved = saved_config(run_dir)
    if saved is None:
        return config, {}
    new = {key: getattr(getattr(config, k.section), k.field.name) for key, k in KEYS.items()}
    for key in DERIVED_FROM_LENGTH:
        if key in saved and key not in given:
            new[key] = saved[key]
    refused, changed = [], {}
    for key, value in new.items():
        if key not in saved or _same(key, saved[key], value):
            continue
        if key in MAY_CHANGE and _restores(key, saved[key], value):
            changed[key] = [saved[key], value]
        else:
            refused.append(f"{KEYS[key].flag} {_value(value)} (the run's: "
                           f"{_value(saved[key])})")
    if refused:
        raise ConfigError(f"{run_dir} holds another run: {'; '.join(refused)}. Resume it with "
                          f"its own values (--config {run_dir / 'config.json'}), or start a new "
                          f"run with another --output-dir.")
    return TrainConfig.from_flat(new), changed


def resume_record(run_dir: Path, changed: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The run's record of resumes with changed values (``run.json``'s ``changes``), with
    ``changed`` appended when there is any."""
    try:
        record = json.loads((run_dir / "run.json").read_text()).get("changes", [])
    except (OSError, ValueError, AttributeError):
        record = []
    if changed:
        record.append({"at": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"), "changed": changed})
    return record
