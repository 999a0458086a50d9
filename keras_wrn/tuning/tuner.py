"""keras-tuner search whose trials run the training loop of apps/train.py (the Trainer), so the
search uses the same data pipeline, recipes, distribution strategy and checkpoints."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import tensorflow as tf

from keras_wrn.core.artifacts import write_json
from keras_wrn.data import DataSource
from keras_wrn.models import build_model
from keras_wrn.runtime import RuntimePlan
from keras_wrn.runtime.strategy import is_chief
from keras_wrn.training import PreemptedError, Trainer, resolve_config
from keras_wrn.training.config import TrainConfig
from keras_wrn.tuning.space import declare, to_overrides

OBJECTIVE = kt.Objective("val_top1", direction="max")
ORACLES = {
    "random": kt.oracles.RandomSearchOracle,
    "bayesian": kt.oracles.BayesianOptimizationOracle,
    "hyperband": kt.oracles.HyperbandOracle,
}
MAX_PROPOSALS = 200


def atomic_save_json(path: str, obj: Any) -> None:
    """Writes ``obj`` as JSON to a temporary file renamed into place. keras-tuner's own writer
    truncates oracle.json first, so a kill -9 mid-write left a search that cannot resume
    (JSONDecodeError on reload); the oracle and tuner below save through this instead."""
    tmp = f"{path}.tmp"
    with tf.io.gfile.GFile(tmp, "w") as file:
        file.write(json.dumps(obj))
    tf.io.gfile.rename(tmp, path, overwrite=True)


def count_params(arch: str, num_classes: int, **hparams: Any) -> int:
    """Trainable parameters of a configuration (built on the CPU, then discarded)."""
    model = build_model(arch, num_classes=num_classes, **hparams)
    count = sum(int(w.numpy().size) for w in model.trainable_weights)
    keras.backend.clear_session(free_memory=False)
    return count


def make_oracle(kind: str, space: dict[str, Any], max_trials: int, max_epochs: int, seed: int,
                params_of=None, max_params: int | None = None) -> kt.Oracle:
    """The keras-tuner oracle, re-drawing any proposal over the parameter budget. The same
    ``seed``, 0 included, proposes the same trials."""
    base = ORACLES[kind]

    class BudgetOracle(base):
        smallest_rejected: int | None = None  # parameters of the smallest proposal refused

        def populate_space(self, trial_id):
            for _ in range(MAX_PROPOSALS):
                result = super().populate_space(trial_id)
                if max_params is None or result["status"] != kt.engine.trial.TrialStatus.RUNNING:
                    return result
                count = params_of(result["values"])
                if count <= max_params:
                    return result
                self.smallest_rejected = min(count, self.smallest_rejected or count)
            return {"status": kt.engine.trial.TrialStatus.STOPPED, "values": None}

        def save(self):  # keras-tuner's Oracle.save, written atomically
            atomic_save_json(self._get_oracle_fname(), self.get_state())

        def _save_trial(self, trial):  # keras-tuner's, written atomically
            atomic_save_json(os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"),
                             trial.get_state())

        def reload(self):
            # A kill between a trial's save and the oracle's save leaves a finished trial marked
            # ongoing; keras-tuner would run it again and lose count. Keep it finished.
            super().reload()
            for tuner_id, trial in list(self.ongoing_trials.items()):
                if trial.status == kt.engine.trial.TrialStatus.COMPLETED:
                    del self.ongoing_trials[tuner_id]

    hp = declare(space, kt.HyperParameters())
    # keras-tuner takes seed 0 for "no seed" (`seed or random.randint(1, 10000)`): shift by one.
    kwargs = {"objective": OBJECTIVE, "hyperparameters": hp, "seed": seed + 1,
              "tune_new_entries": False, "allow_new_entries": False}
    if kind == "hyperband":
        return BudgetOracle(max_epochs=max_epochs, **kwargs)
    return BudgetOracle(max_trials=max_trials, **kwargs)


class SearchStopped(kt.errors.FatalError):
    """A trial stopped on SIGTERM or Ctrl-C with its checkpoint saved: the search stops too,
    and the same command continues it from that trial's checkpoint."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class TrainerTuner(kt.Tuner):
    """Runs each trial with `keras_wrn.training.Trainer` in the trial's own directory."""

    def __init__(self, oracle: kt.Oracle, base: dict[str, Any], family: str,
                 strategy: tf.distribute.Strategy, data: DataSource,
                 plan: RuntimePlan | None = None, **kwargs):
        super().__init__(oracle=oracle, **kwargs)
        self.base, self.family, self.strategy, self.data = base, family, strategy, data
        self.plan = plan

    def save(self) -> None:
        """keras-tuner's BaseTuner.save (the oracle, then the tuner's state), atomically."""
        if not self._is_worker():
            self.oracle.save()
        atomic_save_json(self._get_tuner_fname(), self.get_state())

    def trial_config(self, values: dict[str, Any]) -> TrainConfig:
        return resolve_config({**self.base, **to_overrides(self.family, values)})

    def run_trial(self, trial, **kwargs):
        config = self.trial_config(trial.hyperparameters.values)
        if "tuner/epochs" in trial.hyperparameters.values:  # Hyperband's budget for the trial
            config.recipe.epochs = trial.hyperparameters.values["tuner/epochs"]
        start = time.perf_counter()
        trial_dir = Path(self.get_trial_dir(trial.trial_id))
        trainer = Trainer(config, self.strategy, self.data, trial_dir / "run",
                          log=lambda _: None, plan=self.plan)
        try:
            history = trainer.fit()
        except PreemptedError as err:  # keras-tuner would record it as a failed trial, go on
            raise SearchStopped(str(err), err.exit_code) from None
        best = max(h.get("val_top1", 0.0) for h in history)
        if is_chief(self.strategy):
            write_json(trial_dir / "result.json", {
                "params": sum(int(w.numpy().size) for w in trainer.model.trainable_weights),
                "seconds": round(time.perf_counter() - start, 1), "val_top1": best,
            })
        keras.backend.clear_session(free_memory=False)
        return {"val_top1": best}


def trial_number(trial_id: str) -> int:
    """A trial's number, counted from 1 as keras-tuner's banner counts them ("Running Trial
    #1", "Trial 1 Complete"): its id, the count of trials before it (folder ``trial_0``), plus
    one. The banner is keras-tuner's own; every number keras_wrn prints follows it."""
    return int(trial_id) + 1


def trial_rows(tuner: TrainerTuner, family: str) -> list[dict[str, Any]]:
    """One row per finished trial: its number, hyperparameters, depth, parameters, best val
    top-1, time."""
    rows = []
    for trial in tuner.oracle.trials.values():
        if trial.status != kt.engine.trial.TrialStatus.COMPLETED:
            continue
        values = {k: v for k, v in trial.hyperparameters.values.items()
                  if not k.startswith("tuner/")}
        result = Path(tuner.get_trial_dir(trial.trial_id)) / "result.json"
        extra = json.loads(result.read_text()) if result.exists() else {}
        rows.append({"trial": trial_number(trial.trial_id), **to_overrides(family, values),
                     **extra,
                     "val_top1": trial.score})
    return sorted(rows, key=lambda r: -(r["val_top1"] or 0))


__all__ = ["ORACLES", "SearchStopped", "TrainerTuner", "count_params", "make_oracle",
           "trial_number", "trial_rows"]
