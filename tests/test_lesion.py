"""Residual blocks deleted at test time: the rewritten graph keeps each deleted block's shortcut
(identity, or the downsampling path), drops its branch's weights, and the lesion study and its
app report what the rewritten models measure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import call_app

import keras_wrn
from keras_wrn.analysis import lesion, residual_blocks, without_blocks
from keras_wrn.data import eval_dataset, load_synthetic
from keras_wrn.layers import StochasticResidual
from keras_wrn.training import evaluate

CASES = [("resnet", {"depth": 8}),  # post-activation, option-A downsampling shortcuts
         ("resnet", {"depth": 8, "drop_rate": 0.5}),  # branches inside StochasticResidual
         ("pyramidsepdrop", {"depth": 8, "alpha": 12}),  # pooled, zero-padded shortcuts
         ("wrn", {"depth": 10, "widen_factor": 1})]  # a projection on the pre-activation


def _last_batch_norm(model, block: str):
    """The batch norm that ends ``block``'s branch (its output is the branch's)."""
    layers = {layer.name: layer for layer in model.layers}
    if f"{block}_residual" in layers:
        layers = {layer.name: layer for layer in layers[f"{block}_residual"].branch.layers}
    names = sorted(name for name in layers if name.startswith(f"{block}_bn"))
    return layers[names[-1]]


@pytest.mark.parametrize("name, hparams", CASES)
def test_a_deleted_block_is_its_shortcut_and_its_weights_are_gone(name, hparams):
    model = keras_wrn.build_model(name, **hparams)
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    np.testing.assert_array_equal(without_blocks(model, [])(x), model(x))
    blocks = residual_blocks(model)
    assert blocks == [f"stage{s}_block1" for s in (1, 2, 3)]
    for block in blocks:
        deleted = without_blocks(model, [block])
        kept = {id(w) for w in deleted.weights}
        gone = [w for w in model.weights if id(w) not in kept]
        assert gone and all(w.path.startswith(block) or f"{block}_" in w.path for w in gone)
        if name == "wrn":
            continue  # its branches end in a conv: no batch norm to silence them
        # A branch whose last batch norm outputs zeros adds nothing: the model then computes
        # exactly what the model without the block computes.
        bn = _last_batch_norm(model, block)
        saved = [np.asarray(bn.gamma).copy(), np.asarray(bn.beta).copy()]
        bn.gamma.assign(np.zeros_like(saved[0]))
        bn.beta.assign(np.zeros_like(saved[1]))
        np.testing.assert_allclose(model(x, training=False), deleted(x), rtol=1e-5, atol=1e-5)
        bn.gamma.assign(saved[0])
        bn.beta.assign(saved[1])
    with pytest.raises(ValueError, match="no residual block stage9_block1"):
        without_blocks(model, ["stage9_block1"])
    everything = without_blocks(model, blocks)
    assert not any(isinstance(layer, StochasticResidual) for layer in everything.layers)


@pytest.mark.slow
def test_the_lesion_study_measures_every_deletion_and_the_two_paths_agree():
    model = keras_wrn.build_model("resnet", depth=14, drop_rate=0.5)
    data = load_synthetic(32, train_examples=8, val_examples=64)
    dataset = eval_dataset(data.val, data.num_classes, 32).cache()
    result = lesion(model, dataset, draws=2, seed=1)
    blocks = residual_blocks(model)
    assert result["blocks"] == len(blocks) == 6
    assert result["baseline_top1"] == evaluate(model, dataset)["top1"]
    assert [r["block"] for r in result["single"]] == blocks
    assert [r["k"] for r in result["random"]] == list(range(1, 7))
    assert [len(r["top1"]) for r in result["random"]] == [2, 2, 2, 2, 2, 1]
    for r in result["random"]:
        assert all(len(chosen) == r["k"] == len(set(chosen)) for chosen in r["deleted"])
        assert r["top1_mean"] == pytest.approx(np.mean(r["top1"]))
    # A one-block random draw is a single deletion, measured the other way.
    single = {r["index"]: r["top1"] for r in result["single"]}
    for (index,), top1 in zip(result["random"][0]["deleted"], result["random"][0]["top1"],
                              strict=True):
        assert top1 == single[index]


def test_lesion_app_writes_the_json_and_the_plot(tmp_path):
    path = tmp_path / "m.keras"
    keras_wrn.build_model("resnet", depth=8).save(path)
    out = tmp_path / "lesion"
    result = call_app("lesion.py", "--model", path, "--dataset", "synthetic", "--output", out,
                      "--draws", "1", "--max-examples", "64")
    report = json.loads((out / "lesion.json").read_text())
    assert report["blocks"] == 3 and len(report["single"]) == 3 and len(report["random"]) == 3
    assert (out / "lesion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["lesion.json", "lesion.png"]
    assert "3 blocks, top-1" in result.stdout


@pytest.mark.slow
def test_the_export_depth_ladder_deletes_the_cheapest_blocks_for_real(tmp_path):
    path = tmp_path / "m.keras"
    keras_wrn.build_model("resnet", depth=14).save(path)
    result = call_app("export.py", "--model", path, "--name", "m", "--export-dir",
                      tmp_path / "exports", "--formats", "tflite_fp32", "--eval-dataset",
                      "synthetic", "--eval-examples", "64", "--lesion", "1", "3")
    report = json.loads((tmp_path / "exports" / "m" / "report.json").read_text())
    rows = {row["format"]: row for row in report["formats"]}
    full, one, three = (rows[f] for f in ("tflite_fp32", "tflite_fp32_minus1",
                                          "tflite_fp32_minus3"))
    assert (one["blocks_removed"], three["blocks_removed"]) == (1, 3)
    assert one["removed"] == three["removed"][:1]  # one ladder: each rung deletes more
    assert len(set(three["removed"])) == 3
    # The deleted branches' weights are not in the files.
    assert full["size_bytes"] > one["size_bytes"] > three["size_bytes"]
    for row in (one, three):
        assert 0 <= row["agreement"] <= 1 and "top1" in row and row["latency_ms"] > 0
        assert (tmp_path / "exports" / "m" / "tflite" / "1" / f"{row['format']}.tflite").is_file()
    assert "tflite_fp32_minus3" in result.stdout
    too_many = call_app("export.py", "--model", path, "--name", "m2", "--export-dir",
                        tmp_path / "exports", "--formats", "tflite_fp32", "--eval-dataset",
                        "synthetic", "--lesion", "6", check=False)
    assert too_many.returncode == 2
    assert "--lesion 6: the model has 6 residual blocks; delete fewer" in too_many.stderr
    assert not (tmp_path / "exports" / "m2").exists()  # refused before the first byte
