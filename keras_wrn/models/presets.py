"""Named configurations of the published networks, as data.

Each record: ``family`` and ``hparams`` (what `build_model` is called with), ``source`` (the
paper and the table its architecture and parameter count come from), ``params`` (trainable
parameters of the authors' reference implementation, exact), and ``published``: the paper's
rounded parameter count in millions, the test error rates in percent, and ``errors_source``,
where those error rates are printed (a paper's table or the authors' repository) and with which
preprocessing. keras_wrn normalises by the per-channel mean and standard deviation, so where
the authors report both, the mean/std figures are the ones given.
"""

from __future__ import annotations

from typing import Any

HE2015 = "He et al. 2015, Deep Residual Learning for Image Recognition (arXiv:1512.03385)"
HE2016 = "He et al. 2016, Identity Mappings in Deep Residual Networks (arXiv:1603.05027)"
ZK2016 = "Zagoruyko & Komodakis 2016, Wide Residual Networks (arXiv:1605.07146)"
HAN2017 = "Han, Kim & Kim 2017, Deep Pyramidal Residual Networks (arXiv:1610.02915)"
YAMADA2016 = ("Yamada, Iwamura & Kise 2016, Deep Pyramidal Residual Networks with Separated "
              "Stochastic Depth (arXiv:1612.01230)")
IMAGENET = {"num_classes": 1000, "input_shape": (224, 224, 3), "stem": "imagenet"}


WRN_REPO = ("github.com/szagoruyko/wide-residual-networks README (mean/std normalisation, "
            "median of 5 runs)")
WRN_ZCA = ZK2016 + ", Table 4 (ZCA whitening; the authors give no mean/std figure)"
PYRAMIDNET_REPO = "github.com/jhkim89/PyramidNet README"


def _published(params_m: float, errors_source: str | None = None,
               **errors: float | None) -> dict[str, Any]:
    return {"params_m": params_m, **errors,
            "errors_source": errors_source if errors else None}


HE2015_T6 = HE2015 + ", Table 6"
HUANG2016 = ("Huang et al. 2016, Deep Networks with Stochastic Depth (arXiv:1603.09382), "
             "Table 1")


def _preset(family: str, source: str, params: int, published: dict[str, Any],
            **hparams: Any) -> dict[str, Any]:
    return {"family": family, "hparams": hparams, "source": source, "params": params,
            "published": published}


PRESETS: dict[str, dict[str, Any]] = {
    # He et al. 2015: CIFAR-10 (Table 6) and ImageNet (Tables 2 and 3, 10-crop top-1 error).
    "resnet-20": _preset("resnet", HE2015_T6, 269_722,
                         _published(0.27, HE2015_T6, cifar10_error=8.75), depth=20),
    "resnet-56": _preset("resnet", HE2015_T6, 853_018,
                         _published(0.85, HE2015_T6, cifar10_error=6.97), depth=56),
    "resnet-110": _preset("resnet", HE2015_T6, 1_727_962,
                          _published(1.7, HE2015_T6, cifar10_error=6.43), depth=110),
    "resnet-1202": _preset("resnet", HE2015_T6, 19_421_274,
                           _published(19.4, HE2015_T6, cifar10_error=7.93), depth=1202),
    "resdrop-110": _preset("resnet", HUANG2016, 1_727_962,
                           _published(1.7, HUANG2016, cifar10_error=5.25, cifar100_error=24.98),
                           depth=110, drop_rate=0.5),
    "resnet-18": _preset("resnet", HE2015 + ", Table 2", 11_689_512,
                         _published(11.7, HE2015 + ", Table 2 (10-crop)",
                                    imagenet_top1_error=27.88), depth=18, **IMAGENET),
    # ResNet-34 as torchvision builds it: projections only where the shape changes (option B).
    "resnet-34": _preset("resnet", HE2015 + ", Table 3", 21_797_672,
                         _published(21.8, HE2015 + ", Table 3 (10-crop, option B)",
                                    imagenet_top1_error=24.52), depth=34, **IMAGENET),
    "resnet-50": _preset("resnet", HE2015 + ", Table 3", 25_557_032,
                         _published(25.6, HE2015 + ", Table 3 (10-crop)",
                                    imagenet_top1_error=22.85), depth=50, **IMAGENET),
    "resnet-101": _preset("resnet", HE2015 + ", Table 3", 44_549_160,
                          _published(44.5, HE2015 + ", Table 3 (10-crop)",
                                     imagenet_top1_error=21.75), depth=101, **IMAGENET),
    "resnet-152": _preset("resnet", HE2015 + ", Table 3", 60_192_808,
                          _published(60.2, HE2015 + ", Table 3 (10-crop)",
                                     imagenet_top1_error=21.43), depth=152, **IMAGENET),
    # He et al. 2016, Table 3 (CIFAR-10/100, bottleneck, pre-activation).
    "preact-resnet-164": _preset("preact_resnet", HE2016 + ", Table 3", 1_703_258,
                                 _published(1.7, HE2016 + ", Table 3", cifar10_error=5.46,
                                            cifar100_error=24.33), depth=164, bottleneck=True),
    "preact-resnet-1001": _preset("preact_resnet", HE2016 + ", Table 3", 10_327_706,
                                  _published(10.2, HE2016 + ", Table 3", cifar10_error=4.92,
                                             cifar100_error=22.71), depth=1001, bottleneck=True),
    # Zagoruyko & Komodakis 2016: architectures and counts from Table 5 (Table 6 with dropout);
    # errors from the authors' repository where it has mean/std figures.
    "wrn-16-8": _preset("wrn", ZK2016 + ", Table 5", 10_961_370,
                        _published(11.0, WRN_ZCA, cifar10_error=4.81, cifar100_error=22.07),
                        depth=16, widen_factor=8),
    "wrn-28-10": _preset("wrn", ZK2016 + ", Table 5", 36_479_194,
                         _published(36.5, WRN_REPO, cifar10_error=4.00, cifar100_error=19.25),
                         depth=28, widen_factor=10),
    "wrn-28-10-dropout": _preset("wrn", ZK2016 + ", Table 6", 36_479_194,
                                 _published(36.5, WRN_REPO, cifar10_error=3.89,
                                            cifar100_error=18.85),
                                 depth=28, widen_factor=10, dropout=0.3),
    "wrn-40-4": _preset("wrn", ZK2016 + ", Table 5", 8_949_210,
                        _published(8.9, WRN_ZCA, cifar10_error=4.97, cifar100_error=22.89),
                        depth=40, widen_factor=4),
    # Han et al. 2017: architectures from Table 4 (CIFAR) and Table 5 (ImageNet); errors from
    # the authors' repository, which updated the paper's.
    "pyramidnet-110-a48": _preset("pyramidnet", HAN2017 + ", Table 4", 1_772_706,
                                  _published(1.7, PYRAMIDNET_REPO, cifar10_error=4.62,
                                             cifar100_error=23.31), depth=110, alpha=48),
    "pyramidnet-110-a84": _preset("pyramidnet", HAN2017 + ", Table 4", 3_904_446,
                                  _published(3.8, PYRAMIDNET_REPO, cifar10_error=4.27,
                                             cifar100_error=20.21), depth=110, alpha=84),
    "pyramidnet-110-a270": _preset("pyramidnet", HAN2017 + ", Table 4", 28_485_477,
                                   _published(28.3, PYRAMIDNET_REPO, cifar10_error=3.73,
                                              cifar100_error=18.25), depth=110, alpha=270),
    "pyramidnet-164-a48-bottleneck": _preset(
        "pyramidnet", HAN2017 + ", Table 4", 1_715_442,
        _published(1.7, PYRAMIDNET_REPO, cifar10_error=4.21, cifar100_error=19.52),
        depth=164, alpha=48, bottleneck=True),
    "pyramidnet-164-a270-bottleneck": _preset(
        "pyramidnet", HAN2017 + ", Table 4", 27_216_021,
        _published(27.0, PYRAMIDNET_REPO, cifar10_error=3.48, cifar100_error=17.01),
        depth=164, alpha=270, bottleneck=True),
    "pyramidnet-200-a240-bottleneck": _preset(
        "pyramidnet", HAN2017 + ", Table 4", 26_752_702,
        _published(26.6, PYRAMIDNET_REPO, cifar10_error=3.44, cifar100_error=16.51),
        depth=200, alpha=240, bottleneck=True),
    "pyramidnet-272-a200-bottleneck": _preset(
        "pyramidnet", HAN2017 + ", Table 4", 26_210_842,
        _published(26.0, PYRAMIDNET_REPO, cifar10_error=3.31, cifar100_error=16.35),
        depth=272, alpha=200, bottleneck=True),
    "pyramidnet-200-a300-imagenet": _preset(
        "pyramidnet", HAN2017 + ", Table 5", 62_368_168,
        _published(62.1, PYRAMIDNET_REPO + " (single crop)", imagenet_top1_error=20.47),
        depth=200, alpha=300, **IMAGENET),
    # Yamada, Iwamura & Kise 2016: plain drop (baseline) and separated drop, p_L = 0.5.
    "pyramiddrop-110-a270": _preset("pyramiddrop", YAMADA2016, 28_485_477, _published(28.3),
                                    depth=110, alpha=270),
    "pyramidsepdrop-110-a270": _preset("pyramidsepdrop", YAMADA2016, 28_485_477,
                                       _published(28.3, YAMADA2016, cifar100_error=16.18),
                                       depth=110, alpha=270),
}
