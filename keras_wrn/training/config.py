"""The training configuration: dataclass defaults, overridden by a recipe, then a JSON/YAML
config file, then the command line. The resolved configuration is saved next to the results."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any

from keras_wrn.models import registry
from keras_wrn.runtime import ALL_REDUCES, PRECISIONS, STRATEGIES, RuntimeRequest
from keras_wrn.training.recipes import FAMILY_RECIPES, RECIPES
from keras_wrn.training.schedule import SCHEDULES

MODEL_KEYS = ("depth", "alpha", "widen_factor", "bottleneck", "multiplicative", "drop_rate",
              "drop_mode", "dropout")
RUNTIME_KEYS = tuple(f.name for f in dataclasses.fields(RuntimeRequest))
LR_SCALINGS = ("none", "linear")
# Goyal et al. 2017: with the linear scaling rule, a gradual warm-up of 5 epochs.
SCALED_WARMUP_EPOCHS = 5.0


class ConfigError(ValueError):
    """A configuration value is invalid; the message is one line that names the fix."""


@dataclasses.dataclass
class TrainConfig(RuntimeRequest):
    """Everything a training run depends on: the execution choices of
    :class:`~keras_wrn.runtime.RuntimeRequest` (strategy, precision, XLA, kernels, steps per
    loop), then the model, data and recipe."""

    # Model: a family or preset, and overrides of its hyperparameters (None: keep).
    arch: str = "pyramidsepdrop"
    depth: int | None = None
    alpha: float | None = None
    widen_factor: int | None = None
    bottleneck: bool | None = None
    multiplicative: bool | None = None
    drop_rate: float | None = None
    drop_mode: str | None = None
    dropout: float | None = None
    # Data.
    dataset: str | None = None
    data_dir: str | None = None
    val_dir: str | None = None
    val_split: float = 0.1
    tfds_data_dir: str | None = None
    image_size: int | None = None
    # Recipe (optimizer, schedule, augmentation); None picks the family's paper recipe.
    recipe: str | None = None
    epochs: int = 300
    batch_size: int = 128
    lr: float = 0.1
    schedule: str = "step"
    milestones: list[float] = dataclasses.field(default_factory=list)
    lr_decay: float = 0.1
    warmup_epochs: float = 0
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    crop_padding: int = 4
    flip: bool = True
    cutout: int = 0
    randaugment_ops: int = 0
    randaugment_magnitude: float = 0.5
    mixup: float = 0.0
    lr_scaling: str = "none"  # "linear": lr x batch_size / the recipe's batch (Goyal et al.)
    # Execution, besides the runtime request's ("auto" and None: the runtime plan decides).
    require_gpu: bool = False
    output_dir: str | None = None
    checkpoint_steps: int = 0
    steps_per_epoch: int | None = None
    eval_batch_size: int = 256
    seed: int = 0
    deterministic: bool = False  # TensorFlow's op determinism: reruns are bit-identical

    def model_hparams(self) -> dict[str, Any]:
        """Model keywords the user set (the rest come from the preset or family)."""
        return {k: getattr(self, k) for k in MODEL_KEYS if getattr(self, k) is not None}

    def input_size(self) -> int:
        """Image side length: ``image_size`` or the model preset's input size."""
        return self.image_size or registry.resolve(self.arch)[1]["input_shape"][0]

    def runtime_request(self) -> RuntimeRequest:
        """The execution choices, for the runtime plan."""
        return RuntimeRequest(**{key: getattr(self, key) for key in RUNTIME_KEYS})

    def scaled_lr(self) -> tuple[float, float]:
        """(learning rate, warm-up epochs) after ``lr_scaling``: linear multiplies the LR by
        the global batch over the recipe's and, past a factor of 2, warms up over 5 epochs
        (at most a tenth of the run)."""
        if self.lr_scaling == "none":
            return self.lr, self.warmup_epochs
        factor = self.batch_size / RECIPES[self.recipe]["batch_size"]
        warmup = self.warmup_epochs
        if factor > 2:
            warmup = max(warmup, min(SCALED_WARMUP_EPOCHS, self.epochs / 10))
        return self.lr * factor, warmup

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def read_config_file(path: str) -> dict[str, Any]:
    """Keys and values of a JSON or YAML file (dashes in keys read as underscores)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {path} does not exist; pass --config FILE.json|.yaml.")
    text = file.read_text()
    try:
        if file.suffix in (".yaml", ".yml"):
            import yaml

            values = yaml.safe_load(text) or {}
        else:
            values = json.loads(text)
    except Exception as err:
        message = str(err).splitlines()[0]
        raise ConfigError(f"cannot parse config file {path}: {message}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option: value.")
    return {k.replace("-", "_"): v for k, v in values.items()}


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` (as JSON or YAML read it) has the field type ``hint``; an integer
    passes for a float, a bool never for a number."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return any(_fits(value, arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return isinstance(value, list) and all(_fits(v, item) for v in value)
    if hint is type(None):
        return value is None
    if hint in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, (int, float) if hint is float else hint)


_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
          type(None): "null"}


def _expected(hint: Any) -> str:
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        return " or ".join(_expected(arg) for arg in typing.get_args(hint))
    if typing.get_origin(hint) is list:
        return f"a list of {_expected(typing.get_args(hint)[0]).split(' ', 1)[-1]}s"
    return _WORDS.get(hint, str(hint))


def check_types(values: dict[str, Any]) -> None:
    """Raises ConfigError naming the first option whose value has the wrong type."""
    hints = typing.get_type_hints(TrainConfig)
    for key, value in values.items():
        if _fits(value, hints[key]):
            continue
        hint = ""
        if isinstance(value, str) and hints[key] in (float, float | None):
            try:
                float(value)
                hint = " (YAML reads a number such as 1e-3 as text: write 1.0e-3)"
            except ValueError:
                pass
        raise ConfigError(f"--{key.replace('_', '-')} (config key {key}) must be "
                          f"{_expected(hints[key])}, got {value!r}{hint}.")


def resolve_config(cli: dict[str, Any], file_values: dict[str, Any] | None = None) -> TrainConfig:
    """defaults < recipe < config file < command line (only options the user gave), each value
    checked by type and range before anything is built or written."""
    given = dict(file_values or {})
    given.update({k: v for k, v in cli.items() if v is not None})
    unknown = sorted(set(given) - FIELDS)
    if unknown:
        raise ConfigError(f"unknown option(s) {', '.join(unknown)}; see train.py --help.")
    check_types(given)
    arch = given.get("arch", TrainConfig.arch)
    try:
        family, _ = registry.resolve(arch)
        model_keys = {k: given[k] for k in MODEL_KEYS if given.get(k) is not None}
        registry.check(arch, **model_keys)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    recipe = given.get("recipe") or FAMILY_RECIPES[family]
    if recipe not in RECIPES:
        raise ConfigError(f"unknown recipe {recipe!r}; recipes: {', '.join(sorted(RECIPES))}.")
    config = TrainConfig(**{**RECIPES[recipe], **given, "recipe": recipe})
    validate(config)
    return config


def validate(config: TrainConfig) -> None:
    """Raises ConfigError on values no run can use."""
    checks = [
        (config.epochs >= 1, f"--epochs must be >= 1, got {config.epochs}"),
        (config.batch_size >= 1, f"--batch-size must be >= 1, got {config.batch_size}"),
        (config.lr > 0, f"--lr must be > 0, got {config.lr}"),
        (config.schedule in SCHEDULES,
         f"--schedule must be one of {', '.join(SCHEDULES)}, got {config.schedule!r}"),
        (config.strategy in STRATEGIES,
         f"--strategy must be one of {', '.join(STRATEGIES)}, got {config.strategy!r}"),
        (config.precision in PRECISIONS,
         f"--precision must be one of {', '.join(PRECISIONS)}, got {config.precision!r}"),
        (config.all_reduce in ALL_REDUCES,
         f"--all-reduce must be one of {', '.join(ALL_REDUCES)}, got {config.all_reduce!r}"),
        (config.lr_scaling in LR_SCALINGS,
         f"--lr-scaling must be one of {', '.join(LR_SCALINGS)}, got {config.lr_scaling!r}"),
        (config.cpu_devices >= 0, f"--cpu-devices must be >= 0, got {config.cpu_devices}"),
        (config.steps_per_loop is None or config.steps_per_loop >= 1,
         f"--steps-per-loop must be >= 1, got {config.steps_per_loop}"),
        (config.steps_per_epoch is None or config.steps_per_epoch >= 1,
         f"--steps-per-epoch must be >= 1, got {config.steps_per_epoch}"),
        (config.eval_batch_size >= 1,
         f"--eval-batch-size must be >= 1, got {config.eval_batch_size}"),
        (0 <= config.val_split < 1, f"--val-split must be in [0, 1), got {config.val_split}"),
        (config.weight_decay >= 0, f"--weight-decay must be >= 0, got {config.weight_decay}"),
        (0 <= config.label_smoothing < 1,
         f"--label-smoothing must be in [0, 1), got {config.label_smoothing}"),
        (config.mixup >= 0, f"--mixup must be >= 0, got {config.mixup}"),
        (config.checkpoint_steps >= 0,
         f"--checkpoint-steps must be >= 0, got {config.checkpoint_steps}"),
        (config.image_size is None or config.image_size >= 8,
         f"--image-size must be >= 8, got {config.image_size}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message + ".")
