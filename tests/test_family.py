"""A new model family is one module: registered from this file alone, it builds by name and by
preset, checks its own ranges, brings its recipe to the configuration, its space to the tuner
and its depth rule to both."""

from __future__ import annotations

import keras
import pytest

import keras_wrn
from keras_wrn.models import common
from keras_wrn.models.depth import CifarDepth
from keras_wrn.models.family import FAMILIES, Family, Hparam, register
from keras_wrn.models.presets import preset, published
from keras_wrn.models.stages import Block, block_widths, build_network
from keras_wrn.training import RECIPES, resolve_config
from keras_wrn.tuning import load_space, to_overrides

DEPTH = CifarDepth(basic=1)  # one convolution per block: depth 3n+2


def _plain_block(x, blk: Block):
    def branch(y):
        y = common.conv(y, blk.width, 3, blk.stride, name=f"{blk.name}_conv1")
        return common.bn(y, f"{blk.name}_bn1", blk.sync_bn)

    shortcut = x
    if blk.stride != 1 or x.shape[-1] != blk.width:
        shortcut = common.conv(x, blk.width, 1, blk.stride, name=f"{blk.name}_proj")
    return common.residual(x, shortcut, branch, rate=blk.rate, mode=blk.mode, name=blk.name,
                           seed=blk.seed)


def layout(depth: int) -> int:
    return DEPTH.blocks(depth)


def build(hp: dict) -> keras.Model:
    n, base = layout(hp["depth"]), hp["base_width"]
    return build_network(
        hp, stem="cifar", stem_layers=lambda x: common.conv(x, base, 3, name="stem_conv"),
        stages=(n, n, n), strides=(1, 2, 2), widths=block_widths((n, n, n), (base, 2 * base,
                                                                              4 * base)),
        final_preact=True, block=_plain_block)


TESTNET = Family(
    name="testnet", build=build, layout=layout, depth_rule=DEPTH,
    hparams=(Hparam("depth", 8, "total depth", low=1, flag=True),
             Hparam("base_width", 4, "channels of the first stage", low=1, high=64)),
    recipe="testnet-recipe",
    recipes={"testnet-recipe": {**RECIPES["quick"], "epochs": 3, "lr": 0.07}},
    space={"blocks_per_stage": {"min": 1, "max": 2}, "base_width": [4, 8]},
    presets={"testnet-11": preset("this test", 0, published(0.0), depth=11, base_width=8)},
)


@pytest.fixture
def testnet():
    register(TESTNET)
    yield TESTNET
    del FAMILIES["testnet"]


def test_a_family_registered_from_a_test_file_builds_by_name_and_by_preset(testnet):
    assert "testnet" in keras_wrn.list_families()
    assert keras_wrn.list_models("testnet*") == ["testnet-11"]
    assert keras_wrn.get_preset("testnet-11")["family"] == "testnet"
    assert "base_width" in keras_wrn.hyperparameters("testnet")
    model = keras_wrn.build_model("testnet", num_classes=3)
    assert model.output_shape == (None, 3)
    assert _branch_widths(model) == [4, 4, 8, 8, 16, 16]  # depth 8: 2 blocks a stage
    assert _branch_widths(keras_wrn.build_model("testnet-11")) == [8] * 3 + [16] * 3 + [32] * 3


def _branch_widths(model: keras.Model) -> list[int]:
    return [layer.filters for layer in model.layers
            if isinstance(layer, keras.layers.Conv2D) and layer.name.endswith("_conv1")]


def test_the_family_checks_its_own_ranges_and_depth_rule(testnet):
    with pytest.raises(ValueError, match=r"base_width must be an integer in \[1, 64\]"):
        keras_wrn.check("testnet", base_width=65)
    with pytest.raises(ValueError, match=r"depth 9 is not 3n\+2"):
        keras_wrn.check("testnet", depth=9)


def test_the_family_brings_its_recipe_and_tuning_space(testnet):
    config = resolve_config({"arch": "testnet-11"})
    assert (config.recipe.name, config.recipe.epochs, config.recipe.lr) == (
        "testnet-recipe", 3, 0.07)
    space = load_space("testnet")
    assert space["base_width"] == [4, 8] and "lr" in space  # its own and the common entries
    assert to_overrides("testnet", {"blocks_per_stage": 2, "base_width": 8}) == {
        "depth": 8, "base_width": 8}


def test_without_registration_nothing_of_it_remains():
    assert "testnet" not in keras_wrn.list_families()
    assert "testnet-recipe" not in RECIPES
