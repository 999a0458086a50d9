"""Quantization-aware training and magnitude pruning with tensorflow-model-optimization.

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


def quantize_aware(model) -> object:
    """A QAT tf_keras model initialised with the weights of the Keras 3 ``model``."""
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
        return qk.quantize_apply(annotated)


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


def fine_tune(model, dataset: tf.data.Dataset, epochs: int, lr: float,
              callbacks: list | None = None) -> None:
    """A short SGD fine-tuning of a tf_keras model on (images, one-hot labels) batches."""
    import tf_keras

    model.compile(optimizer=tf_keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
                  loss=tf_keras.losses.CategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(dataset, epochs=epochs, callbacks=callbacks or [], verbose=2)


def kernel_sparsity(model) -> float:
    """Fraction of zeros over the convolution and dense kernels."""
    import tf_keras

    kernels = [layer.kernel.numpy() for layer in model.layers
               if isinstance(layer, tf_keras.layers.Conv2D | tf_keras.layers.Dense)]
    return float(sum((k == 0).sum() for k in kernels) / sum(k.size for k in kernels))

