"""The training loop: a custom step run with `strategy.run` inside a `tf.function` (Keras 3's
`Model.fit` fails under MultiWorkerMirroredStrategy, keras-team/keras#20585), K steps per host
call where the runtime plan asks for it, checkpoints that hold the model, the optimizer (and so
the schedule step) and the data position, and resumption after a crash or preemption."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from keras_wrn.core import artifacts, console
from keras_wrn.core.watchdog import Watchdog, suspended
from keras_wrn.data import (
    AugmentConfig,
    DataSource,
    augment_batch,
    device_augmentable,
    eval_dataset,
    prepared,
    steps_per_epoch,
    train_dataset,
)
from keras_wrn.data.autotune import untune_device_prefetch
from keras_wrn.kernels import (
    batch_norm_layers,
    onednn_batch_norms,
    winograd_convolutions,
    winograd_layers,
)
from keras_wrn.kernels.swap import swapped
from keras_wrn.layers import StochasticDepth, StochasticResidual
from keras_wrn.models import build_model
from keras_wrn.runtime import RuntimePlan, current_plan
from keras_wrn.runtime.agreement import agree_on_plan
from keras_wrn.runtime.strategy import is_chief, is_multi_worker, num_workers, task_id
from keras_wrn.training.checkpoints import remove_unfinished_writes, restore_newest_complete
from keras_wrn.training.config import ConfigError, TrainConfig
from keras_wrn.training.curves import write_curves
from keras_wrn.training.evaluation import evaluate, make_eval_step
from keras_wrn.training.loss_scale import ReplicaSyncedLossScaleOptimizer
from keras_wrn.training.progress import EpochProgress
from keras_wrn.training.schedule import WarmupDecay

PREEMPTED_EXIT_CODE = 42  # SIGTERM, as tf.distribute's PreemptionCheckpointHandler
INTERRUPTED_EXIT_CODE = 130  # Ctrl-C, as a shell reports SIGINT
_STOPS = {signal.SIGTERM: ("SIGTERM", PREEMPTED_EXIT_CODE),
          signal.SIGINT: ("Ctrl-C", INTERRUPTED_EXIT_CODE)}


class PreemptedError(Exception):
    """Training stopped on SIGTERM or Ctrl-C after saving a checkpoint; re-running resumes it.
    ``exit_code`` is what the process should exit with."""

    def __init__(self, message: str, exit_code: int = PREEMPTED_EXIT_CODE):
        super().__init__(message)
        self.exit_code = exit_code


class DivergedError(Exception):
    """Training reached a non-finite loss or learning rate. Raised at the host read that saw
    it, before any checkpoint or model of that state is written: the last checkpoint stays the
    one to resume from."""


class Trainer:
    """Trains ``config.model.arch`` on ``data`` under ``strategy``, writing to ``output_dir``, as
    ``plan`` says (default: the plan for ``config`` on the devices TensorFlow sees)."""

    def __init__(self, config: TrainConfig, strategy: tf.distribute.Strategy, data: DataSource,
                 output_dir: str | Path, log: Callable[[str], None] = console.say,
                 plan: RuntimePlan | None = None):
        self.config, self.strategy, self.data, self.log = config, strategy, data, log
        self.output_dir = Path(output_dir)
        self.chief = is_chief(strategy)
        self.replicas = strategy.num_replicas_in_sync
        if config.recipe.batch_size % self.replicas:
            raise ConfigError(f"--batch-size {config.recipe.batch_size} is not divisible by "
                              f"the {self.replicas} replicas; use a multiple of {self.replicas}.")
        if isinstance(strategy, (tf.distribute.MirroredStrategy,
                                 tf.distribute.MultiWorkerMirroredStrategy)):
            untune_device_prefetch()  # a strategy not from make_strategy too
        # Each worker reads its own share of the data (file shards, or every W-th example).
        self.workers = num_workers(strategy)
        self.replicas_per_worker = self.replicas // self.workers
        full_epoch = steps_per_epoch(data.train_examples, config.recipe.batch_size, self.workers)
        if full_epoch < 1:
            raise ConfigError(f"--batch-size {config.recipe.batch_size} exceeds the "
                              f"{data.train_size} training examples; use a smaller batch.")
        self.steps_per_epoch = min(config.runtime.steps_per_epoch or full_epoch, full_epoch)
        self.plan = plan or current_plan(config.runtime.request(),
                                         self.steps_per_epoch * config.recipe.epochs,
                                         config.recipe.batch_size)
        if is_multi_worker(strategy):
            agree_on_plan(self.plan, task_id(strategy), self.workers)
        if self.chief:
            log(self.plan.summary())
        if config.runtime.deterministic:  # process-wide, and for good: what the run asked for
            tf.config.experimental.enable_op_determinism()
        self.image_size = config.input_size()
        # The same initial weights on every replica and run.
        keras.utils.set_random_seed(config.runtime.seed)
        self.lr, warmup_epochs = config.scaled_lr()
        previous_policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.plan.mixed_precision_policy)  # the layers keep it
        try:
            with strategy.scope():
                self._build(warmup_epochs)
        finally:
            keras.config.set_dtype_policy(previous_policy)
        # Keras' seed generators (stochastic depth's draws) are model variables that the
        # model's checkpoint dependencies leave out: saved beside it, so a resumed run draws
        # the gates the uninterrupted run draws.
        seed_states = [v for v in self.model.variables if v.path.endswith("seed_generator_state")]
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer,
                                              epoch=self.epoch, step_in_epoch=self.step_in_epoch,
                                              epoch_sums=self.epoch_sums, seed_states=seed_states)
        # Every worker restores the chief's checkpoints (TensorFlow's pattern for
        # MultiWorkerMirrored): a worker that lost its own folder resumes in step with the rest.
        # The others save too (the save is collective) but to a private folder.
        self._chief_checkpoints = self.output_dir / "checkpoints"
        self._checkpoint_dir = self._chief_checkpoints
        if not self.chief:
            self._checkpoint_dir = self._chief_checkpoints / f"worker-{task_id(strategy)}"
        if self.chief:
            remove_unfinished_writes(self._chief_checkpoints)
        # The newest checkpoint that restores completely; the chief drops the ones skipped
        # from the folder's list, so that the manager below and later runs start from it.
        restored = restore_newest_complete(self.checkpoint, self._chief_checkpoints, log,
                                           rewrite_state=self.chief)
        trained = int(self.epoch.numpy())
        # The newest checkpoint on disk, in words: what a run stopped by the watchdog leaves.
        self._kept = (f"epoch {trained + 1} step {int(self.step_in_epoch.numpy())} ({restored})"
                      if restored else None)
        if trained > config.recipe.epochs:
            raise ConfigError(f"{self.output_dir} has trained {trained} epochs, more than "
                              f"--epochs {config.recipe.epochs}; pass --epochs {trained} or "
                              f"more to extend it, or another --output-dir.")
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self._checkpoint_dir),
                                                  max_to_keep=2)
        self._preemption = None
        self._stop_signal: int | None = None  # SIGTERM or SIGINT, once received
        # Exits the run when no step ends within --stop-grace of the signal (single worker).
        self._watchdog = Watchdog(config.runtime.stop_grace, self._stuck_line)
        if is_multi_worker(strategy):
            # Makes every worker save when one is preempted. It restores the worker's own
            # latest checkpoint, which the chief's then replaces again.
            self._preemption = tf.distribute.experimental.PreemptionCheckpointHandler(
                strategy.cluster_resolver, self.manager)
            if restored:
                self.checkpoint.restore(restored).assert_existing_objects_matched()
        self._decorrelate_replicas()
        # Unsynchronised batch norms keep per-replica moving statistics (Keras creates them
        # with aggregation "none"): averaged before every checkpoint, evaluation and save.
        self._replica_statistics = [] if self.plan.sync_bn or self.replicas == 1 else [
            v for layer in self.model._flatten_layers()
            if isinstance(layer, keras.layers.BatchNormalization)
            for v in (layer.moving_mean, layer.moving_variance)]
        self._average_statistics = self._make_statistics_average()
        plan = self.plan
        # The step's graph computes the wide 3x3 convs with Winograd; the model is unchanged.
        self.winograd_layers = winograd_layers(self.model) if plan.winograd else []
        # And its batch norms take their sums of products with oneDNN (kernels/batch_norm.py).
        self.batch_norm_layers = batch_norm_layers(self.model) if plan.onednn_bn_sums else []
        # Dropped branches are multiplied by their zero gate where the plan says not to skip
        # them (a cond on a device-computed predicate stalls a GPU's host).
        self._multiplied_residuals = [] if plan.skip_dropped else [
            layer for layer in self.model.layers if isinstance(layer, StochasticResidual)]
        # In-memory CIFAR-size batches are cropped, flipped and cut out in the replica step:
        # per-image host work would not keep several GPUs busy, and on a CPU it takes cores
        # from the step (docs/performance.md).
        self.device_augment = plan.device_augment and device_augmentable(
            data.train_examples, self._augmentation())
        self.train_step, self.train_loop = self._make_train_functions()
        self._eval_step = make_eval_step(self.model, strategy)

    def _build(self, warmup_epochs: float) -> None:
        """The model, schedule, optimizer and position counters (under the strategy's scope)."""
        config = self.config
        self.model = build_model(
            config.model.arch, num_classes=self.data.num_classes,
            input_shape=(self.image_size, self.image_size, 3),
            sync_bn=self.plan.sync_bn, seed=config.runtime.seed, **config.model.overrides(),
        )
        self.schedule = WarmupDecay(
            self.lr, total_steps=config.recipe.epochs * self.steps_per_epoch,
            warmup_steps=round(warmup_epochs * self.steps_per_epoch),
            kind=config.recipe.schedule,
            boundaries=[round(m * self.steps_per_epoch) for m in config.recipe.milestones],
            decay=config.recipe.lr_decay,
        )
        optimizer = keras.optimizers.SGD(self.schedule, momentum=config.recipe.momentum,
                                         nesterov=config.recipe.nesterov)
        if self.plan.precision == "fp16":
            optimizer = ReplicaSyncedLossScaleOptimizer(optimizer)
        optimizer.build(self.model.trainable_variables)
        self.optimizer = optimizer
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # The epoch's loss and accuracy sums so far: a resumed epoch's record covers all of it.
        self.epoch_sums = tf.Variable(tf.zeros([2], tf.float64), trainable=False,
                                      name="epoch_sums")
        self._sums = np.zeros(2)

    def _decorrelate_replicas(self) -> None:
        """Gives each replica its own stream of per-example random draws (dropout masks,
        per-sample stochastic-depth gates), so that the global batch's noise is not repeated
        replica by replica; per-batch gates stay identical, as the papers drop a block for the
        whole mini-batch. Keras' seed generators keep one state per replica: replica r's
        counter starts r * 2**32 draws further. Saved states are replica 0's (offset 0), so
        this runs again after every restore and a resumed run draws what the whole run draws."""
        if self.replicas == 1:
            return
        generators = [layer.seed_generator for layer in self.model._flatten_layers()
                      if isinstance(layer, keras.layers.Dropout) or (
                          isinstance(layer, StochasticDepth) and layer.mode == "sample")]
        first = task_id(self.strategy) * self.replicas_per_worker
        for generator in generators:
            for local, state in enumerate(self.strategy.experimental_local_results(
                    generator.state.value)):
                offset = tf.constant([0, (first + local) << 32], state.dtype)
                state.assign(state.read_value() + offset)

    def _make_statistics_average(self):
        """A function that averages the unsynchronised moving statistics over the replicas
        (an all-reduce over all workers), or None when there are none."""
        stats = self._replica_statistics
        if not stats:
            return None

        def replica_average():
            context = tf.distribute.get_replica_context()
            means = context.all_reduce(tf.distribute.ReduceOp.MEAN,
                                       [tf.identity(v.value) for v in stats])
            for variable, mean in zip(stats, means, strict=True):
                variable.assign(mean)

        return tf.function(lambda: self.strategy.run(replica_average), autograph=False)

    def _agree_statistics(self) -> None:
        """Every replica's moving statistics set to their mean (see ``_replica_statistics``)."""
        if self._average_statistics is not None:
            self._average_statistics()

    # ----------------------------------------------------------------------------------------
    def _kernels(self) -> contextlib.ExitStack:
        """The swaps the training step is traced under (the model's own layers stay as they
        are for evaluation, checkpoints and exports)."""
        stack = contextlib.ExitStack()
        stack.enter_context(winograd_convolutions(self.winograd_layers))
        stack.enter_context(onednn_batch_norms(self.batch_norm_layers))
        stack.enter_context(swapped(self._multiplied_residuals, "skip_dropped", lambda _: False))
        return stack

    def _make_train_functions(self):
        """``train_step(batch)`` and ``train_loop(iterator, steps)``: one step, or ``steps``
        steps in one host call. Both return [mean loss, accuracy] summed over their steps and
        the last step's learning rate, in one tensor: one host read per call."""
        config, model, optimizer = self.config, self.model, self.optimizer
        global_batch, replicas = config.recipe.batch_size, self.replicas
        scale_loss = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

        variables = model.trainable_weights

        augmentation = self._augmentation()

        def forward_backward(images, labels, seed=None):
            """The replica's loss and gradients (after augmenting its batch on the device
            when it comes with its ``seed``): what XLA compiles on GPU plans."""
            if seed is not None:
                images = augment_batch(images, seed, augmentation.crop_padding,
                                       augmentation.flip, augmentation.cutout)
            images = tf.cast(images, tf.float32)  # uint8 until here: a quarter of the copy
            with tf.GradientTape() as tape:
                logits = tf.cast(model(images, training=True), tf.float32)
                per_example = keras.losses.categorical_crossentropy(
                    labels, logits, from_logits=True, label_smoothing=config.recipe.label_smoothing)
                loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
                total = loss
                if config.recipe.weight_decay:
                    # Coupled L2 on every weight, as torch.optim.SGD(weight_decay=...) in the
                    # papers' code; divided by the replicas because gradients are summed.
                    l2 = tf.add_n([tf.reduce_sum(tf.square(w)) for w in variables])
                    total += 0.5 * config.recipe.weight_decay * l2 / replicas
                if scale_loss:
                    total = optimizer.scale_loss(total)
            grads = tape.gradient(total, variables)
            correct = tf.reduce_sum(tf.cast(tf.equal(
                tf.argmax(logits, -1), tf.argmax(labels, -1)), tf.float32))
            return grads, tf.reduce_sum(per_example), correct

        def compiled(fn):
            return tf.function(fn, jit_compile=True, reduce_retracing=True, autograph=False) \
                if self.plan.jit_compile else fn

        if replicas == 1:
            def replica_step(*batch):
                grads, loss, correct = forward_backward(*batch)
                optimizer.apply_gradients(zip(grads, variables, strict=True))
                return loss, correct

            # One replica: the whole step, update included, is one XLA program on a GPU.
            replica_step = compiled(replica_step)

            def run_step(batch):
                return self.strategy.run(replica_step, args=batch)
        else:
            # Several replicas: XLA compiles each replica's forward and backward pass, which
            # on GPUs tf.distribute runs without merge_call (a compiled replica function
            # cannot make one, and Keras' optimizer needs one for its step counter). The
            # update runs in a second, uncompiled replica function: Keras sums the gradients
            # over the replicas in one batched all-reduce (NCCL on GPUs) and every replica
            # updates its own copy of the weights; fp16's overflow check sees every replica's
            # gradients (ReplicaSyncedLossScaleOptimizer).
            replica_grads = compiled(forward_backward)

            def replica_apply(grads):
                optimizer.apply_gradients(zip(grads, variables, strict=True))

            def run_step(batch):
                grads, loss, correct = self.strategy.run(replica_grads, args=batch)
                self.strategy.run(replica_apply, args=(grads,))
                return loss, correct

        def one_step(batch):
            loss, correct = run_step(batch)
            reduce = self.strategy.reduce
            return tf.stack([reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                             reduce(tf.distribute.ReduceOp.SUM, correct, axis=None)]) \
                / global_batch

        def with_lr(sums):
            lr = tf.cast(self.schedule(optimizer.iterations - 1), tf.float32)
            return tf.concat([sums, [lr]], 0)

        # The swaps wrap strategy.run, not replica_step: MirroredStrategy traces the replicas
        # in threads, which must all see them. No autograph: nothing here branches or loops
        # on a tensor in Python, and converting the model's code took about a sixth of the
        # first call (docs/performance.md).
        @tf.function(reduce_retracing=True, autograph=False)
        def train_step(batch):
            with self._kernels():
                return with_lr(one_step(batch))

        @tf.function(autograph=False)
        def train_loop(iterator, steps):
            with self._kernels():
                _, sums = tf.while_loop(
                    lambda step, _: step < steps,
                    lambda step, sums: (step + 1, sums + one_step(next(iterator))),
                    (tf.constant(0, steps.dtype), tf.zeros([2])))
                return with_lr(sums)

        return train_step, train_loop

    def _train_data(self, epoch: int, skip: int):
        """The epoch's distributed batches from step ``skip``: each worker builds its share
        (its shard of the examples, per-replica batches; tf.data auto-sharding is off)."""
        config, per_worker = self.config, self.replicas_per_worker

        def worker_data(context: tf.distribute.InputContext) -> tf.data.Dataset:
            dataset = train_dataset(
                self.data.train_examples, self.data.num_classes,
                context.get_per_replica_batch_size(config.recipe.batch_size), epoch,
                config.runtime.seed, self._augmentation(), skip_batches=skip * per_worker,
                shard=context.input_pipeline_id, shards=context.num_input_pipelines,
                on_device=self.device_augment)
            return dataset.take((self.steps_per_epoch - skip) * per_worker)

        return self.strategy.distribute_datasets_from_function(worker_data)

    def _val_data(self):
        """Validation batches, each worker its every W-th example or its own files, padded
        with examples of weight 0 (label -1) to whole batches on every replica and the same
        number of steps on every worker; the evaluation step all-reduces the sums."""
        data, size = self.data, self.image_size
        batch = max(1, self.config.data.eval_batch_size // self.replicas)
        per_step = batch * self.replicas_per_worker
        steps = math.ceil(max(data.val_examples.shard_sizes(self.workers)) / per_step)
        padding = tf.data.Dataset.from_tensors(
            (tf.zeros([size, size, 3], tf.uint8), tf.constant(-1, tf.int32))).repeat()

        def worker_data(context: tf.distribute.InputContext) -> tf.data.Dataset:
            examples = prepared(data.val_examples, data.kind, context.input_pipeline_id,
                                context.num_input_pipelines)
            examples = examples.concatenate(padding).take(steps * per_step)
            return eval_dataset(examples, data.num_classes, batch)

        return self.strategy.distribute_datasets_from_function(worker_data)

    def _augmentation(self) -> AugmentConfig:
        """The augmentation fields of the configuration's recipe."""
        return AugmentConfig.from_recipe(self.config.recipe)

    def _position(self, epoch: int, step: int) -> None:
        """The checkpoint's position: the next batch, and the sums of the epoch until it."""
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step)
        self.epoch_sums.assign(self._sums if step else np.zeros(2))

    def _save_checkpoint(self, epoch: int, step: int) -> None:
        self._watchdog.beat()  # the save has its own --stop-grace
        self._position(epoch, step)
        self._agree_statistics()
        path = self.manager.save()
        self._kept = f"epoch {epoch + 1} step {step} ({path})"

    def _on_signal(self, signum, frame) -> None:
        if signum == signal.SIGINT and self._stop_signal == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, from the last checkpoint
        self._stop_signal = signum

    def _stuck_line(self, signum: int) -> str:
        """What the watchdog prints when no step ended within the grace after ``signum``."""
        if self._kept:
            kept = (f"the last checkpoint kept is {self._kept}; run the same command again to "
                    f"resume from it")
        else:
            kept = "no checkpoint was saved yet; running the same command again starts over"
        return (f"{_STOPS[signum][0]}: no training step ended within --stop-grace "
                f"{self.config.runtime.stop_grace:g} s; stopped without saving: {kept}.")

    def _beating(self, batches):
        """``batches``, each one a sign of progress to the watchdog."""
        for batch in batches:
            self._watchdog.beat()
            yield batch

    def _stop_if_signalled(self, epoch: int, step: int) -> None:
        """After SIGTERM or Ctrl-C: save where the run is, then stop with a resumable error."""
        if self._stop_signal is None:
            return
        if step:
            self._save_checkpoint(epoch, step)
        label, code = _STOPS[self._stop_signal]
        raise PreemptedError(f"{label}: checkpoint saved at epoch {epoch + 1} step {step}; run "
                             f"the same command again to resume.", code)

    def _after_step(self, epoch: int, step: int) -> None:
        """Preemption and periodic checkpoints, with the position of the next batch."""
        if self._preemption is not None:
            self._position(epoch, step)
            self._preemption.save_checkpoint_if_preempted()
        else:
            self._stop_if_signalled(epoch, step)
        every = self.config.runtime.checkpoint_steps
        if every and step % every == 0 and step < self.steps_per_epoch:
            self._save_checkpoint(epoch, step)

    # ----------------------------------------------------------------------------------------
    def _load_history(self, start_epoch: int) -> list[dict[str, Any]]:
        path = self.output_dir / "history.json"
        if not path.exists():
            return []
        return [h for h in json.loads(path.read_text()) if h["epoch"] <= start_epoch]

    def fit(self) -> list[dict[str, Any]]:
        """Runs the remaining epochs; returns the per-epoch history."""
        start_epoch, start_step = int(self.epoch.numpy()), int(self.step_in_epoch.numpy())
        if start_epoch or start_step:
            self.log(f"resuming at epoch {start_epoch + 1} step {start_step} "
                     f"(optimizer step {int(self.optimizer.iterations.numpy())})")
        history = self._load_history(start_epoch)
        writer = tf.summary.create_file_writer(str(self.output_dir / "logs")) if self.chief \
            else tf.summary.create_noop_writer()
        val_data = self._val_data() if self.data.val_examples is not None else None
        # Multi-worker: PreemptionCheckpointHandler takes SIGTERM, and a Ctrl-C on one worker
        # cannot make the others save with it, so it stops that worker at once. No watchdog
        # either (the app's included): one worker leaving alone would hang the others.
        stops = [] if self._preemption is not None else [signal.SIGTERM, signal.SIGINT]
        previous = {signum: signal.signal(signum, self._on_signal) for signum in stops}
        watchdog = self._watchdog if stops else suspended()
        try:
            with watchdog:
                self._run_epochs(start_epoch, start_step, history, val_data, writer)
        finally:
            console.end_line()  # a stop or an error is printed on a line of its own
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if self.chief:
            artifacts.save_inference_model(self.model, self.output_dir / "model.keras")
        elif self._checkpoint_dir.exists():
            shutil.rmtree(self._checkpoint_dir, ignore_errors=True)
        return history

    def _run_epochs(self, start_epoch: int, start_step: int, history: list[dict[str, Any]],
                    val_data, writer) -> None:
        """The remaining epochs, each recorded in ``history`` and checkpointed at its end."""
        config = self.config
        for epoch in range(start_epoch, config.recipe.epochs):
            skip = start_step if epoch == start_epoch else 0
            record = self._run_epoch(epoch, skip, val_data)
            history.append(record)
            self._save_checkpoint(epoch + 1, 0)
            if self.chief:
                artifacts.write_json(self.output_dir / "history.json", history)
                write_curves(history, self.output_dir / "curves.png",
                             f"{self.output_dir.name}: {config.model.arch}, recipe "
                             f"{config.recipe.name}")
                with writer.as_default(step=epoch + 1):
                    for key, value in record.items():
                        if key != "epoch":
                            tf.summary.scalar(key, value)
                writer.flush()
            if epoch + 1 < config.recipe.epochs:
                self._stop_if_signalled(epoch + 1, 0)

    def train_call(self, iterator, steps: int) -> list[float]:
        """``steps`` training steps on batches from ``iterator`` (a distributed one) in one host
        call, or one step where the plan runs one per call; returns [mean loss, accuracy] summed
        over the steps and the last learning rate."""
        if self.plan.steps_per_loop == 1:
            return self.train_step(next(iterator)).numpy().tolist()
        return self.train_loop(iterator, tf.constant(steps)).numpy().tolist()

    @contextlib.contextmanager
    def _reading_data(self):
        """A data file that fails under the step (a shard deleted or truncated since the data
        was loaded) as one line naming it (DataError), not a traceback."""
        try:
            yield
        except (tf.errors.NotFoundError, tf.errors.DataLossError) as err:
            raise self.data.read_error(err) from None

    def _loop_length(self, step: int) -> int:
        """Steps in the host call starting after ``step``: the plan's steps per loop, cut at
        the epoch's end and at the next periodic checkpoint."""
        length = min(self.plan.steps_per_loop, self.steps_per_epoch - step)
        every = self.config.runtime.checkpoint_steps
        return min(length, every - step % every) if every else length

    def _run_epoch(self, epoch: int, skip: int, val_data) -> dict[str, Any]:
        config = self.config
        if self.chief:
            self.log(f"epoch {epoch + 1}/{config.recipe.epochs}")
        progress = EpochProgress(epoch + 1, config.recipe.epochs, self.steps_per_epoch, skip,
                                 self.log, enabled=self.chief)
        lr = math.nan
        self._sums = self.epoch_sums.numpy() if skip else np.zeros(2)
        step, start = skip, time.perf_counter()
        iterator = iter(self._train_data(epoch, skip))
        while step < self.steps_per_epoch:
            length = self._loop_length(step)
            with self._reading_data():
                *loop_sums, lr = self.train_call(iterator, length)
            self._watchdog.beat()
            if not all(math.isfinite(value) for value in (*loop_sums, lr)):
                raise DivergedError(
                    f"training diverged at epoch {epoch + 1} step {step + length}: loss "
                    f"{loop_sums[0] / length:.4g}, learning rate {lr:.4g}; nothing of this "
                    f"state was saved (re-running resumes from the last checkpoint): lower "
                    f"--lr (or --lr-scaling), or train in --precision fp32.")
            self._sums, step = self._sums + loop_sums, step + length
            mean = self._sums / step
            progress.update(step, mean[0], mean[1], lr)
            self._after_step(epoch, step)
        progress.close()
        seconds = time.perf_counter() - start
        record = {
            "epoch": epoch + 1,
            "train_loss": self._sums[0] / step,
            "train_acc": self._sums[1] / step,
            "lr": lr,
            "images_per_s": ((step - skip) * config.recipe.batch_size / seconds if seconds
                             else math.nan),
            "epoch_seconds": seconds,
        }
        if val_data is not None:
            self._agree_statistics()
            with self._reading_data():
                metrics = evaluate(self.model, self._beating(val_data), self.strategy,
                                   self._eval_step)
            record.update({f"val_{k}": v for k, v in metrics.items() if k != "examples"})
        if self.chief:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch")
            self.log(f"epoch {epoch + 1}: {shown}")
        return record
