"""Training schedules as named recipes (data): values of the configuration's recipe section only,
each overridable from the command line or a config file. The papers' recipes are declared by
their families' modules (keras_wrn.models); the CIFAR recipes' milestones assume the CIFAR
training set, the ImageNet ones ImageNet-1k's 1.28M images."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras_wrn.models import registry
from keras_wrn.models.family import FAMILIES, Collected

GENERAL: dict[str, dict[str, Any]] = {
    # A CPU budget of ~30 minutes on 2 cores (ResNet-20, 45k CIFAR-10 images): few epochs,
    # half an epoch of warm-up, cosine decay to zero, label smoothing.
    "cpu-fast": {
        "epochs": 6, "batch_size": 128, "lr": 0.2, "schedule": "cosine",
        "milestones": [], "lr_decay": 0.1, "warmup_epochs": 0.5,
        "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4, "label_smoothing": 0.1,
    },
    # The README quick start on synthetic data: a few short epochs.
    "quick": {
        "epochs": 4, "batch_size": 64, "lr": 0.05, "schedule": "cosine",
        "milestones": [], "lr_decay": 0.1, "warmup_epochs": 0,
        "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
    },
}


def _recipes() -> dict[str, dict[str, Any]]:
    recipes = dict(GENERAL)
    for family in FAMILIES.values():
        recipes.update({name: dict(values) for name, values in family.recipes.items()})
    return recipes


# The general recipes and every registered family's, by name.
RECIPES: Mapping[str, dict[str, Any]] = Collected(_recipes)


def default_recipe(family: str, stem: str) -> str:
    """The recipe a family's paper trained with, for the stem."""
    record = registry.get_family(family)
    return (record.imagenet_recipe if stem == "imagenet" else None) or record.recipe
