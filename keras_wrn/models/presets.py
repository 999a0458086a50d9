"""Named configurations of the published networks, as data.

Each record: ``family`` and ``hparams`` (what `build_model` is called with), ``source`` (the
paper and the table the numbers come from), ``params`` (trainable parameters of the authors'
reference implementation, exact), and ``published`` (the paper's rounded parameter count in
millions and its error rates in percent; ``None`` where the paper gives none).
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


def _published(params_m: float, **errors: float | None) -> dict[str, Any]:
    return {"params_m": params_m, **errors}


PRESETS: dict[str, dict[str, Any]] = {
    # He et al. 2015, CIFAR-10 (Table 6) and ImageNet (Tables 2 and 3, 10-crop top-1 error).
    "resnet-20": {"family": "resnet", "hparams": {"depth": 20}, "source": HE2015 + ", Table 6",
                  "params": 269_722, "published": _published(0.27, cifar10_error=8.75)},
    "resnet-56": {"family": "resnet", "hparams": {"depth": 56}, "source": HE2015 + ", Table 6",
                  "params": 853_018, "published": _published(0.85, cifar10_error=6.97)},
    "resnet-110": {"family": "resnet", "hparams": {"depth": 110}, "source": HE2015 + ", Table 6",
                   "params": 1_727_962, "published": _published(1.7, cifar10_error=6.43)},
    "resnet-1202": {"family": "resnet", "hparams": {"depth": 1202}, "source": HE2015 + ", Table 6",
                    "params": 19_421_274, "published": _published(19.4, cifar10_error=7.93)},
    "resdrop-110": {"family": "resnet", "hparams": {"depth": 110, "drop_rate": 0.5},
                    "source": "Huang et al. 2016, Deep Networks with Stochastic Depth "
                              "(arXiv:1603.09382), Table 1",
                    "params": 1_727_962, "published": _published(1.7, cifar10_error=5.25,
                                                            cifar100_error=24.98)},
    "resnet-18": {"family": "resnet", "hparams": {"depth": 18, **IMAGENET},
                  "source": HE2015 + ", Table 2", "params": 11_689_512,
                  "published": _published(11.7, imagenet_top1_error=27.88)},
    "resnet-50": {"family": "resnet", "hparams": {"depth": 50, **IMAGENET},
                  "source": HE2015 + ", Table 3", "params": 25_557_032,
                  "published": _published(25.6, imagenet_top1_error=22.85)},
    "resnet-152": {"family": "resnet", "hparams": {"depth": 152, **IMAGENET},
                   "source": HE2015 + ", Table 3", "params": 60_192_808,
                   "published": _published(60.2, imagenet_top1_error=21.43)},
    # He et al. 2016, Table 2 (CIFAR-10/100, bottleneck, "pre-act").
    "preact-resnet-164": {"family": "preact_resnet", "hparams": {"depth": 164, "bottleneck": True},
                          "source": HE2016 + ", Table 3", "params": 1_703_258,
                          "published": _published(1.7, cifar10_error=5.46, cifar100_error=24.33)},
    "preact-resnet-1001": {"family": "preact_resnet",
                           "hparams": {"depth": 1001, "bottleneck": True},
                           "source": HE2016 + ", Table 3", "params": 10_327_706,
                           "published": _published(10.2, cifar10_error=4.92,
                                                   cifar100_error=22.71)},
    # Zagoruyko & Komodakis 2016, Table 5 (without dropout).
    "wrn-16-8": {"family": "wrn", "hparams": {"depth": 16, "widen_factor": 8},
                 "source": ZK2016 + ", Table 5", "params": 10_961_370,
                 "published": _published(11.0, cifar10_error=4.81, cifar100_error=22.07)},
    "wrn-28-10": {"family": "wrn", "hparams": {"depth": 28, "widen_factor": 10},
                  "source": ZK2016 + ", Table 5", "params": 36_479_194,
                  "published": _published(36.5, cifar10_error=4.17, cifar100_error=20.50)},
    "wrn-28-10-dropout": {"family": "wrn",
                          "hparams": {"depth": 28, "widen_factor": 10, "dropout": 0.3},
                          "source": ZK2016 + ", Table 6", "params": 36_479_194,
                          "published": _published(36.5, cifar10_error=3.89,
                                                  cifar100_error=18.85)},
    "wrn-40-4": {"family": "wrn", "hparams": {"depth": 40, "widen_factor": 4},
                 "source": ZK2016 + ", Table 5", "params": 8_949_210,
                 "published": _published(8.9, cifar10_error=4.97, cifar100_error=22.89)},
    # Han et al. 2017, Table 4 (CIFAR) and Table 5 (ImageNet, single crop).
    "pyramidnet-110-a48": {"family": "pyramidnet", "hparams": {"depth": 110, "alpha": 48},
                           "source": HAN2017 + ", Table 4", "params": 1_772_706,
                           "published": _published(1.7, cifar10_error=4.58,
                                                   cifar100_error=23.12)},
    "pyramidnet-110-a84": {"family": "pyramidnet", "hparams": {"depth": 110, "alpha": 84},
                           "source": HAN2017 + ", Table 4", "params": 3_904_446,
                           "published": _published(3.8, cifar10_error=4.26,
                                                   cifar100_error=20.66)},
    "pyramidnet-110-a270": {"family": "pyramidnet", "hparams": {"depth": 110, "alpha": 270},
                            "source": HAN2017 + ", Table 4", "params": 28_485_477,
                            "published": _published(28.3, cifar10_error=3.73,
                                                    cifar100_error=18.25)},
    "pyramidnet-164-a48-bottleneck": {"family": "pyramidnet",
                                      "hparams": {"depth": 164, "alpha": 48, "bottleneck": True},
                                      "source": HAN2017 + ", Table 4", "params": 1_715_442,
                                      "published": _published(1.7, cifar10_error=4.21,
                                                              cifar100_error=19.52)},
    "pyramidnet-164-a270-bottleneck": {"family": "pyramidnet",
                                       "hparams": {"depth": 164, "alpha": 270, "bottleneck": True},
                                       "source": HAN2017 + ", Table 4", "params": 27_216_021,
                                       "published": _published(27.0, cifar10_error=3.48,
                                                               cifar100_error=17.01)},
    "pyramidnet-200-a240-bottleneck": {"family": "pyramidnet",
                                       "hparams": {"depth": 200, "alpha": 240, "bottleneck": True},
                                       "source": HAN2017 + ", Table 4", "params": 26_752_702,
                                       "published": _published(26.6, cifar10_error=3.44,
                                                               cifar100_error=16.51)},
    "pyramidnet-272-a200-bottleneck": {"family": "pyramidnet",
                                       "hparams": {"depth": 272, "alpha": 200, "bottleneck": True},
                                       "source": HAN2017 + ", Table 4", "params": 26_210_842,
                                       "published": _published(26.0, cifar10_error=3.31,
                                                               cifar100_error=16.35)},
    "pyramidnet-200-a300-imagenet": {"family": "pyramidnet",
                                     "hparams": {"depth": 200, "alpha": 300, **IMAGENET},
                                     "source": HAN2017 + ", Table 5", "params": 62_368_168,
                                     "published": _published(62.1, imagenet_top1_error=20.5)},
    # Yamada, Iwamura & Kise 2016: plain drop (baseline) and separated drop, p_L = 0.5.
    "pyramiddrop-110-a270": {"family": "pyramiddrop", "hparams": {"depth": 110, "alpha": 270},
                             "source": YAMADA2016, "params": 28_485_477,
                             "published": _published(28.3)},
    "pyramidsepdrop-110-a270": {"family": "pyramidsepdrop",
                                "hparams": {"depth": 110, "alpha": 270},
                                "source": YAMADA2016, "params": 28_485_477,
                                "published": _published(28.3, cifar100_error=16.18)},
}
