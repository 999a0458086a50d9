"""The benchmark runs (tiny model, few steps) and its FLOP count is exact."""

from __future__ import annotations

import json
import statistics

import keras
import pytest
from helpers import call_app, error_line, run_app

import keras_wrn
from keras_wrn.benchmark import conv_seconds, conv_shapes, forward_flops_per_image


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


@pytest.mark.slow
def test_train_benchmark_runs_and_reports(tmp_path):
    # A stand-in for the PyTorch reference script, run by this Python: its last line says 100,
    # 400 then 200 img/s, and it records the arguments it was given.
    fake_torch = tmp_path / "torch_step.py"
    fake_torch.write_text(f"""import json, sys
with open({str(tmp_path / 'calls')!r}, "a") as calls:
    calls.write(json.dumps(sys.argv[1:]) + "\\n")
with open({str(tmp_path / 'calls')!r}) as calls:
    n = len(calls.readlines())
print(json.dumps({{"train_images_per_s": {{1: 100, 2: 400}}.get(n, 200)}}))
""")
    result = run_app("benchmark.py", "train", "--arch", "resnet-20", "--json",
                     "--batch-size", "8", "--windows", "2", "--steps", "2", "--conv-floor",
                     "--no-winograd", "--rounds", "3", "--torch-reference", fake_torch,
                     "--output", tmp_path / "r.json",
                     TF_CPP_MIN_LOG_LEVEL="0", TF_XLA_FLAGS="",
                     XDG_CACHE_HOME=str(tmp_path / "cache"))
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    # XLA fusion is on by default; with Winograd off, nothing else would compile with XLA.
    assert reported["xla_fusion"] is True
    assert "Compiled cluster using XLA" in result.stderr
    # The clusters are written to the default persistent cache, which the plan names.
    (cache,) = (tmp_path / "cache" / "keras_wrn" / "xla").iterdir()
    assert list(cache.glob("xla_compile_cache__*.pb"))
    assert reported["runtime"]["xla_cache"] == str(cache)
    for key in ("train_images_per_s", "flops_per_image", "peak_flops_per_s", "mfu",
                "conv_share_of_step", "conv_floor_speedup_vs_torch"):
        assert reported[key] > 0, key
    # MFU is its definition applied to the reported rate, FLOPs and peak (both rounded).
    assert reported["mfu"] == pytest.approx(
        reported["train_images_per_s"] * 3 * reported["flops_per_image"]
        / reported["peak_flops_per_s"], rel=1e-2)
    assert len(reported["window_images_per_s"]) == 6  # 3 rounds of 2 windows
    assert reported["winograd_convs"] == 0  # --no-winograd: the floor's own oneDNN kernels
    assert reported["onednn_batch_norms"] == 19  # on by default: every batch norm of ResNet-20
    # One reference run per round, each paired with its own round's rate; medians reported.
    assert reported["round_torch_images_per_s"] == [100, 400, 200]
    assert reported["torch_images_per_s"] == 200
    ratios = [rate / torch for rate, torch in zip(reported["round_images_per_s"],
                                                   [100, 400, 200], strict=True)]
    assert reported["round_speedups_vs_torch"] == pytest.approx(ratios, abs=2e-3)
    assert reported["speedup_vs_torch"] == pytest.approx(sorted(ratios)[1], abs=2e-3)
    assert reported["train_images_per_s"] == pytest.approx(
        sorted(reported["round_images_per_s"])[1], abs=0.06)
    convs = reported["conv_s_per_step"]
    assert convs["total"] == pytest.approx(
        convs["forward"] + convs["backward_data"] + convs["backward_weights"], abs=2e-3)
    assert json.loads((tmp_path / "r.json").read_text())["arch"] == "resnet-20"
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [json.loads(call) for call in calls] == \
        [["resnet-20", "--batch", "8", "--precision", "fp32"]] * 3


def test_conv_floor_rejects_what_it_cannot_time():
    result = call_app("benchmark.py", "train", "--arch", "resnet-20", "--conv-floor", check=False)
    assert result.returncode != 0  # Winograd on: the step no longer runs only oneDNN convs
    assert error_line(result).startswith("error: --conv-floor times oneDNN's float32 convs")
    assert "add --no-winograd" in error_line(result)


@pytest.mark.slow
def test_winograd_benchmark_times_both_kernels_per_shape(tmp_path):
    result = call_app("benchmark.py", "winograd", "--shapes", "128@4", "--batch-size", "1",
                      "--json", "--output", tmp_path / "w.json")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(reported["onednn_avx512"], bool)
    (row,) = reported["shapes"]  # wide enough on 4x4 for either instruction set's rule
    assert (row["channels"], row["side"], row["training_step_uses_winograd"]) == (128, 4, True)
    for tile in ("f2", "f4"):
        assert row[f"speedup_{tile}"] == pytest.approx(
            row["onednn_ms"] / row[f"winograd_{tile}_ms"], rel=0.01)
    assert json.loads((tmp_path / "w.json").read_text())["kind"] == "winograd"


def test_winograd_benchmark_rejects_a_bad_shape():
    result = call_app("benchmark.py", "winograd", "--shapes", "64x8", check=False)
    assert result.returncode == 2 and "is not CHANNELS@SIDE, e.g. 64@32" in result.stderr


@pytest.mark.slow
def test_infer_benchmark_runs_every_format_with_builtin_kernels(tmp_path):
    result = call_app("benchmark.py", "infer", "--arch", "resnet-20", "--json", "--batch-size", "4",
                      "--kernels", "builtin", "--output", tmp_path / "r.json")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    formats = reported["formats"]
    assert reported["tflite_kernels"] == "builtin"
    # Where it was measured: the int8 speed-up depends 3x on the CPU's SIMD extensions.
    assert reported["machine"]["cpu"]["name"] and "simd" in reported["machine"]["cpu"]
    assert reported["machine"]["versions"]["ai-edge-litert"]
    assert set(formats) == {"keras", "saved_model", "tflite_fp32", "tflite_fp16",
                            "tflite_dynamic", "tflite_int8"}
    assert all(row["latency_ms_batch1"] > 0 for row in formats.values())
    # The speed-up is the ratio of the two latencies reported (each rounded to 1 us).
    assert reported["int8_speedup_vs_fp32"] == pytest.approx(
        formats["tflite_fp32"]["latency_ms_batch1"] / formats["tflite_int8"]["latency_ms_batch1"],
        abs=0.01 + 0.01 * reported["int8_speedup_vs_fp32"])


@pytest.mark.slow
def test_pipeline_benchmark_measures_the_folder_and_its_tfrecords_against_the_step(tmp_path):
    result = call_app("benchmark.py", "pipeline", "--images", "60", "--image-size", "32",
                      "--batch-size", "8", "--epochs", "3", "--step-arch", "resnet-20",
                      "--step-batch", "4", "--json", "--output", tmp_path / "r.json")
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    assert reported == json.loads((tmp_path / "r.json").read_text())
    assert reported["augment"]["kind"] == "imagenet" and reported["machine"]["cpu"]["name"]
    assert reported["folder_cache"] == "none"  # the folder streamed file by file
    step = reported["train_step"]["images_per_s"]
    assert step > 0
    assert set(reported["sources"]) == {"folder", "tfrecords"}
    for row in reported["sources"].values():
        # 7 batches of 8 an epoch, the first 5 warming up: 2 timed batches per epoch.
        assert row["images_per_epoch"] == 16 and len(row["epoch_images_per_s"]) == 3
        assert row["images_per_s"] == pytest.approx(
            statistics.median(row["epoch_images_per_s"]), abs=0.1)
        assert row["images_per_s_per_core"] == pytest.approx(
            row["images_per_s"] / reported["cores"], abs=0.1)
        assert row["cores_to_feed_the_step"] == pytest.approx(
            step / row["images_per_s_per_core"], rel=0.01, abs=0.01)
        assert row["peak_rss_mb"] >= row["peak_rss_growth_mb"] >= 0
    few = call_app("benchmark.py", "pipeline", "--images", "30", "--batch-size", "8",
                   "--no-tfrecords", "--step-arch", "", check=False)
    assert few.returncode == 2 and error_line(few) == (
        "error: 3 batches per epoch, 5 of them warming up: use more images or a smaller batch "
        "size")


def test_conv_floor_finds_every_conv_inside_stochastic_residual_branches():
    # PyramidSepDrop-8: a stem and one block of two 3x3 convs per stage, the blocks held in
    # StochasticResidual branches; stages 2 and 3 open with a stride-2 conv.
    model = keras_wrn.build_model("pyramidsepdrop", depth=8, alpha=12)
    shapes = conv_shapes(model)
    assert sum(shapes.values()) == 7
    assert sum(count for key, count in shapes.items() if key[3] == (2, 2)) == 2
    no_input_gradient = [key for key in shapes if not key[-1]]
    assert no_input_gradient == [((32, 32, 3), 16, (3, 3), (1, 1), "SAME", False)]


def test_conv_floor_times_the_stem_without_an_input_gradient():
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3, padding="same")(inputs))
    seconds = conv_seconds(model, batch_size=2, repeats=1)
    assert seconds["forward"] > 0 and seconds["backward_weights"] > 0
    assert seconds["backward_data"] == 0
    assert seconds["total"] == pytest.approx(seconds["forward"] + seconds["backward_weights"])


@pytest.mark.slow
def test_gpu_check_stops_without_a_gpu():
    result = call_app("gpu_check.py", check=False)
    assert result.returncode == 2
    assert "--require-gpu: TensorFlow sees no GPU" in error_line(result)


def _fake_training_script(path, accuracies: list[float], seconds: float = 0.0):
    """A stand-in for a training command: one 'epoch N: ... val_top1 X' line per epoch after
    ``seconds``, then its per-epoch seconds in the JSON that --out names."""
    path.write_text(f"""import json, sys, time
out = sys.argv[sys.argv.index("--out") + 1]
for i, acc in enumerate({accuracies!r}):
    time.sleep({seconds})
    print(f"epoch {{i + 1}}: loss 1.0 val_top1 {{acc}} wall 0s", flush=True)
json.dump({{"epoch_seconds": [1.5] * {len(accuracies)}}}, open(out, "w"))
""")
    return path


def test_side_by_side_alternates_whole_commands_and_times_the_target(tmp_path):
    import sys

    from keras_wrn.benchmark.commands import side_by_side

    slow = _fake_training_script(tmp_path / "slow.py", [0.5, 0.9], seconds=0.3)
    fast = _fake_training_script(tmp_path / "fast.py", [0.86, 0.9])
    started = []

    def command(script):
        def make(folder):
            started.append(script.stem)
            return [sys.executable, str(script), "--out", str(folder / "out.json")]
        return make

    def seconds(side, folder):
        return json.loads((folder / "out.json").read_text())["epoch_seconds"]

    result = side_by_side(command(fast), command(slow), seconds, rounds=3,
                          work_dir=tmp_path / "work", target=0.85)
    assert started == ["fast", "slow", "slow", "fast", "fast", "slow"]  # who starts alternates
    ours, theirs = result["ours"], result["theirs"]
    assert ours["epoch_s"] == theirs["epoch_s"] == 1.5 and result["speedup_epoch"] == 1.0
    # The slow script reaches 0.85 only at its second epoch line, after two 0.3 s sleeps.
    assert theirs["time_to_target_s"] >= 0.6 > ours["time_to_target_s"]
    assert theirs["wall_s"] >= 0.6 and result["speedup_wall"] > 1
    assert [len(r["epochs"]) for r in result["runs"]["ours"]] == [2, 2, 2]
    assert ours["val_top1"] == theirs["val_top1"] == 0.9


def test_a_timed_command_reports_what_it_does_after_its_last_line():
    import sys

    from keras_wrn.benchmark.commands import timed_command

    run = timed_command([sys.executable, "-c",
                         "import time; print('epoch 1: val_top1 0.5', flush=True); "
                         "time.sleep(0.5)"])
    assert run["exit_s"] >= 0.5 and run["wall_s"] >= run["epochs"][0]["at_s"] + 0.5


def test_side_by_side_reports_a_failing_command_with_its_output(tmp_path):
    import sys

    from keras_wrn.benchmark.commands import timed_command

    with pytest.raises(RuntimeError, match="exited 3:\nboom"):
        timed_command([sys.executable, "-c", "print('boom'); raise SystemExit(3)"])


@pytest.mark.slow
def test_train_benchmark_side_by_side_runs_train_py_against_a_script(tmp_path):
    from helpers import write_image_folder

    data = write_image_folder(tmp_path / "images", classes=2, per_class=10, size=32)
    script = _fake_training_script(tmp_path / "loop.py", [0.5])
    result = call_app("benchmark.py", "train", "--arch", "resnet", "--train-args", "--depth 8",
                      "--batch-size", "4", "--side-by-side", str(script), "--data-dir", str(data),
                      "--epochs", "1", "--recipe", "quick", "--target", "0.4", "--json",
                      "--output", str(tmp_path / "r.json"))
    reported = json.loads(result.stdout.strip().splitlines()[-1])
    (ours,) = reported["runs"]["ours"]
    assert [e["epoch"] for e in ours["epochs"]] == [1] and len(ours["epoch_seconds"]) == 1
    assert 0 < ours["epoch_seconds"][0] < ours["wall_s"]  # the command's start-up counts too
    assert reported["theirs"]["time_to_target_s"] is not None
    assert reported["kind"] == "train-side-by-side" and reported["machine"]["cpu"]["cores"]


def test_train_benchmark_side_by_side_refuses_what_it_would_ignore(tmp_path):
    result = call_app("benchmark.py", "train", "--arch", "resnet-20", "--side-by-side",
                      str(tmp_path / "none.py"), check=False)
    assert error_line(result) == ("error: --side-by-side needs --data-dir, the image folder "
                                  "both train on.")
    result = call_app("benchmark.py", "train", "--arch", "resnet-20", "--side-by-side",
                      str(tmp_path / "none.py"), "--data-dir", str(tmp_path), "--no-xla-fusion",
                      check=False)
    assert error_line(result).startswith("error: with --side-by-side, pass apps/train.py's "
                                         "flags in --train-args (got --xla-fusion)")


@pytest.mark.parametrize(("flags", "error"), [
    (["--torch-reference", "none.py"], "error: no PyTorch training-step script at none.py; pass "
                                       "its path to --torch-reference."),
    (["--torch-python", "python3"], "error: --torch-python runs a PyTorch script: add "
                                    "--torch-reference SCRIPT or --side-by-side SCRIPT."),
])
def test_train_benchmark_refuses_a_torch_reference_it_cannot_run(flags, error, tmp_path,
                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = call_app("benchmark.py", "train", "--arch", "resnet-20", *flags, check=False)
    assert result.returncode == 2 and error_line(result) == error


@pytest.mark.slow
def test_a_torch_reference_that_fails_is_one_line_naming_it(tmp_path):
    script = tmp_path / "torch_step.py"
    script.write_text("import sys\nsys.exit(\"ModuleNotFoundError: No module named 'torch'\")\n")
    result = call_app("benchmark.py", "train", "--arch", "resnet", "--depth", "8",
                      "--batch-size", "4", "--windows", "1", "--steps", "1",
                      "--torch-reference", script,
                      "--output", tmp_path / "r.json", check=False)
    assert result.returncode == 2
    assert error_line(result) == (
        f"error: --torch-reference {script} gave no train_images_per_s (exited 1; its last "
        "error line: ModuleNotFoundError: No module named 'torch'); run it alone to see why.")
    assert not (tmp_path / "r.json").exists()
