"""Learning-rate schedule of the recipes: linear warm-up, then step decay at milestones or
cosine decay to zero; a serialisable Keras schedule driven by the optimizer's step counter, so
a restored optimizer resumes at the right learning rate."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import ops

from keras_wrn.training.decays import SCHEDULES


@keras.saving.register_keras_serializable(package="keras_wrn")
class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """LR at optimizer step ``t`` (all counts in steps)."""

    def __init__(self, base_lr: float, total_steps: int, warmup_steps: int = 0,
                 kind: str = "step", boundaries: Sequence[int] = (), decay: float = 0.1):
        if kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {kind!r}.")
        self.base_lr = float(base_lr)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.kind = kind
        self.boundaries = [int(b) for b in boundaries]
        self.decay = float(decay)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        if self.kind == "cosine":
            span = max(self.total_steps - self.warmup_steps, 1)
            progress = ops.clip((step - self.warmup_steps) / span, 0.0, 1.0)
            lr = 0.5 * self.base_lr * (1.0 + ops.cos(math.pi * progress))
        else:
            passed = sum(ops.cast(step >= b, "float32") for b in self.boundaries) \
                if self.boundaries else 0.0
            lr = self.base_lr * ops.power(self.decay, passed)
        if self.warmup_steps:
            warm = self.base_lr * (step + 1.0) / self.warmup_steps
            lr = ops.where(step < self.warmup_steps, ops.minimum(warm, lr), lr)
        return lr

    def get_config(self) -> dict:
        return {"base_lr": self.base_lr, "total_steps": self.total_steps,
                "warmup_steps": self.warmup_steps, "kind": self.kind,
                "boundaries": self.boundaries, "decay": self.decay}
