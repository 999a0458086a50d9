"""The papers' training schedules as named recipes (data): values of the configuration's recipe
section only, each overridable from the command line or a config file. The CIFAR recipes'
milestones assume the CIFAR training set, the ImageNet ones ImageNet-1k's 1.28M images."""

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
    # He et al. 2015 (section 3.4): SGD, batch 256, LR 0.1 divided by 10 on plateaus, weight
    # decay 1e-4, momentum 0.9; run as 90 epochs with steps at 30 and 60 (fb.resnet.torch,
    # torchvision's reference). ImageNet augmentation: random-resized crop and flip; evaluation
    # on the 224 center crop of the image resized to 256.
    "resnet-imagenet": {
        "epochs": 90, "batch_size": 256, "lr": 0.1, "schedule": "step",
        "milestones": [30, 60], "lr_decay": 0.1, "warmup_epochs": 0,
        "momentum": 0.9, "nesterov": False, "weight_decay": 1e-4, "augmentation": "imagenet",
    },
    # Han et al. 2017, PyramidNet-200 a300 on ImageNet, from the authors' code
    # (dyhan0920/PyramidNet-PyTorch: the README's command, --lr 0.05 --batch_size 128
    # --epochs 100, and train.py's adjust_learning_rate, LR x0.1 every 30 epochs; SGD with
    # Nesterov momentum 0.9, weight decay 1e-4; fb.resnet.torch's augmentation).
    "pyramidnet-imagenet": {
        "epochs": 100, "batch_size": 128, "lr": 0.05, "schedule": "step",
        "milestones": [30, 60, 90], "lr_decay": 0.1, "warmup_epochs": 0,
        "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4, "augmentation": "imagenet",
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

# The default recipe of a preset with the ImageNet stem, by family.
IMAGENET_RECIPES = {
    "resnet": "resnet-imagenet",
    "preact_resnet": "resnet-imagenet",
    "pyramidnet": "pyramidnet-imagenet",
    "pyramiddrop": "pyramidnet-imagenet",
    "pyramidsepdrop": "pyramidnet-imagenet",
}

FAMILY_RECIPES = {
    "resnet": "resnet-cifar",
    "preact_resnet": "resnet-cifar",
    "wrn": "wrn-cifar",
    "pyramidnet": "pyramidnet-cifar",
    "pyramiddrop": "pyramidnet-cifar",
    "pyramidsepdrop": "pyramidsepdrop-cifar",
}
