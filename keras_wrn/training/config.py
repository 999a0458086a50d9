"""The training configuration: four sections (model, data, recipe, runtime), each a dataclass.

Values are resolved as dataclass defaults < the recipe < a JSON/YAML config file < the command
line. Every key has one name everywhere: the field name is the config-file key and, with dashes,
the flag (``keras_wrn.training.flags`` generates the flags of train, tune and benchmark). Files
are nested by section (as ``config.json`` is written) or flat (as files before sections were).
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from pathlib import Path
from typing import Any

from keras_wrn.core.fields import option
from keras_wrn.data import cache
from keras_wrn.data.kinds import KINDS
from keras_wrn.models import registry
from keras_wrn.models.family import Hparam
from keras_wrn.models.stages import COMMON
from keras_wrn.runtime.plan import RuntimeRequest
from keras_wrn.training.decays import SCHEDULES
from keras_wrn.training.recipes import RECIPES, default_recipe

LR_SCALINGS = ("none", "linear")
# Goyal et al. 2017 ("Accurate, Large Minibatch SGD", section 2.2): the linear scaling rule
# needs a gradual warm-up of 5 epochs, which they use at every batch above the reference one.
SCALED_WARMUP_EPOCHS = 5.0
# The largest LR the linear rule was shown to reach: Goyal et al.'s 0.1 x 8192 / 256 = 3.2
# (ResNet-50, batch 8k). Past 8k images the rule breaks down (their Fig. 1: the error rises),
# so scaling stops at their largest validated LR. resnet-imagenet at batch 8192 is exactly it.
MAX_SCALED_LR = 3.2
# Keys of earlier versions and what replaced them, for a one-line message instead of "unknown".
RENAMED = {"mixed_precision": "precision (auto, fp32, bf16 or fp16; a file without it gets "
                              "auto: bf16 on GPUs of compute capability 8.0+)"}


class ConfigError(ValueError):
    """A configuration value is invalid; the message is one line that names the fix."""


def _model_fields() -> list[tuple[str, Any, dataclasses.Field]]:
    """A field per hyperparameter the families mark as a training option (``Hparam.flag``),
    unset by default (the preset's or the family's value stands)."""
    chosen: dict[str, Hparam] = {}
    own = [hparam for family in registry.FAMILIES.values() for hparam in family.hparams]
    for hparam in (*own, *COMMON):
        if hparam.flag:
            chosen.setdefault(hparam.name, hparam)
    return [(h.name, h.kind | None, option(None, h.help, h.choices or None))
            for h in chosen.values()]


def _overrides(self: Any) -> dict[str, Any]:
    """The hyperparameters given, as keywords of ``build_model``."""
    return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
            if f.name != "arch" and getattr(self, f.name) is not None}


# A family or preset and the hyperparameters that override it (None: keep the preset's).
ModelConfig = dataclasses.make_dataclass(
    "ModelConfig",
    [("arch", str, option("pyramidsepdrop", "family or preset, e.g. pyramidsepdrop, wrn-28-10 "
                                            "(default pyramidsepdrop)")),
     *_model_fields()],
    namespace={"overrides": _overrides,
               "__doc__": "A family or preset and the hyperparameters that override it (None: "
                          "keep the preset's).", "__module__": __name__},
)


@dataclasses.dataclass
class DataConfig:
    """Where the images come from and how validation is held out."""

    dataset: str | None = option(None, "TFDS name (default cifar10) or 'synthetic' (offline)")
    data_dir: str | None = option(None, "image folder, one sub-folder per class")
    val_dir: str | None = option(None, "validation image folder (default: hold out "
                                       "--val-split)")
    val_split: float = option(0.1, "fraction held out per class for validation (default 0.1)")
    tfds_data_dir: str | None = option(None, "folder with prepared TFDS datasets")
    image_size: int | None = option(None, "input side (default: the model's, 32 on CIFAR)")
    eval_batch_size: int = option(256, "batch size of validation (default 256)")
    cache: str = option("auto", "auto (in memory when it fits --cache-budget-gb, else "
                                "streamed), memory, disk:PATH (TFRecords written once) or none")
    cache_budget_gb: float | None = option(None, "memory --cache auto may use (default: a "
                                                 "quarter of the machine's)")


@dataclasses.dataclass
class RecipeConfig:
    """Optimizer, schedule and augmentation: a named recipe's values, each overridable."""

    name: str | None = option(None, f"{', '.join(RECIPES)} (default: the family's paper "
                                    f"recipe)", key="recipe")
    epochs: int = option(300, "training epochs")
    batch_size: int = option(128, "global batch size")
    lr: float = option(0.1, "initial learning rate")
    schedule: str = option("step", "learning-rate decay", SCHEDULES)
    milestones: list[float] = dataclasses.field(default_factory=list,
                                                metadata={"help": "epochs of step decay"})
    lr_decay: float = option(0.1, "step decay factor")
    warmup_epochs: float = option(0.0, "linear warm-up from 0")
    momentum: float = option(0.9, "SGD momentum")
    nesterov: bool = option(True, "Nesterov momentum")
    weight_decay: float = option(1e-4, "L2 on the weights, as in the papers' Torch code")
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy (0: off)")
    crop_padding: int = option(4, "random crop padding (0: no crop)")
    flip: bool = option(True, "random horizontal flips")
    cutout: int = option(0, "Cutout square side (0: off)")
    randaugment_ops: int = option(0, "RandAugment ops per image (0: off)")
    randaugment_magnitude: float = option(0.5, "RandAugment strength (its factor)")
    mixup: float = option(0.0, "mixup Beta alpha (0: off)")
    augmentation: str | None = option(None, "cifar (pad, crop, flip) or imagenet (random-"
                                            "resized crop, flip; resize and center-crop "
                                            "evaluation); default: the model's stem", KINDS)
    lr_scaling: str = option("none", "linear: LR x global batch / the recipe's batch, at "
                                     "most 3.2, with 5 epochs of warm-up (default none: the "
                                     "papers' values)", LR_SCALINGS)


@dataclasses.dataclass
class RuntimeConfig(RuntimeRequest):
    """How and where the run executes: the runtime plan's choices (strategy, precision, XLA,
    kernels, steps per loop), then the run's folder, checkpoints, seed and determinism."""

    require_gpu: bool = option(False, "stop at once when no GPU is visible")
    output_dir: str | None = option(None, "default runs/ARCH")
    checkpoint_steps: int = option(0, "also checkpoint every N steps")
    stop_grace: float = option(60.0, "seconds a run has after SIGTERM or Ctrl-C to end its step "
                                     "and save; past them it exits at once, from the last "
                                     "checkpoint kept (default 60)")
    steps_per_epoch: int | None = option(None, "cap steps per epoch (smoke runs)")
    seed: int = option(0, "initial weights, data order and augmentation (default 0)")
    deterministic: bool = option(False, "the same --seed gives bit-identical runs "
                                        "(TensorFlow's op determinism; default off)")

    def request(self) -> RuntimeRequest:
        """The execution choices, for the runtime plan."""
        return RuntimeRequest(**{f.name: getattr(self, f.name)
                                 for f in dataclasses.fields(RuntimeRequest)})


SECTIONS: dict[str, type] = {"model": ModelConfig, "data": DataConfig, "recipe": RecipeConfig,
                             "runtime": RuntimeConfig}


@dataclasses.dataclass(frozen=True)
class Key:
    """One flat key (and flag) of the configuration: its section, field and type."""

    section: str
    field: dataclasses.Field
    hint: Any

    @property
    def flag(self) -> str:
        return "--" + key_of(self.field).replace("_", "-")


def key_of(field: dataclasses.Field) -> str:
    return field.metadata.get("key") or field.name


def _keys() -> dict[str, Key]:
    keys = {}
    for section, cls in SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            keys[key_of(field)] = Key(section, field, hints[field.name])
    return keys


KEYS: dict[str, Key] = _keys()


@dataclasses.dataclass
class TrainConfig:
    """Everything a training run depends on, in four sections."""

    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    recipe: RecipeConfig = dataclasses.field(default_factory=RecipeConfig)
    runtime: RuntimeConfig = dataclasses.field(default_factory=RuntimeConfig)

    @classmethod
    def from_flat(cls, values: dict[str, Any]) -> TrainConfig:
        """From flat keys (``KEYS``), each given to its section."""
        sections: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        for key, value in values.items():
            sections[KEYS[key].section][KEYS[key].field.name] = value
        return cls(**{name: SECTIONS[name](**kwargs) for name, kwargs in sections.items()})

    def cache_budget(self) -> int | None:
        """``cache_budget_gb`` in bytes (None: the default budget)."""
        gb = self.data.cache_budget_gb
        return None if gb is None else int(gb * 2**30)

    def input_size(self) -> int:
        """Image side length: ``image_size`` or the model preset's input size."""
        return self.data.image_size or registry.resolve(self.model.arch)[1]["input_shape"][0]

    def scaled_lr(self) -> tuple[float, float]:
        """(learning rate, warm-up epochs) after ``lr_scaling``: linear multiplies the LR by
        the global batch over the recipe's, up to ``MAX_SCALED_LR`` (never below the LR
        given), and above the recipe's batch warms up over at least 5 epochs, as Goyal et al.
        2017 did, however short the run."""
        recipe = self.recipe
        if recipe.lr_scaling == "none":
            return recipe.lr, recipe.warmup_epochs
        factor = recipe.batch_size / RECIPES[recipe.name]["batch_size"]
        lr = min(recipe.lr * factor, max(recipe.lr, MAX_SCALED_LR))
        warmup = recipe.warmup_epochs
        if factor > 1:
            warmup = max(warmup, SCALED_WARMUP_EPOCHS)
        return lr, warmup

    def to_dict(self) -> dict[str, Any]:
        """Nested by section, as ``config.json`` holds it."""
        return dataclasses.asdict(self)


def flatten(values: dict[str, Any], source: str = "config", strict: bool = True
            ) -> dict[str, Any]:
    """Flat keys from a file's mapping, nested by section or flat (dashes read as
    underscores). Raises ConfigError naming a renamed, misplaced or unknown key; with
    ``strict=False`` such keys are left out (reading an old run's folder)."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        key = key.replace("-", "_")
        if key in SECTIONS and isinstance(value, dict):
            names = {f.name: key_of(f) for f in dataclasses.fields(SECTIONS[key])}
            for name, item in value.items():
                name = name.replace("-", "_")
                if name in names:
                    flat[names[name]] = item
                elif strict:
                    _unknown(f"{key}.{name}", name, source)
        elif key in KEYS:
            flat[key] = value
        elif strict:
            _unknown(key, key, source)
    return flat


def _unknown(where: str, name: str, source: str) -> None:
    """Raises the one-line error for a key the configuration lacks (renamed, in another
    section, or unknown; a name with line breaks or other unprintables quoted)."""
    where = where if where.isprintable() else repr(where)
    if name in RENAMED:
        raise ConfigError(f"{source} key {where} was renamed: use {RENAMED[name]}.")
    if name in KEYS:
        k = KEYS[name]
        raise ConfigError(f"{source} key {where} belongs in section {k.section}: write "
                          f"{k.section}.{k.field.name}.")
    raise ConfigError(f"unknown option {where} in {source}; see train.py --help.")


def read_config_file(path: str, strict: bool = True) -> dict[str, Any]:
    """The flat keys and values of a JSON or YAML config file (nested by section or flat);
    ``strict=False`` leaves out keys this version does not know."""
    return flatten(read_mapping(path), f"config file {path}:", strict)


def read_mapping(path: str) -> dict[str, Any]:
    """The mapping a JSON or YAML file holds, dashes in its top-level keys read as
    underscores; ConfigError (one line naming the file) if it is missing, not UTF-8 text, does
    not parse (with the line) or is not a mapping of text keys."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"config file {path} does not exist; pass --config FILE.json|.yaml.")
    values = _parse(_read_text(file), path, file.suffix in (".yaml", ".yml"))
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a mapping of option: value.")
    _check_keys(values, path)
    return {k.replace("-", "_"): v for k, v in values.items()}


def _read_text(file: Path) -> str:
    """The file's UTF-8 text (a Windows editor's byte-order mark left out); ConfigError when
    it is binary or in another encoding."""
    try:
        text = file.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None or any(ord(c) < 32 and c not in "\t\n\r" for c in text):
        raise ConfigError(f"config file {file} is not UTF-8 text (a binary file?); pass a JSON "
                          f"or YAML file saved as UTF-8.")
    return text


def _parse(text: str, path: str, is_yaml: bool) -> Any:
    """What the JSON or YAML text holds (an empty YAML file: an empty mapping); ConfigError
    naming the line of a syntax error."""
    import yaml

    try:
        values = yaml.safe_load(text) if is_yaml else json.loads(text)
        return {} if values is None and is_yaml else values
    except json.JSONDecodeError as err:
        where, problem, kind = f" line {err.lineno}", err.msg, "JSON"
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f" line {mark.line + 1}" if mark else ""
        problem, kind = err.problem or err.context or "not YAML", "YAML"
    except Exception as err:  # a value YAML cannot build (a date past December, ...)
        where, problem, kind = "", f"{type(err).__name__}: {err}", "YAML" if is_yaml else "JSON"
    problem = " ".join(str(problem).split())
    raise ConfigError(f"cannot parse config file {path}{where}: {problem}; fix the {kind} "
                      f"there.")


def _check_keys(values: dict, path: str) -> None:
    """Every key of the file and of its sections is text (YAML reads ``1:`` or ``2024-01-01:``
    as a number or a date)."""
    for key, value in values.items():
        if not isinstance(key, str):
            raise ConfigError(f"config file {path}: key {key!r} is not an option name; write "
                              f"option: value pairs (quote a key that YAML reads otherwise).")
        if key.replace("-", "_") in SECTIONS and isinstance(value, dict):
            _check_keys(value, path)


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
    for key, value in values.items():
        hint = KEYS[key].hint
        if _fits(value, hint):
            continue
        extra = ""
        if isinstance(value, str) and hint in (float, float | None):
            try:
                float(value)
                extra = " (YAML reads a number such as 1e-3 as text: write 1.0e-3)"
            except ValueError:
                pass
        raise ConfigError(f"{KEYS[key].flag} (config key {KEYS[key].section}."
                          f"{KEYS[key].field.name}) must be "
                          f"{_expected(hint)}, got {value!r}{extra}.")


def scaled_schedule(recipe: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The recipe's milestones and warm-up for a run of ``given["epochs"]``: the same fractions
    of the run as of the recipe's epochs (He et al.'s 91 and 136 of 182 epochs are 50% and 75%
    of any length). Values given explicitly (flag or file) stay as they are, absolute."""
    epochs = given.get("epochs")
    if not isinstance(epochs, int) or epochs < 1 or epochs == recipe["epochs"]:
        return {}
    ratio = epochs / recipe["epochs"]
    scaled = {"milestones": [round(m * ratio, 4) for m in recipe["milestones"]],
              "warmup_epochs": round(recipe["warmup_epochs"] * ratio, 4)}
    return {key: value for key, value in scaled.items() if key not in given}


def schedule_line(config: TrainConfig) -> str:
    """The resolved learning-rate schedule in one line, as the run will follow it."""
    recipe = config.recipe
    lr, warmup = config.scaled_lr()
    steps = (f", x{recipe.lr_decay:g} at epochs {', '.join(f'{m:g}' for m in recipe.milestones)}"
             if recipe.schedule == "step" and recipe.milestones else "")
    return (f"schedule: {recipe.schedule}, LR {lr:g}{steps}, warm-up {warmup:g} epoch(s), "
            f"{recipe.epochs} epochs")


def resolve_config(cli: dict[str, Any], file_values: dict[str, Any] | None = None) -> TrainConfig:
    """defaults < recipe < config file < command line, from flat keys (the flags given, and
    :func:`read_config_file`'s values), each value checked by type and range before anything is
    built or written."""
    given = dict(file_values or {})
    given.update({k: v for k, v in cli.items() if v is not None})
    unknown = sorted(set(given) - set(KEYS))
    if unknown:
        names = ", ".join(k if k.isprintable() else repr(k) for k in unknown)
        raise ConfigError(f"unknown option(s) {names}; see train.py --help.")
    check_types(given)
    _raise_first(_finite_check(given))  # before the model's own range checks read them
    arch = given.get("arch", ModelConfig.arch)
    try:
        family, hparams = registry.resolve(arch)
        model_keys = {k: given[k] for k in given
                      if KEYS[k].section == "model" and k != "arch" and given[k] is not None}
        registry.check(arch, **model_keys)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    stem = hparams.get("stem", "cifar")
    recipe = given.get("recipe") or default_recipe(family, stem)
    if recipe not in RECIPES:
        raise ConfigError(f"unknown recipe {recipe!r}; recipes: {', '.join(sorted(RECIPES))}.")
    # The augmentation: given, else the recipe's, else the one the model's stem was made for.
    kind = "imagenet" if stem == "imagenet" else "cifar"
    config = TrainConfig.from_flat({"augmentation": kind, **RECIPES[recipe],
                                    **scaled_schedule(RECIPES[recipe], given), **given,
                                    "recipe": recipe})
    validate(config)
    return config


def _choices_check(config: TrainConfig) -> list[tuple[bool, str]]:
    """A check per field with choices: its value is one of them (None passes as unset)."""
    checks = []
    for k in KEYS.values():
        choices = k.field.metadata.get("choices")
        value = getattr(getattr(config, k.section), k.field.name)
        if choices and value is not None:
            checks.append((value in choices, f"{k.flag} must be one of {', '.join(choices)}, "
                                             f"got {value!r}"))
    return checks


# The largest integer any option takes: counts of epochs, steps, images and layers past it
# overflow the int32 tensors TensorFlow keeps them in, and no run needs them.
MAX_INT = 2**31 - 1
# The largest --seed: NumPy's global seed (keras.utils.set_random_seed) is 32-bit.
MAX_SEED = 2**32 - 1
# The largest --image-size: past it one image's activations fill a machine (100000 ran TF out of
# memory); ImageNet models take 224 to 600.
MAX_IMAGE_SIZE = 1024


def _finite_check(values: dict[str, Any]) -> list[tuple[bool, str]]:
    """A check per number of flat option values (lists included): finite, and an integer
    within ``MAX_INT`` (the seed within ``MAX_SEED``). An inf or NaN learning rate, decay or
    widening trains to NaN."""
    checks = []
    for key, value in values.items():
        k = KEYS[key]
        for number in value if isinstance(value, list) else [value]:
            if isinstance(number, float) and not math.isfinite(number):
                checks.append((False, f"{k.flag} must be a finite number, got {number}"))
            elif isinstance(number, int) and not isinstance(number, bool) and \
                    abs(number) > MAX_INT and k.field.name != "seed":
                checks.append((False, f"{k.flag} must be at most {MAX_INT}, got {number}"))
            elif k.field.name == "seed" and isinstance(number, int) and number > MAX_SEED:
                checks.append((False, f"{k.flag} must be at most {MAX_SEED}, got {number}"))
    return checks


def _raise_first(checks: list[tuple[bool, str]]) -> None:
    """Raises ConfigError with the message of the first failed check."""
    for ok, message in checks:
        if not ok:
            raise ConfigError(message + ".")


def _overlap_check(data_dir: str | None, output_dir: str | None) -> tuple[bool, str]:
    """The run's folder apart from its image folder: checkpoints written among the classes
    would be read as images, and a class named like a checkpoint folder would be overwritten."""
    if not data_dir or not output_dir:
        return True, ""
    data, out = Path(data_dir).resolve(), Path(output_dir).resolve()
    overlap = data == out or data in out.parents or out in data.parents
    return not overlap, (f"--output-dir {output_dir} and --data-dir {data_dir} overlap; write "
                         f"the run outside the image folder")


# Logical CPU devices a run may split the CPU into (tests of several replicas use 2 to 8).
MAX_CPU_DEVICES = 64
# Seconds of --stop-grace: a day, far past any scheduler's own grace before its SIGKILL.
MAX_STOP_GRACE = 86400
# RandAugment ops per image: Cubuk et al. search N in 1 to 3; Keras builds a branch per op.
MAX_RANDAUGMENT_OPS = 10


def _range_check(config: TrainConfig) -> list[tuple[bool, str]]:
    """Values in the range a run can use: an augmentation no larger than the image, a
    schedule that decays within the run, a CPU split a machine can make."""
    recipe, side = config.recipe, config.input_size()
    return [
        (recipe.crop_padding <= side,
         f"--crop-padding {recipe.crop_padding} is larger than the {side}-pixel image"),
        (recipe.cutout <= side,
         f"--cutout {recipe.cutout} is larger than the {side}-pixel image"),
        (0 <= recipe.randaugment_ops <= MAX_RANDAUGMENT_OPS,
         f"--randaugment-ops must be in [0, {MAX_RANDAUGMENT_OPS}], got "
         f"{recipe.randaugment_ops}"),
        (0 <= recipe.randaugment_magnitude <= 1,
         f"--randaugment-magnitude must be in [0, 1], got {recipe.randaugment_magnitude}"),
        (0 < recipe.lr_decay <= 1, f"--lr-decay must be in (0, 1], got {recipe.lr_decay}"),
        (all(m >= 0 for m in recipe.milestones),
         f"--milestones must be >= 0, got {recipe.milestones}"),
        (config.runtime.cpu_devices <= MAX_CPU_DEVICES,
         f"--cpu-devices must be at most {MAX_CPU_DEVICES}, got {config.runtime.cpu_devices}"),
    ]


def validate(config: TrainConfig) -> None:
    """Raises ConfigError on values no run can use."""
    recipe, data, runtime = config.recipe, config.data, config.runtime
    checks = [
        *_finite_check({key: getattr(getattr(config, k.section), k.field.name)
                        for key, k in KEYS.items()}),
        (not (data.dataset and (data.data_dir or data.val_dir)),
         f"--dataset {data.dataset} and --data-dir/--val-dir name two training sources; pass "
         f"one"),
        _overlap_check(data.data_dir, runtime.output_dir),
        *_range_check(config),
        (0 <= recipe.momentum < 1, f"--momentum must be in [0, 1), got {recipe.momentum}"),
        (recipe.epochs >= 1, f"--epochs must be >= 1, got {recipe.epochs}"),
        (recipe.batch_size >= 1, f"--batch-size must be >= 1, got {recipe.batch_size}"),
        (recipe.lr > 0, f"--lr must be > 0, got {recipe.lr}"),
        *_choices_check(config),
        (runtime.cpu_devices >= 0, f"--cpu-devices must be >= 0, got {runtime.cpu_devices}"),
        (runtime.seed >= 0, f"--seed must be >= 0, got {runtime.seed}"),
        (runtime.steps_per_loop is None or runtime.steps_per_loop >= 1,
         f"--steps-per-loop must be >= 1, got {runtime.steps_per_loop}"),
        (runtime.steps_per_epoch is None or runtime.steps_per_epoch >= 1,
         f"--steps-per-epoch must be >= 1, got {runtime.steps_per_epoch}"),
        (data.eval_batch_size >= 1,
         f"--eval-batch-size must be >= 1, got {data.eval_batch_size}"),
        (0 <= data.val_split < 1, f"--val-split must be in [0, 1), got {data.val_split}"),
        (recipe.weight_decay >= 0, f"--weight-decay must be >= 0, got {recipe.weight_decay}"),
        (0 <= recipe.label_smoothing < 1,
         f"--label-smoothing must be in [0, 1), got {recipe.label_smoothing}"),
        (recipe.mixup >= 0, f"--mixup must be >= 0, got {recipe.mixup}"),
        (runtime.checkpoint_steps >= 0,
         f"--checkpoint-steps must be >= 0, got {runtime.checkpoint_steps}"),
        (0 < runtime.stop_grace <= MAX_STOP_GRACE,
         f"--stop-grace must be in (0, {MAX_STOP_GRACE}] seconds, got {runtime.stop_grace}"),
        (data.image_size is None or 8 <= data.image_size <= MAX_IMAGE_SIZE,
         f"--image-size must be in [8, {MAX_IMAGE_SIZE}], got {data.image_size}"),
        (cache.valid(data.cache), f"--cache must be {cache.CHOICES}, got {data.cache!r}"),
        (data.cache_budget_gb is None or data.cache_budget_gb >= 0,
         f"--cache-budget-gb must be >= 0, got {data.cache_budget_gb}"),
    ]
    _raise_first(checks)
