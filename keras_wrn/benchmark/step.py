"""A training step to time: a Trainer on synthetic data and a call that runs the plan's steps per
loop on one batch, cached and repeated (augmented on the host, or in the step where the plan
augments there), so that the step is timed, not the input pipeline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import tensorflow as tf

from keras_wrn.data import AugmentConfig, load_synthetic, train_dataset
from keras_wrn.runtime import RuntimePlan
from keras_wrn.training import TrainConfig, Trainer


def timed_step(config: TrainConfig, plan: RuntimePlan, strategy: tf.distribute.Strategy,
               output_dir: str | Path) -> tuple[Trainer, Callable[[], float]]:
    """The Trainer for ``config`` and a blocking call of ``plan.steps_per_loop`` training steps
    (returns the loss, read on the host); each call trains ``batch_size x steps_per_loop``
    images."""
    batch = config.recipe.batch_size
    data = load_synthetic(config.input_size(), train_examples=max(2 * batch, 256),
                          val_examples=10)
    trainer = Trainer(config, strategy, data, output_dir, log=lambda _: None, plan=plan)

    def replica_batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
        # Per-replica batches, as training builds them: a batch augmented in the step carries
        # its seed, which splitting a global batch over the replicas would cut.
        return train_dataset(data.train_examples, data.num_classes,
                             context.get_per_replica_batch_size(batch), 0, 0, AugmentConfig(),
                             on_device=trainer.device_augment).take(1).cache().repeat()

    iterator = iter(strategy.distribute_datasets_from_function(replica_batches))

    def call() -> float:
        return trainer.train_call(iterator, plan.steps_per_loop)[0]

    return trainer, call
