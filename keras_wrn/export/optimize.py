"""Quantization-aware training and magnitude pruning with tensorflow-model-optimization.

QAT starts where post-training quantization ends: every activation range is set from the float
model's activations on the calibration images (tfmot starts them at [-6, 6] and moves them by
0.1% a step, so a short fine-tuning ended with ranges no calibration would choose). It then
fine-tunes on the training data with the model's own augmentation at a low LR annealed to zero,
with the batch-norm statistics frozen after a warm-up.

tfmot 0.8.1 only handles tf_keras models, and importing it sets TF_USE_LEGACY_KERAS=1 for the
process: it is imported here, lazily, and works on the tf_keras twin of the Keras 3 model.
Layers tfmot does not know get explicit quantize configs: the pass-through custom layers
(zero pad, stochastic depth) are left unquantized, batch norms that do not follow a convolution
(pre-activation blocks) quantize their outputs only, and a batch norm after a convolution keeps
the default annotation so it is folded into the convolution. The input normalisation is not
annotated: the converter calibrates it with the representative dataset, which keeps the model
integer from input to output (annotating it left a float dequantize/quantize pair).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_wrn.export import tf_keras_twin


def _tfmot():
    import tensorflow_model_optimization as tfmot

    return tfmot


def _quantize_configs():
    """The two QuantizeConfig classes (defined on first use, after tfmot is imported)."""
    tfmot = _tfmot()
    quantizers = tfmot.quantization.keras.quantizers

    class NoOpQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        """Leaves a weightless pass-through layer unquantized."""

        def get_weights_and_quantizers(self, layer):
            return []

        def get_activations_and_quantizers(self, layer):
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            pass

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return []

        def get_config(self):
            return {}

    class OutputQuantizeConfig(NoOpQuantizeConfig):
        """Quantizes only the output (standalone batch norm, input normalisation)."""

        def get_output_quantizers(self, layer):
            return [quantizers.MovingAverageQuantizer(num_bits=8, per_axis=False,
                                                      symmetric=False, narrow_range=False)]

    return NoOpQuantizeConfig, OutputQuantizeConfig


def quantize_aware(model, calibration=None) -> object:
    """A QAT tf_keras model initialised with the weights of the Keras 3 ``model`` and, given
    ``calibration`` images (float32 0-255), its activation ranges set from them."""
    import tf_keras

    tfmot = _tfmot()
    qk = tfmot.quantization.keras
    twin = tf_keras_twin.build_twin(model)
    no_op, output_only = _quantize_configs()
    registry = qk.default_8bit.Default8BitQuantizeRegistry()
    custom = (tf_keras_twin.TwinChannelZeroPad, tf_keras_twin.TwinStochasticDepth)

    def follows_conv(layer) -> bool:
        inbound = layer._inbound_nodes[0].inbound_layers
        return isinstance(inbound, tf_keras.layers.Conv2D)

    def annotate(layer):
        if isinstance(layer, custom):
            return qk.quantize_annotate_layer(layer, no_op())
        if isinstance(layer, tf_keras.layers.BatchNormalization) and not follows_conv(layer):
            return qk.quantize_annotate_layer(layer, output_only())
        if registry.supports(layer) or isinstance(layer, tf_keras.layers.BatchNormalization):
            return qk.quantize_annotate_layer(layer)
        return layer

    annotated = tf_keras.models.clone_model(twin, clone_function=annotate)
    annotated.set_weights(twin.get_weights())
    scope = {**tf_keras_twin.CUSTOM_OBJECTS, "NoOpQuantizeConfig": no_op,
             "OutputQuantizeConfig": output_only}
    with qk.quantize_scope(scope):
        qat = qk.quantize_apply(annotated)
    if calibration is not None:
        calibrate_ranges(qat, twin, calibration)
    return qat


# A range variable's name after its layer's: activation and output quantizers (the kernel's
# range follows the kernel at every step, so it needs no start).
_RANGE = ("output", "post_activation", "pre_activation")


def _range_variables(layer) -> dict[str, tuple[object, object]]:
    """The layer's activation range variables, (min, max) by quantizer name."""
    found: dict[str, list] = {}
    for weight in layer.weights:
        name = weight.name.split("/")[-1].split(":")[0]
        for kind, end in (("min", "_min"), ("max", "_max")):
            if name.endswith(end) and name[:-len(end)].startswith(_RANGE):
                found.setdefault(name[:-len(end)], [None, None])[kind == "max"] = weight
    return {name: (low, high) for name, (low, high) in found.items()
            if low is not None and high is not None}


def calibrate_ranges(qat, twin, images, batch_size: int = 100) -> int:
    """Sets every wrapped layer's output range to the [min, max] of the float twin's same
    layer over ``images`` (with 0 inside, as TFLite requires), which is what post-training
    calibration chooses; returns how many ranges were set."""
    import tf_keras

    targets = []
    for layer in qat.layers:
        ranges = _range_variables(layer)
        inner = getattr(layer, "layer", None)
        if ranges and inner is not None:
            targets.append((twin.get_layer(inner.name).output, ranges))
    if not targets:
        return 0
    probe = tf_keras.Model(twin.inputs, [output for output, _ in targets])
    low = [np.inf] * len(targets)
    high = [-np.inf] * len(targets)
    for start in range(0, len(images), batch_size):
        outputs = probe(images[start:start + batch_size], training=False)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        for i, value in enumerate(outputs):
            low[i] = min(low[i], float(tf.reduce_min(value)))
            high[i] = max(high[i], float(tf.reduce_max(value)))
    for (_, ranges), least, most in zip(targets, low, high, strict=True):
        for min_var, max_var in ranges.values():
            min_var.assign(min(least, 0.0))
            max_var.assign(max(most, 0.0))
    return len(targets)


def prune(model, sparsity: float, steps: int) -> tuple[object, list]:
    """A tf_keras twin whose convolution and dense kernels are pruned to ``sparsity`` by a
    polynomial schedule over ``steps`` steps, and the callbacks its fit needs."""
    import tf_keras

    tfmot = _tfmot()
    sparse = tfmot.sparsity.keras
    twin = tf_keras_twin.build_twin(model)
    schedule = sparse.PolynomialDecay(initial_sparsity=0.0, final_sparsity=sparsity,
                                      begin_step=0, end_step=max(steps - 1, 1),
                                      frequency=max(steps // 10, 1))

    def wrap(layer):
        if isinstance(layer, tf_keras.layers.Conv2D | tf_keras.layers.Dense):
            return sparse.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    # clone_function receives the twin's own layers: the wrappers keep their trained weights.
    pruned = tf_keras.models.clone_model(twin, clone_function=wrap)
    return pruned, [sparse.UpdatePruningStep()]


def strip_pruning(model):
    return _tfmot().sparsity.keras.strip_pruning(model)


def _batch_norms(model) -> list:
    """The batch-norm layers of a tf_keras model, inside quantize wrappers too."""
    import tf_keras

    layers = [getattr(layer, "layer", layer) for layer in model.layers]
    return [layer for layer in layers if isinstance(layer, tf_keras.layers.BatchNormalization)]


def fine_tune(model, batches: tf.data.Dataset, lr: float, callbacks: list | None = None,
              freeze_bn_after: float | None = None, label_smoothing: float = 0.0,
              teacher=None) -> None:
    """SGD fine-tuning of a tf_keras model on ``batches`` of (images, one-hot labels), once
    through, its LR annealed from ``lr`` to zero by a cosine. With ``freeze_bn_after`` (a
    fraction of the steps), the batch norms then stop updating their statistics and run on
    them: the quantized model is fine-tuned as it will infer. With a ``teacher`` (the float
    model), the targets are its probabilities on the same augmented images instead of the
    labels: the quantized model learns to answer as the float one does."""
    import tf_keras

    if teacher is not None:
        batches = batches.map(lambda images, labels: (
            images, tf.nn.softmax(tf.cast(teacher(images, training=False), tf.float32))))
        label_smoothing = 0.0
    total = max(int(batches.cardinality()), 1)
    optimizer = tf_keras.optimizers.SGD(tf_keras.optimizers.schedules.CosineDecay(lr, total),
                                        momentum=0.9, nesterov=True)
    loss = tf_keras.losses.CategoricalCrossentropy(from_logits=True,
                                                   label_smoothing=label_smoothing)
    warmup = total if freeze_bn_after is None else round(total * freeze_bn_after)
    model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
    if warmup:
        model.fit(batches.take(warmup), epochs=1, callbacks=callbacks or [], verbose=2)
    if warmup < total:
        for layer in _batch_norms(model):
            layer.trainable = False  # tf_keras: inference mode, statistics kept
        # Compiled again since trainable changed; the optimizer (its step, so its LR) carries on.
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])
        model.fit(batches.skip(warmup), epochs=1, callbacks=callbacks or [], verbose=2)


def kernel_sparsity(model) -> float:
    """Fraction of zeros over the convolution and dense kernels."""
    import tf_keras

    kernels = [layer.kernel.numpy() for layer in model.layers
               if isinstance(layer, tf_keras.layers.Conv2D | tf_keras.layers.Dense)]
    return float(sum((k == 0).sum() for k in kernels) / sum(k.size for k in kernels))

