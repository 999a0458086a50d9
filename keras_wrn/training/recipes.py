"""The papers' training schedules as named recipes (data): values of the configuration's recipe
section only, each overridable from the command line or a config file. Epoch milestones assume
the CIFAR training set."""

from __future__ import annotations

from typing import Any

RECIPES: dict[str, dict[str, Any]] = {
    # Han et al. 2017 / jhkim89/PyramidNet: 300 epochs, LR 0.1 (0.5 on CIFAR-100) x0.1 at 150, 225.
    "pyramidnet-cifar": {
        "epochs": 300, "batch_size": 128, "lr": 0.1, "schedule": "step",
        "milestones": [150, 225], "lr_decay": 0.1, "warmup_epochs": 0,
        "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4,
    },
    # Yamada et al. 2016 (PyramidSepDrop README): the PyramidNet recipe with initial LR 0.5.
    "pyramidsepdrop-cifar": {
        "epochs": 300, "batch_size": 128, "lr": 0.5, "schedule": "step",
        "milestones": [150, 225], "lr_decay": 0.1, "warmup_epochs": 0,
        "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4,
    },
    # Zagoruyko & Komodakis 2016: 200 epochs, LR 0.1 x0.2 at 60, 120, 160, weight decay 5e-4.
    "wrn-cifar": {
        "epochs": 200, "batch_size": 128, "lr": 0.1, "schedule": "step",
        "milestones": [60, 120, 160], "lr_decay": 0.2, "warmup_epochs": 0,
        "momentum": 0.9, "nesterov": True, "weight_decay": 5e-4,
    },
    # He et al. 2015: LR 0.1 x0.1 at 32k and 48k iterations, 64k in all, batch 128 on a 45k/5k
    # split (352 steps per epoch: 91, 136 and 182 epochs); 0.01 warm-up for ResNet-110.
    "resnet-cifar": {
        "epochs": 182, "batch_size": 128, "lr": 0.1, "schedule": "step",
        "milestones": [91, 136], "lr_decay": 0.1, "warmup_epochs": 1,
        "momentum": 0.9, "nesterov": False, "weight_decay": 1e-4,
    },
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

FAMILY_RECIPES = {
    "resnet": "resnet-cifar",
    "preact_resnet": "resnet-cifar",
    "wrn": "wrn-cifar",
    "pyramidnet": "pyramidnet-cifar",
    "pyramiddrop": "pyramidnet-cifar",
    "pyramidsepdrop": "pyramidsepdrop-cifar",
}
