"""The benchmark runs (tiny model, few steps) and its FLOP count is exact."""

from __future__ import annotations

import json

import keras
from helpers import run_app

import keras_wrn
from keras_wrn.benchmark import forward_flops_per_image


def test_flops_of_a_hand_computed_network():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(x))
    model = keras.Model(inputs, keras.layers.Dense(4)(x))
    # conv: 8x8 outputs x 8 channels x (3x3x3) MACs; dense: 8 x 4 MACs; 2 FLOPs per MAC.
    assert forward_flops_per_image(model) == 2 * (8 * 8 * 8 * 27 + 8 * 4)


def test_flops_of_resnet_20_match_its_layer_by_layer_count():
    macs = 32 * 32 * 27 * 16                                        # stem
    macs += 6 * 32 * 32 * 9 * 16 * 16                                # stage 1
    macs += 16 * 16 * 9 * 16 * 32 + 5 * 16 * 16 * 9 * 32 * 32        # stage 2
    macs += 8 * 8 * 9 * 32 * 64 + 5 * 8 * 8 * 9 * 64 * 64            # stage 3
    macs += 64 * 10                                                  # classifier
    assert forward_flops_per_image(keras_wrn.build_model("resnet-20")) == 2 * macs


def test_train_benchmark_runs_and_reports(tmp_path):
    result = run_app("benchmark.py", "train", "--arch", "resnet-20", "--json",
                     "--batch-size", "8", "--windows", "2", "--steps", "2",
                     "--output", tmp_path / "r.json")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("train_images_per_s", "flops_per_image", "peak_flops_per_s", "mfu"):
        assert reported[key] > 0, key
    assert json.loads((tmp_path / "r.json").read_text())["arch"] == "resnet-20"


def test_infer_benchmark_runs_every_format_with_builtin_kernels(tmp_path):
    result = run_app("benchmark.py", "infer", "--arch", "resnet-20", "--json", "--batch-size", "4",
                     "--kernels", "builtin", "--output", tmp_path / "r.json")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    assert reported["tflite_kernels"] == "builtin" and reported["int8_speedup_vs_fp32"] > 0
    assert set(reported["formats"]) == {"keras", "saved_model", "tflite_fp32", "tflite_fp16",
                                        "tflite_dynamic", "tflite_int8"}
    assert all(row["latency_ms_batch1"] > 0 for row in reported["formats"].values())
