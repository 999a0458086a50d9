"""PyTorch checkpoints of the authors' layouts into keras_wrn: the converted model computes the
PyTorch model's function (logits within 1e-4 of the largest, in inference and in training
mode), a round trip through a PyTorch state dict keeps every weight, and a checkpoint that does
not fit is a one-line error naming the key.

The PyTorch models are written here with the layouts' exact module names: torchvision's ResNet
(torchvision itself is not installable beside the CPU build of torch used here),
dyhan0920/PyramidNet-PyTorch, szagoruyko/wide-residual-networks' functional code and the CIFAR
ResNets of akamaster/pytorch_resnet_cifar10, D-X-Y/ResNeXt-DenseNet and
chenyaofo/pytorch-cifar-models, each saved as its training script saves it."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import torch
from helpers import call_app
from torch import nn
from torch.nn import functional

import keras_wrn
from keras_wrn.models.common import CIFAR_MEAN, CIFAR_STD, IMAGENET_MEAN, IMAGENET_STD
from keras_wrn.weights import (
    LAYOUTS,
    WeightsError,
    layout_for,
    load_torch_state,
    read_state_dict,
    to_torch_state,
)

# --- torchvision's ResNet (torchvision/models/resnet.py: names and strides) -----------------


class TorchvisionBasic(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchvisionBottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)  # v1.5: stride here
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchvisionResNet(nn.Module):
    def __init__(self, block, layers, num_classes=1000):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


# --- dyhan0920/PyramidNet-PyTorch (PyramidNet.py: names, widths, shortcut) ------------------


class PyramidBasic(nn.Module):
    outchannel_ratio = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def residual(self, x):
        return self.bn3(self.conv2(self.relu(self.bn2(self.conv1(self.bn1(x))))))

    def forward(self, x):
        out = self.residual(x)
        shortcut = x if self.downsample is None else self.downsample(x)
        padding = out.shape[1] - shortcut.shape[1]  # zero-padded channels
        return out + functional.pad(shortcut, (0, 0, 0, 0, 0, padding))


class PyramidBottleneck(PyramidBasic):
    outchannel_ratio = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        nn.Module.__init__(self)
        self.bn1 = nn.BatchNorm2d(inplanes)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn4 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def residual(self, x):
        out = self.relu(self.bn2(self.conv1(self.bn1(x))))
        out = self.relu(self.bn3(self.conv2(out)))
        return self.bn4(self.conv3(out))


class PyramidNet(nn.Module):
    """The CIFAR network, and the ImageNet one (7x7 stem, four stages) with ``stages``."""

    def __init__(self, stages, alpha, num_classes, bottleneck=False, imagenet=False):
        super().__init__()
        block = PyramidBottleneck if bottleneck else PyramidBasic
        base = 64 if imagenet else 16
        self.addrate = alpha / sum(stages)
        self.input_featuremap_dim = self.featuremap_dim = base
        if imagenet:
            self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(base)
            self.stem = nn.Sequential(nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        else:
            self.conv1 = nn.Conv2d(3, base, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(base)
            self.stem = nn.Identity()
        for index, blocks in enumerate(stages):
            stride = 1 if index == 0 else 2
            setattr(self, f"layer{index + 1}", self._make_layer(block, blocks, stride))
        self.bn_final = nn.BatchNorm2d(self.input_featuremap_dim)
        self.relu_final = nn.ReLU(inplace=True)
        self.fc = nn.Linear(self.input_featuremap_dim, num_classes)
        self.stages = len(stages)

    def _make_layer(self, block, blocks, stride):
        downsample = nn.AvgPool2d((2, 2), stride=(2, 2)) if stride != 1 else None
        self.featuremap_dim += self.addrate
        layers = [block(self.input_featuremap_dim, round(self.featuremap_dim), stride,
                        downsample)]
        for _ in range(1, blocks):
            following = self.featuremap_dim + self.addrate
            layers.append(block(round(self.featuremap_dim) * block.outchannel_ratio,
                                round(following)))
            self.featuremap_dim = following
        self.input_featuremap_dim = round(self.featuremap_dim) * block.outchannel_ratio
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.stem(self.bn1(self.conv1(x)))
        for index in range(self.stages):
            x = getattr(self, f"layer{index + 1}")(x)
        x = self.relu_final(self.bn_final(x))
        return self.fc(torch.flatten(functional.adaptive_avg_pool2d(x, 1), 1))


# --- szagoruyko/wide-residual-networks, pytorch/resnet.py (functional, bare conv tensors) ---


def wrn_params(depth: int, width: int, num_classes: int) -> dict[str, torch.Tensor]:
    n = (depth - 4) // 6
    widths = [16 * width, 32 * width, 64 * width]

    def bn(channels):
        return {"weight": torch.rand(channels), "bias": torch.zeros(channels),
                "running_mean": torch.zeros(channels), "running_var": torch.ones(channels)}

    params = {"conv0": torch.randn(16, 3, 3, 3) * 0.3}
    inputs = 16
    for g, channels in enumerate(widths):
        for b in range(n):
            ni = inputs if b == 0 else channels
            base = f"group{g}.block{b}"
            params[f"{base}.conv0"] = torch.randn(channels, ni, 3, 3) * (2 / (9 * ni)) ** 0.5
            params[f"{base}.conv1"] = torch.randn(channels, channels, 3, 3) * (
                2 / (9 * channels)) ** 0.5
            params.update({f"{base}.bn0.{k}": v for k, v in bn(ni).items()})
            params.update({f"{base}.bn1.{k}": v for k, v in bn(channels).items()})
            if ni != channels:
                params[f"{base}.convdim"] = torch.randn(channels, ni, 1, 1) * (2 / ni) ** 0.5
        inputs = channels
    params.update({f"bn.{k}": v for k, v in bn(widths[2]).items()})
    params["fc.weight"] = torch.randn(num_classes, widths[2]) * 0.1
    params["fc.bias"] = torch.zeros(num_classes)
    return params


def wrn_forward(x, params, depth: int, training: bool):
    n = (depth - 4) // 6

    def batch_norm(y, base):
        return functional.batch_norm(y, params[base + ".running_mean"].clone(),
                            params[base + ".running_var"].clone(), params[base + ".weight"],
                            params[base + ".bias"], training=training)

    def block(y, base, stride):
        o1 = functional.relu(batch_norm(y, base + ".bn0"))
        z = functional.conv2d(o1, params[base + ".conv0"], stride=stride, padding=1)
        o2 = functional.relu(batch_norm(z, base + ".bn1"))
        z = functional.conv2d(o2, params[base + ".conv1"], stride=1, padding=1)
        if base + ".convdim" in params:
            return z + functional.conv2d(o1, params[base + ".convdim"], stride=stride)
        return z + y

    x = functional.conv2d(x, params["conv0"], padding=1)
    for g, stride in enumerate((1, 2, 2)):
        for b in range(n):
            x = block(x, f"group{g}.block{b}", stride if b == 0 else 1)
    x = functional.relu(batch_norm(x, "bn"))
    x = functional.avg_pool2d(x, 8, 1, 0)
    return functional.linear(x.flatten(1), params["fc.weight"], params["fc.bias"])


# --- CIFAR ResNets: akamaster/pytorch_resnet_cifar10 (option A, zeros on both sides), -------
# D-X-Y/ResNeXt-DenseNet (DownsampleA: zeros appended), chenyaofo/pytorch-cifar-models (B)


class LambdaLayer(nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, x):
        return self.function(x)


class AkamasterBlock(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:  # option A: planes // 4 zero channels each side
            self.shortcut = LambdaLayer(lambda x: functional.pad(
                x[:, :, ::2, ::2], (0, 0, 0, 0, planes // 4, planes // 4), "constant", 0))

    def forward(self, x):
        out = functional.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return functional.relu(out + self.shortcut(x))


class AkamasterResNet(nn.Module):
    def __init__(self, num_blocks, num_classes=10):
        super().__init__()
        self.in_planes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._make_layer(16, num_blocks, 1)
        self.layer2 = self._make_layer(32, num_blocks, 2)
        self.layer3 = self._make_layer(64, num_blocks, 2)
        self.linear = nn.Linear(64, num_classes)

    def _make_layer(self, planes, num_blocks, stride):
        layers = []
        for s in [stride] + [1] * (num_blocks - 1):
            layers.append(AkamasterBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = functional.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = functional.avg_pool2d(out, out.size()[3])
        return self.linear(out.view(out.size(0), -1))


class DownsampleA(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.avg = nn.AvgPool2d(kernel_size=1, stride=stride)

    def forward(self, x):
        x = self.avg(x)
        return torch.cat((x, x.mul(0)), 1)


class DxyBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv_a = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn_a = nn.BatchNorm2d(planes)
        self.conv_b = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn_b = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn_b(self.conv_b(functional.relu(self.bn_a(self.conv_a(x)))))
        residual = x if self.downsample is None else self.downsample(x)
        return functional.relu(residual + out)


class DxyResNet(nn.Module):
    def __init__(self, depth, num_classes):
        super().__init__()
        blocks = (depth - 2) // 6
        self.conv_1_3x3 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn_1 = nn.BatchNorm2d(16)
        self.inplanes = 16
        self.stage_1 = self._make_layer(16, blocks, 1)
        self.stage_2 = self._make_layer(32, blocks, 2)
        self.stage_3 = self._make_layer(64, blocks, 2)
        self.avgpool = nn.AvgPool2d(8)
        self.classifier = nn.Linear(64, num_classes)

    def _make_layer(self, planes, blocks, stride):
        downsample = DownsampleA(stride) if stride != 1 or self.inplanes != planes else None
        layers = [DxyBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [DxyBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = functional.relu(self.bn_1(self.conv_1_3x3(x)))
        x = self.avgpool(self.stage_3(self.stage_2(self.stage_1(x))))
        return self.classifier(x.view(x.size(0), -1))


class ChenyaofoResNet(TorchvisionResNet):
    """torchvision's names and blocks on a 3x3 stem of 16 channels and three stages."""

    def __init__(self, layers, num_classes=10):
        nn.Module.__init__(self)
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(TorchvisionBasic, 16, layers[0])
        self.layer2 = self._make_layer(TorchvisionBasic, 32, layers[1], 2)
        self.layer3 = self._make_layer(TorchvisionBasic, 64, layers[2], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def _data_parallel(state: dict) -> dict:
    return {f"module.{k}": v for k, v in state.items()}


def _as_akamaster_saves(module: nn.Module) -> dict:
    return {"state_dict": _data_parallel(module.state_dict()), "best_prec1": 91.73}


def _as_dxy_saves(module: nn.Module) -> dict:
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1, momentum=0.9)
    return {"epoch": 164, "arch": "resnet20", "state_dict": _data_parallel(module.state_dict()),
            "optimizer": optimizer.state_dict()}


def _as_chenyaofo_saves(module: nn.Module) -> dict:
    return module.state_dict()  # the released files: torch.hub's plain state dicts


# --- the comparisons --------------------------------------------------------------------------


def _randomise_batch_norms(module: nn.Module, seed: int) -> None:
    """Random scales, shifts and statistics: a converter that swapped or dropped any of them
    would show in the outputs."""
    generator = torch.Generator().manual_seed(seed)
    for layer in module.modules():
        if isinstance(layer, nn.BatchNorm2d):
            channels = layer.num_features
            layer.weight.data = torch.rand(channels, generator=generator) + 0.5
            layer.bias.data = torch.randn(channels, generator=generator) * 0.1
            layer.running_mean = torch.randn(channels, generator=generator) * 0.1
            layer.running_var = torch.rand(channels, generator=generator) + 0.5


def _images(size: int, batch: int = 4) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype(np.float32)


def _torch_input(images: np.ndarray, mean, std) -> torch.Tensor:
    """What the PyTorch code's transforms feed its network: ToTensor, then Normalize."""
    normalised = (images / 255.0 - np.array(mean) / 255.0) / (np.array(std) / 255.0)
    return torch.from_numpy(normalised.transpose(0, 3, 1, 2).astype(np.float32))


def _assert_same_logits(ours, theirs) -> None:
    ours, theirs = np.asarray(ours), theirs.detach().numpy()
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max(), \
        f"max difference {np.abs(ours - theirs).max():.3g} of {np.abs(theirs).max():.3g}"


MODULES = {
    # (keras_wrn name and keywords, PyTorch model, input side, normalisation)
    "torchvision-resnet-18": (("resnet-18", {}),
                              lambda: TorchvisionResNet(TorchvisionBasic, [2, 2, 2, 2]), 64,
                              (IMAGENET_MEAN, IMAGENET_STD)),
    "torchvision-resnet-50": (("resnet-50", {}),
                              lambda: TorchvisionResNet(TorchvisionBottleneck, [3, 4, 6, 3]), 64,
                              (IMAGENET_MEAN, IMAGENET_STD)),
    "pyramidnet-20-a48": (("pyramidnet", {"depth": 20, "alpha": 48}),
                          lambda: PyramidNet([3, 3, 3], 48, 10), 32, (CIFAR_MEAN, CIFAR_STD)),
    "pyramidnet-29-a48-bottleneck": (
        ("pyramidnet", {"depth": 29, "alpha": 48, "bottleneck": True}),
        lambda: PyramidNet([3, 3, 3], 48, 10, bottleneck=True), 32, (CIFAR_MEAN, CIFAR_STD)),
    "pyramidnet-18-a48-imagenet": (
        ("pyramidnet", {"depth": 18, "alpha": 48, "stem": "imagenet", "num_classes": 1000}),
        lambda: PyramidNet([2, 2, 2, 2], 48, 1000, imagenet=True), 64,
        (IMAGENET_MEAN, IMAGENET_STD)),
}


@pytest.mark.parametrize("case", list(MODULES))
def test_a_pytorch_checkpoint_converts_to_the_same_function(case, tmp_path):
    (name, hparams), make, size, (mean, std) = MODULES[case]
    torch.manual_seed(0)
    reference = make()
    _randomise_batch_norms(reference, seed=1)
    path = tmp_path / "model.pth"
    torch.save(reference.state_dict(), path)
    model = keras_wrn.build_model(name, weights=str(path), input_shape=(size, size, 3),
                                  **hparams)
    images = _images(size)
    reference.eval()
    with torch.no_grad():
        _assert_same_logits(model(images, training=False), reference(_torch_input(images, mean,
                                                                                  std)))
        reference.train()  # batch statistics (the running ones are not compared)
        _assert_same_logits(model(images, training=True), reference(_torch_input(images, mean,
                                                                                 std)))


def test_the_wrn_authors_functional_checkpoint_converts_to_the_same_function(tmp_path):
    torch.manual_seed(0)
    params = wrn_params(depth=10, width=2, num_classes=10)
    for key in params:  # random statistics, as in a trained network
        if key.endswith("running_mean"):
            params[key] = torch.randn(params[key].shape) * 0.1
        elif key.endswith("running_var"):
            params[key] = torch.rand(params[key].shape) + 0.5
    path = tmp_path / "model.pt7"
    torch.save({"params": params, "epoch": 200}, path)  # as the authors' main.py saves it
    model = keras_wrn.build_model("wrn", depth=10, widen_factor=2, weights=str(path))
    images = _images(32)
    x = _torch_input(images, CIFAR_MEAN, CIFAR_STD)
    with torch.no_grad():
        _assert_same_logits(model(images, training=False), wrn_forward(x, params, 10, False))
        _assert_same_logits(model(images, training=True), wrn_forward(x, params, 10, True))


@pytest.mark.parametrize("name, hparams, make", [
    ("resnet-18", {}, lambda: TorchvisionResNet(TorchvisionBasic, [2, 2, 2, 2])),
    ("pyramidsepdrop", {"depth": 20, "alpha": 48}, lambda: PyramidNet([3, 3, 3], 48, 10)),
])
def test_keras_to_pytorch_to_keras_keeps_every_weight(name, hparams, make):
    """keras_wrn's weights as a PyTorch state dict load into the PyTorch module strictly (same
    names and shapes, counters included) and convert back to the same weights."""
    first = keras_wrn.build_model(name, **hparams)
    family, values = keras_wrn.resolve(name, **hparams)
    layout = layout_for(family, values.get("stem", "cifar"))
    module = make()
    module.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v))
                            for k, v in to_torch_state(first, layout).items()}, strict=True)
    state = {k: v.numpy() for k, v in module.state_dict().items()
             if not k.endswith("num_batches_tracked")}
    second = keras_wrn.build_model(name, **hparams)
    load_torch_state(second, state, layout)
    for a, b in zip(first.weights, second.weights, strict=True):
        if "seed_generator" not in a.path:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)


def test_a_checkpoint_that_does_not_fit_is_one_line_naming_the_key(tmp_path):
    reference = TorchvisionResNet(TorchvisionBasic, [2, 2, 2, 2])
    state = reference.state_dict()
    path = tmp_path / "resnet18.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"^the checkpoint has 2-2-2-2 blocks per stage, "
                                           r"resnet_34 3-4-6-3;") as err:
        keras_wrn.build_model("resnet-34", weights=str(path))
    assert "\n" not in str(err.value)
    with pytest.raises(WeightsError, match=r"^fc\.weight has shape \(1000, 512\), which does "
                                           r"not fit layer classifier \(\(512, 10\)"):
        keras_wrn.build_model("resnet-18", weights=str(path), num_classes=10)
    model = keras_wrn.build_model("resnet-18")
    before = [np.asarray(w).copy() for w in model.weights]
    del state["layer4.1.bn2.running_var"]
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"layer4\.1\.bn2\.running_var \(for layer "
                                           r"stage4_block2_bn2\) is not in the checkpoint"):
        load_torch_state(model, read_state_dict(path), LAYOUTS["torchvision"])
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(before, model.weights,
                                                                strict=True))  # untouched
    with pytest.raises(WeightsError, match=r"^no PyTorch layout is known for preact_resnet "
                                           r"\(cifar stem\); layouts exist for .*; resnet "
                                           r"\(cifar, imagenet\); wrn \(cifar\)\.$"):
        keras_wrn.build_model("preact-resnet-164", weights=str(path))
    (tmp_path / "notes.pth").write_text("not a checkpoint")
    with pytest.raises(WeightsError, match=r"cannot read .*notes\.pth as a PyTorch checkpoint"):
        read_state_dict(tmp_path / "notes.pth")


def test_convert_app_writes_a_keras_file_with_the_checkpoints_function(tmp_path):
    torch.manual_seed(0)
    reference = TorchvisionResNet(TorchvisionBasic, [2, 2, 2, 2], num_classes=7)
    _randomise_batch_norms(reference, seed=3)
    torch.save({"state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()}},
               tmp_path / "checkpoint.pth.tar")  # DataParallel's names, under state_dict
    out = tmp_path / "resnet18.keras"
    result = call_app("convert.py", "--from", tmp_path / "checkpoint.pth.tar", "--arch",
                      "resnet-18", "--output", out, "--image-size", "64")
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["layout"], report["num_classes"], report["input_shape"]) == \
        ("torchvision", 7, [64, 64, 3])
    images = _images(64)
    with torch.no_grad():
        _assert_same_logits(keras.models.load_model(out)(images, training=False),
                            reference.eval()(_torch_input(images, IMAGENET_MEAN, IMAGENET_STD)))


# (PyTorch model, how its training script saves it, file name, its transforms.Normalize on
# 0-1 pixels, the layout detected)
_IMAGENET_UNIT = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_CIFAR10_DXY = (tuple(m / 255 for m in (125.3, 123.0, 113.9)),
                tuple(s / 255 for s in (63.0, 62.1, 66.7)))
_CIFAR100_DXY = (tuple(m / 255 for m in (129.3, 124.1, 112.4)),
                 tuple(s / 255 for s in (68.2, 65.4, 70.4)))
_CIFAR10_CHENYAOFO = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
_CIFAR100_CHENYAOFO = ((0.507, 0.4865, 0.4409), (0.2673, 0.2564, 0.2761))
CIFAR_CHECKPOINTS = {
    "akamaster-resnet-20": (lambda: AkamasterResNet(3), _as_akamaster_saves, "resnet20.th",
                            _IMAGENET_UNIT, "akamaster"),
    "dxy-resnet-20": (lambda: DxyResNet(20, 10), _as_dxy_saves, "checkpoint.pth.tar",
                      _CIFAR10_DXY, "dxy"),
    "dxy-resnet-20-cifar100": (lambda: DxyResNet(20, 100), _as_dxy_saves, "checkpoint.pth.tar",
                               _CIFAR100_DXY, "dxy"),
    "chenyaofo-resnet-20": (lambda: ChenyaofoResNet([3, 3, 3]), _as_chenyaofo_saves,
                            "cifar10_resnet20.pt", _CIFAR10_CHENYAOFO, "chenyaofo"),
    "chenyaofo-resnet-20-cifar100": (lambda: ChenyaofoResNet([3, 3, 3], 100),
                                     _as_chenyaofo_saves, "cifar100_resnet20.pt",
                                     _CIFAR100_CHENYAOFO, "chenyaofo"),
}


def _unit_input(images: np.ndarray, mean, std) -> torch.Tensor:
    """ToTensor (0-1 pixels), then Normalize(mean, std) as the training scripts write it."""
    return _torch_input(images, np.array(mean) * 255, np.array(std) * 255)


def _saved(case: str, tmp_path, seed: int = 0):
    """The case's PyTorch model (random weights and batch-norm statistics) and its file."""
    make, save, file_name, _, _ = CIFAR_CHECKPOINTS[case]
    torch.manual_seed(seed)
    reference = make()
    _randomise_batch_norms(reference, seed=seed + 1)
    path = tmp_path / file_name
    torch.save(save(reference), path)
    return reference, path


@pytest.mark.parametrize("case", list(CIFAR_CHECKPOINTS))
def test_a_community_cifar_resnet_checkpoint_is_detected_and_converts_to_its_function(
        case, tmp_path):
    *_, (mean, std), layout = CIFAR_CHECKPOINTS[case]
    reference, path = _saved(case, tmp_path)
    assert layout_for("resnet", "cifar", read_state_dict(path)).name == layout
    model = keras_wrn.build_model("resnet-20", weights=str(path))
    images = _images(32, batch=2)
    with torch.no_grad():
        _assert_same_logits(model(images, training=False),
                            reference.eval()(_unit_input(images, mean, std)))
        _assert_same_logits(model(images, training=True),
                            reference.train()(_unit_input(images, mean, std)))


def test_the_cifar_shortcuts_have_the_parameters_of_their_pytorch_networks():
    """Option A (either padding) has none; option B adds a 1x1 projection and a batch norm at
    each of the two stage changes: 269,722 + (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)."""

    def trainable(model) -> int:
        return sum(int(np.prod(w.shape)) for w in model.trainable_weights)

    def torch_count(module) -> int:
        return sum(p.numel() for p in module.parameters())

    assert trainable(keras_wrn.build_model("resnet-20", shortcut="b")) == 272_474 == \
        torch_count(ChenyaofoResNet([3, 3, 3]))
    assert trainable(keras_wrn.build_model("resnet-20", shortcut="a_both")) == 269_722 == \
        torch_count(AkamasterResNet(3)) == torch_count(DxyResNet(20, 10))


def test_a_cifar_checkpoint_that_does_not_fit_is_one_line_saying_what_was_expected(tmp_path):
    path = tmp_path / "resnet56.th"
    torch.save(_as_akamaster_saves(AkamasterResNet(9)), path)
    with pytest.raises(WeightsError, match=r"^the checkpoint has 9-9-9 blocks per stage, "
                                           r"resnet_20 3-3-3; build the model of the "
                                           r"checkpoint's depth\.$"):
        keras_wrn.build_model("resnet-20", weights=str(path))
    with pytest.raises(WeightsError, match=r"^resnet-56: the network of akamaster checkpoints "
                                           r"has shortcut 'a_both', not 'b'\.$"):
        keras_wrn.build_model("resnet-56", weights=str(path), shortcut="b")
    torch.save(ChenyaofoResNet([3, 3, 3], 100).state_dict(), path)
    with pytest.raises(WeightsError, match=r"^fc\.weight has shape \(100, 64\), which does not "
                                           r"fit layer classifier \(\(64, 10\)"):
        keras_wrn.build_model("resnet-20", weights=str(path), num_classes=10)
    torch.save({"net": {"features.0.weight": torch.zeros(16, 3, 3, 3),
                        "head.weight": torch.zeros(10, 64)}, "acc": 93.1}, path)
    with pytest.raises(WeightsError) as err:
        keras_wrn.build_model("resnet-20", weights=str(path))
    assert str(err.value) == (
        "the checkpoint's keys (features.0.weight, head.weight) fit no single PyTorch layout of "
        "resnet (cifar stem); expected one of akamaster (linear), dxy (conv_1_3x3), chenyaofo "
        "(fc); name it (--layout, weights_layout=) if it is one.")
    with pytest.raises(WeightsError, match=r"^layout 'torchvision' is not one of resnet's "
                                           r"\(cifar stem\): akamaster, dxy, chenyaofo\.$"):
        keras_wrn.build_model("resnet-20", weights=str(path), weights_layout="torchvision")


def test_convert_app_detects_a_cifar_layout_and_takes_another_normalisation(tmp_path):
    reference, path = _saved("akamaster-resnet-20", tmp_path, seed=5)
    out = tmp_path / "resnet20.keras"
    result = call_app("convert.py", "--from", path, "--arch", "resnet-20", "--output", out)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert (report["layout"], report["num_classes"]) == ("akamaster", 10)
    np.testing.assert_allclose(report["mean"], IMAGENET_MEAN)
    images = _images(32, batch=2)
    with torch.no_grad():
        _assert_same_logits(keras.models.load_model(out)(images, training=False),
                            reference.eval()(_unit_input(images, *_IMAGENET_UNIT)))
    # A fine-tuned copy fed other statistics: the flags say which (here in 0-255 pixels).
    call_app("convert.py", "--from", path, "--arch", "resnet", "--depth", "20", "--output", out,
             "--layout", "akamaster", "--mean", "127.5,127.5,127.5", "--std", "64,64,64",
             "--pixel-scale", "255")
    with torch.no_grad():
        _assert_same_logits(keras.models.load_model(out)(images, training=False),
                            reference(_unit_input(images, (0.5,) * 3, (64 / 255,) * 3)))


def test_convert_help_lists_every_layout():
    result = call_app("convert.py", "--help")
    assert all(f"\n  {name} " in result.stdout for name in LAYOUTS), result.stdout
