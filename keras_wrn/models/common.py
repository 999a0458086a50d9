"""Building pieces shared by every family: layers initialised as the papers' Torch code does,
input normalisation, the stochastic-depth rate schedule and the classifier head."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from keras_wrn import layers as wrn_layers
from keras_wrn.core import lazy

keras = lazy.module("keras")

# Per-channel statistics of the training sets, in the 0-255 pixel scale the models take as input.
CIFAR_MEAN = (125.3, 123.0, 113.9)
CIFAR_STD = (63.0, 62.1, 66.7)
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)

DROP_SCHEDULES = ("linear", "uniform")


def conv_initializer() -> keras.initializers.Initializer:
    """He et al. initialisation with fan-out, as in fb.resnet.torch and the PyramidNet/WRN code.
    A new instance per layer: a shared seeded instance would give equal kernels to layers of
    equal shape."""
    return keras.initializers.VarianceScaling(
        2.0, mode="fan_out", distribution="untruncated_normal"
    )


def conv(x, filters: int, kernel: int, stride: int = 1, name: str | None = None):
    """Bias-free convolution padded by ``kernel // 2`` on every side, as the papers' Torch code
    pads (the papers' convolutions have no bias). For stride 1 that is 'same'; a strided one
    gets an explicit symmetric ``ZeroPadding2D``, since TensorFlow's 'same' pads the bottom and
    right only and would sample every window one pixel off the authors' networks."""
    padding = "same"
    if stride > 1 and kernel > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=name and f"{name}_pad")(x)
        padding = "valid"
    return keras.layers.Conv2D(
        filters, kernel, strides=stride, padding=padding, use_bias=False,
        kernel_initializer=conv_initializer(), name=name,
    )(x)


def stem_pool(x):
    """The ImageNet stem's 3x3 max pooling of stride 2, padded by 1 on every side as in Torch.
    It follows a ReLU, so zeros pad as Torch's -inf would."""
    x = keras.layers.ZeroPadding2D(1, name="stem_pool_pad")(x)
    return keras.layers.MaxPooling2D(3, 2, name="stem_pool")(x)


def bn(x, name: str | None = None, synchronized: bool = False):
    """Batch norm with Torch's defaults (momentum 0.1, eps 1e-5); `synchronized` keeps the
    moving statistics identical across tf.distribute replicas."""
    return keras.layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, synchronized=synchronized, name=name
    )(x)


def relu(x, name: str | None = None):
    return keras.layers.ReLU(name=name)(x)


def image_input(input_shape: Sequence[int], mean: Sequence[float], std: Sequence[float]):
    """Model input taking raw 0-255 pixels, normalised inside the model (so exports need no
    separate preprocessing and the data pipeline must not normalise again)."""
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    variance = [s * s for s in std]
    x = keras.layers.Normalization(mean=list(mean), variance=variance, name="normalize")(inputs)
    return inputs, x


def input_stats(stem: str, mean: Sequence[float] | None,
                std: Sequence[float] | None) -> tuple[Sequence[float], Sequence[float]]:
    """The given normalisation statistics, or those of CIFAR / ImageNet for the stem."""
    if stem == "imagenet":
        return mean or IMAGENET_MEAN, std or IMAGENET_STD
    return mean or CIFAR_MEAN, std or CIFAR_STD


def drop_rates(num_blocks: int, final_rate: float, schedule: str = "linear") -> list[float]:
    """Death rate of each residual block: linear decay p_l = l / L * p_L (Huang et al. 2016) or
    the same rate everywhere."""
    if schedule == "linear":
        return [final_rate * (i + 1) / num_blocks for i in range(num_blocks)]
    return [final_rate] * num_blocks


def residual(branch_input, shortcut, branch: Callable, *, rate: float, mode: str, name: str,
             seed: int | None = None, shared_channels: int | None = None):
    """``shortcut + branch(branch_input)``. With stochastic depth (``rate`` > 0) the branch is
    built as a nested model inside a `StochasticResidual`, so a dropped branch is skipped."""
    if rate <= 0.0:
        return keras.layers.Add(name=f"{name}_add")([shortcut, branch(branch_input)])
    inputs = keras.Input(shape=branch_input.shape[1:], dtype=branch_input.dtype,
                         name=f"{name}_input")
    branch_model = keras.Model(inputs, branch(inputs), name=f"{name}_branch")
    if shared_channels is not None and shared_channels < shortcut.shape[-1]:
        gate = wrn_layers.SeparatedStochasticDepth(rate, shared_channels=shared_channels,
                                                   mode=mode, seed=seed, name=f"{name}_drop")
    else:
        gate = wrn_layers.StochasticDepth(rate, mode=mode, seed=seed, name=f"{name}_drop")
    return wrn_layers.StochasticResidual(branch_model, gate,
                                         name=f"{name}_residual")([shortcut, branch_input])


def classifier(x, num_classes: int, name: str = "classifier"):
    """Global average pooling and a float32 dense layer giving logits (float32 even under mixed
    precision so the loss and softmax stay accurate)."""
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.layers.Dense(num_classes, dtype="float32", name=name)(x)


def seed_for(seed: int | None, index: int) -> int | None:
    """Distinct, reproducible seed for the gate of block ``index``."""
    return None if seed is None else seed + index
