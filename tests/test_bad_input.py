"""Every app against a table of bad inputs: exit code 2, one `error:` line that names the fix, no
traceback, and nothing written (the folder the test works in is exactly as before)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import keras
import pytest
import tensorflow as tf
from helpers import TINY, TINY_MODEL, call_app, error_line, run_app, write_image_folder

import keras_wrn
from keras_wrn.export.tflite import convert_keras

# {tmp}: the test's folder; {text}: a text file; {pb}: a folder with a bogus saved_model.pb;
# {versions}: an export's model folder (its version 1: {pb});
# {model}: a real (untrained) .keras file; {images}: an image folder; {locked}: a folder
# another live run holds; {old}: a config file of an earlier version (flat, a renamed key);
# {empty_class}: an image folder with an empty class folder; {one_per_class}: one image a class;
# {manifest_NAME}: a TFRecord directory damaged one way (_damaged_records); {yaml_error},
# {int_keys}, {list_config}: config files that do not parse, have a number as a key, hold a list.
# {pth_unknown}: a PyTorch checkpoint of no known layout; {pth_resnet56}: the keys and shapes
# of an akamaster ResNet-56 checkpoint (CIFAR-10).
# {run}: {model} as a run's model.keras beside its run.json (classes class0, class1, as
# {images}); {others}: an image folder of two other classes; {notjson}, {notobject},
# {notstrings}, {miscounted}: {run} with a broken run.json; {tflite}: a .tflite file beside a
# labels.txt of three labels for its two classes.
CASES = [
    ("train.py", ["--arch", "pyramidsepdrop-110-a72"], "Did you mean pyramidsepdrop-110-a270"),
    ("train.py", ["--arch", "wrn", "--depth", "27"], "depth 27 is not 6n+4"),
    ("train.py", ["--data-dir", "{tmp}/nonexistent"], "--data-dir DIR"),
    ("train.py", ["--dataset", "synthetic", "--batch-size", "0"], "--batch-size must be >= 1"),
    ("train.py", ["--dataset", "synthetic", "--batch-size", "5000"],
     "exceeds the 2000 training examples"),
    ("train.py", ["--dataset", "synthetic", "--recipe", "fast"], "unknown recipe 'fast'"),
    ("train.py", ["--dataset", "synthetic", "--config", "{tmp}/none.yaml"], "does not exist"),
    ("train.py", ["--config", "{old}"], "key mixed_precision was renamed: use precision"),
    ("train.py", ["--dataset", "synthetic", "--strategy", "mirrored", "--cpu-devices", "2",
                  "--xla-fusion"], "--xla-fusion cannot run with several replicas"),
    ("train.py", ["--dataset", "synthetic", "--require-gpu"],
     "--require-gpu: TensorFlow sees no GPU"),
    ("train.py", ["--dataset", "synthetic", "--steps-per-loop", "0"],
     "--steps-per-loop must be >= 1"),
    ("train.py", ["--dataset", "synthetic", "--cpu-devices", "-1"], "--cpu-devices must be >= 0"),
    ("train.py", ["--dataset", "synthetic", "--steps-per-epoch", "-1"],
     "--steps-per-epoch must be >= 1"),
    ("train.py", ["--dataset", "synthetic", "--eval-batch-size", "0"],
     "--eval-batch-size must be >= 1"),
    ("train.py", ["--dataset", "synthetic", "--val-split", "1.5"], "--val-split must be in"),
    ("train.py", ["--dataset", "synthetic", "--lr", "inf"], "--lr must be a finite number"),
    ("train.py", ["--dataset", "synthetic", "--data-dir", "{images}"],
     "--dataset synthetic and --data-dir/--val-dir name two training sources"),
    ("train.py", ["--dataset", "synthetic", "--val-dir", "{images}"],
     "--dataset synthetic and --data-dir/--val-dir name two training sources"),
    ("train.py", ["--data-dir", "{images}", "--output-dir", "{images}/run"],
     "overlap; write the run outside the image folder"),
    ("train.py", ["--dataset", "synthetic", "--weight-decay", "inf"],
     "--weight-decay must be a finite number"),
    ("train.py", ["--dataset", "synthetic", "--momentum", "nan"],
     "--momentum must be a finite number"),
    ("train.py", ["--dataset", "synthetic", "--momentum", "1.5"], "--momentum must be in [0, 1)"),
    ("train.py", ["--arch", "pyramidnet", "--alpha", "inf"], "--alpha must be a finite number"),
    ("train.py", ["--dataset", "synthetic", "--milestones", "1", "nan"],
     "--milestones must be a finite number"),
    ("train.py", [*TINY, "--output-dir", "{text}"], "is a file; pass a directory"),
    ("train.py", [*TINY, "--output-dir", "{text}/run"], "cannot create --output-dir"),
    ("train.py", [*TINY, "--output-dir", "{locked}"], f"is in use by pid {os.getppid()}"),
    ("evaluate.py", ["--model", "{tmp}/none.keras", "--dataset", "synthetic"], "no model at"),
    ("evaluate.py", ["--model", "{text}.keras", "--dataset", "synthetic"], "is not a Keras model"),
    ("evaluate.py", ["--model", "{model}", "--batch-size", "0"], "--batch-size must be >= 1"),
    ("evaluate.py", ["--model", "{model}"], "no evaluation data"),
    ("export.py", ["--model", "{tmp}/none", "--name", "m"], "no model at"),
    ("export.py", ["--model", "{text}.keras", "--name", "m"], "is not a Keras model"),
    ("export.py", ["--model", "{model}", "--name", "m", "--formats", "tflite_int4"],
     "unknown format"),
    ("export.py", ["--model", "{model}", "--name", "m", "--formats", ","],
     "--formats names no format"),
    ("export.py", ["--model", "{model}", "--name", "m", "--formats", "tflite_qat_int8"],
     "--qat-epochs"),
    ("export.py", ["--model", "{model}", "--name", "m", "--formats", "saved_model,tflite_int8"],
     "tflite_int8 needs calibration images"),
    ("export.py", ["--model", "{model}", "--name", "m", "--threads", "0"], "--threads must be"),
    ("export.py", ["--model", "{model}", "--name", "m", "--micro-examples", "-1"],
     "--micro-examples must be >= 0"),
    ("export.py", ["--model", "{model}", "--name", "m", "--freeze-bn-after", "1.5"],
     "--freeze-bn-after is a fraction of the QAT steps in [0, 1]"),
    ("export.py", ["--model", "{model}", "--name", "m", "--formats", "tflite_micro"],
     "tflite_micro needs calibration images"),
    ("export.py", ["--model", "{model}", "--name", "m", "--formats", "saved_model",
                   "--lesion", "1"], "--lesion exports its rungs in the first post-training"),
    ("export.py", ["--model", "{model}", "--name", "m", "--formats", "tflite_fp32",
                   "--lesion", "1"], "--lesion picks the blocks to delete on labelled"),
    ("export.py", ["--model", "{model}", "--name", "../escaped"], "must be one folder name"),
    ("export.py", ["--model", "{model}", "--name", "{tmp}/absolute"], "must be one folder name"),
    ("export.py", ["--model", "{model}", "--name", ".."], "must be one folder name"),
    ("export.py", ["--model", "{model}", "--name", "m", "--export-dir", "{text}"],
     "--export-dir {text} is a file"),
    ("export.py", ["--model", "{model}", "--name", "linked"], "linked is a symlink"),
    ("export.py", ["--model", "{model}", "--name", "tflite_linked"], "tflite is a symlink"),
    ("predict.py", ["--model", "{tmp}/none", "{text}"], "no model at"),
    ("predict.py", ["--model", "{text}.keras", "{image}"], "is not a Keras model"),
    ("predict.py", ["--model", "{text}.tflite", "{image}"], "is not a TFLite model"),
    ("predict.py", ["--model", "{pb}", "{text}"], "cannot decode image"),
    ("predict.py", ["--model", "{pb}", "{tmp}/none.png"], "no image at"),
    ("predict.py", ["--model", "{model}", "{image}", "--top", "0"], "--top must be >= 1"),
    ("serving_request.py", ["--model", "{tmp}", "{image}"], "is not a SavedModel directory"),
    ("serving_request.py", ["--model", "{pb}", "{text}"], "cannot decode image"),
    ("serving_request.py", ["--model", "{pb}", "{image}", "{tmp}/none.png"], "no image at"),
    ("convert.py", ["--from", "{tmp}/none.pth", "--arch", "resnet-50", "--output",
                    "{tmp}/m.keras"], "no checkpoint at"),
    ("convert.py", ["--from", "{text}", "--arch", "resnet-50", "--output", "{tmp}/m.keras"],
     "as a PyTorch checkpoint"),
    ("convert.py", ["--from", "{pth_unknown}", "--arch", "preact-resnet-164", "--output",
                    "{tmp}/m.keras"], "no PyTorch layout is known for preact_resnet (cifar "
                                      "stem); layouts exist for"),
    ("convert.py", ["--from", "{pth_unknown}", "--arch", "resnet-20", "--output",
                    "{tmp}/m.keras"], "the checkpoint's keys (features.0.weight, head.weight) "
                                      "fit no single PyTorch layout of resnet (cifar stem); "
                                      "expected one of akamaster (linear), dxy (conv_1_3x3), "
                                      "chenyaofo (fc)"),
    ("convert.py", ["--from", "{pth_resnet56}", "--arch", "resnet-20", "--output",
                    "{tmp}/m.keras"], "the checkpoint has 9-9-9 blocks per stage, resnet_20 "
                                      "3-3-3; build the model of the checkpoint's depth."),
    ("convert.py", ["--from", "{pth_resnet56}", "--arch", "resnet-56", "--output",
                    "{tmp}/m.keras", "--num-classes", "100"],
     "linear.weight has shape (10, 64), which does not fit layer classifier ((64, 100)"),
    ("convert.py", ["--from", "{pth_resnet56}", "--arch", "resnet-56", "--output",
                    "{tmp}/m.keras", "--layout", "chenyaofo"],
     "layer2.0.downsample.0.weight (for layer stage2_block1_proj) is not in the checkpoint; is "
     "it a chenyaofo checkpoint"),
    ("convert.py", ["--from", "{pth_resnet56}", "--arch", "resnet-56", "--output",
                    "{tmp}/m.keras", "--layout", "akamster"], "layout 'akamster' is not one "
                                                              "of resnet's (cifar stem): "
                                                              "akamaster, dxy, chenyaofo."),
    ("convert.py", ["--from", "{text}", "--arch", "resnet-20", "--output", "{tmp}/m.keras",
                    "--mean", "0.5,0.5"], "--mean takes three numbers R,G,B, got '0.5,0.5'."),
    ("convert.py", ["--from", "{text}", "--arch", "resnet-20", "--output", "{tmp}/m.keras",
                    "--mean", "125.3,123,113.9"], "--mean 125.3,123,113.9 is in 0-255 pixels; "
                                                  "add --pixel-scale 255"),
    ("convert.py", ["--from", "{text}", "--arch", "resnet-20", "--output", "{tmp}/m.keras",
                    "--std", "0.2,0,0.2"], "--std must be > 0 per channel, got 0.2,0,0.2."),
    ("convert.py", ["--from", "{text}", "--arch", "resnet-20", "--output", "{tmp}/m.keras",
                    "--pixel-scale", "255"], "--pixel-scale says the scale of --mean/--std"),
    ("convert.py", ["--from", "{text}", "--arch", "resnet-50", "--output", "{tmp}/m.h5"],
     "must end in .keras"),
    ("tune.py", ["--arch", "wrn-28-10", "--output-dir", "{tmp}/t"], "--arch takes a family"),
    ("tune.py", ["--arch", "resnet", "--max-trials", "0", "--output-dir", "{tmp}/t"],
     "--max-trials must be >= 1, got 0"),
    ("tune.py", ["--arch", "wrn", "--lr", "0.05", "--output-dir", "{tmp}/t"],
     "--lr is set by the search space, which every trial would follow; to fix it, write "
     "`lr: 0.05` in a --space file"),
    ("tune.py", ["--arch", "resnet", "--epochs", "0", "--output-dir", "{tmp}/t"],
     "--epochs must be >= 1, got 0"),
    ("train.py", ["--dataset", "synthetic", "--seed", "-1"], "--seed must be >= 0, got -1"),
    ("train.py", ["--dataset", "synthetic", "--epochs", "3000000000"],
     "--epochs must be at most 2147483647"),
    ("train.py", ["--arch", "wrn", "--depth", "4000000"], "depth 4000000 is beyond 2000"),
    ("train.py", ["--arch", "wrn", "--widen-factor", "1000"], "widen_factor must be an integer "
                                                              "in [1, 64]"),
    ("train.py", ["--dataset", "synthetic", "--cutout", "40"],
     "--cutout 40 is larger than the 32-pixel image"),
    ("train.py", ["--dataset", "synthetic", "--lr-decay", "0"], "--lr-decay must be in (0, 1]"),
    ("tune.py", ["--arch", "resnet", "--data-dir", "{images}", "--val-split", "0",
                 "--output-dir", "{tmp}/t"], "tuning selects on held-out data"),
    # Data is checked before training (#32 item 4).
    ("train.py", [*TINY_MODEL, "--data-dir", "{empty_class}"],
     "class folder {empty_class}/class2 has no images (.jpg, .jpeg, .png, .bmp, .gif); add "
     "images to it or remove it"),
    ("make_tfrecords.py", ["--data-dir", "{empty_class}", "--output", "{tmp}/records"],
     "class folder {empty_class}/class2 has no images"),
    ("train.py", [*TINY_MODEL, "--data-dir", "{one_per_class}"],
     "class folder {one_per_class}/class0 has 1 image(s), all held out by --val-split 0.1; "
     "add images, lower --val-split (0: none held out) or pass --val-dir"),
    ("make_tfrecords.py", ["--data-dir", "{one_per_class}", "--output", "{tmp}/records"],
     "all held out by --val-split 0.1"),
    ("train.py", [*TINY_MODEL, "--data-dir", "{manifest_not_json}"],
     "{manifest_not_json}/manifest.json is not JSON (Expecting property name enclosed in "
     "double quotes: line 1 column 2 (char 1)); write the directory again with "
     "apps/make_tfrecords.py"),
    ("train.py", [*TINY_MODEL, "--data-dir", "{manifest_no_splits}"],
     "{manifest_no_splits}/manifest.json: no train split (splits.train); write the directory "
     "again with apps/make_tfrecords.py"),
    ("train.py", [*TINY_MODEL, "--data-dir", "{manifest_one_class}"],
     "1 class(es); training needs at least two"),
    ("train.py", [*TINY_MODEL, "--data-dir", "{manifest_class_counts}"],
     "train.class_counts is not a count per class (2) adding up to train.examples (6)"),
    ("train.py", [*TINY_MODEL, "--data-dir", "{manifest_missing_shard}"],
     "TFRecord shard {manifest_missing_shard}/train-00001-of-00002.tfrecord does not exist"),
    ("evaluate.py", ["--model", "{model}", "--data-dir", "{manifest_missing_shard}"],
     "TFRecord shard {manifest_missing_shard}/train-00001-of-00002.tfrecord does not exist"),
    ("train.py", [*TINY_MODEL, "--data-dir", "{manifest_truncated}"],
     "TFRecord shard {manifest_truncated}/train-00001-of-00002.tfrecord is "),
    ("train.py", [*TINY_MODEL, "--data-dir", "{manifest_old_truncated}"],
     "train-00001-of-00002.tfrecord is 10 bytes, too few for its 3 records (truncated)"),
    ("train.py", ["--dataset", "synthetic", "--image-size", "100000"],
     "--image-size must be in [8, 1024], got 100000"),
    ("train.py", ["--dataset", "synthetic", "--seed", "4294967296"],
     "--seed must be at most 4294967295, got 4294967296"),
    ("lesion.py", ["--model", "{model}", "--output", "{tmp}/lesion", "--seed", "4294967296"],
     "--seed must be in [0, 4294967295], got 4294967296"),
    ("train.py", ["--config", "{image}"],
     "config file {image} is not UTF-8 text (a binary file?); pass a JSON or YAML file"),
    ("train.py", ["--config", "{yaml_error}"],
     "cannot parse config file {yaml_error} line 3: expected ',' or ']', but got ':'; fix "
     "the YAML there"),
    ("train.py", ["--config", "{int_keys}"],
     "config file {int_keys}: key 1 is not an option name"),
    ("train.py", ["--config", "{list_config}"],
     "config file {list_config} must hold a mapping of option: value"),
    ("evaluate.py", ["--model", "{notjson}", "--dataset", "synthetic"],
     "notjson/run.json is not JSON (Expecting property name"),
    ("evaluate.py", ["--model", "{notobject}/model.keras", "--dataset", "synthetic"],
     "notobject/run.json must hold a JSON object (the run's facts), not [1, 2]; restore it"),
    ("export.py", ["--model", "{notstrings}", "--name", "m"],
     "notstrings/run.json: class_names must be a list of strings, got [0, 1]; restore it"),
    ("predict.py", ["--model", "{miscounted}/model.keras", "{image}"],
     "miscounted/run.json names 3 classes but the model beside it predicts 2: they are not one "
     "run's; restore it from the run, or delete it"),
    ("lesion.py", ["--model", "{miscounted}", "--dataset", "synthetic", "--output",
                   "{tmp}/lesion"], "names 3 classes but the model beside it predicts 2"),
    ("evaluate.py", ["--model", "{run}", "--data-dir", "{others}"],
     "--data-dir {others} has other classes than the model's run: 'cat', 'dog' where the run "
     "has 'class0', 'class1' (2 of 2 differ); use images of the run's classes"),
    ("evaluate.py", ["--model", "{run}", "--dataset", "synthetic"],
     "--dataset synthetic has 10 classes but the model predicts 2"),
    ("lesion.py", ["--model", "{run}", "--data-dir", "{others}", "--output", "{tmp}/lesion"],
     "--data-dir {others} has other classes than the model's run: 'cat', 'dog'"),
    ("export.py", ["--model", "{run}", "--name", "m", "--formats", "tflite_fp32",
                   "--eval-data-dir", "{others}"],
     "--eval-data-dir {others} has other classes than the model's run: 'cat', 'dog'"),
    ("export.py", ["--model", "{run}", "--name", "m", "--formats", "tflite_pruned_int8",
                   "--prune", "0.5", "--calibration-dir", "{others}"],
     "--calibration-dir {others} has other classes than the model's run"),
    ("predict.py", ["--model", "{tflite}", "{image}"],
     "labels.txt has 3 labels but the model predicts 2 classes; put the labels.txt exported"),
    ("train.py", [*TINY, "--stop-grace", "0"], "--stop-grace must be in (0, 86400] seconds"),
    # One meaning of --model (#36 item 4): every kind where it can run, one line elsewhere.
    ("predict.py", ["--model", "{text}.onnx", "{image}"],
     "is not an ONNX model; pass a model.onnx from apps/export.py"),
    ("predict.py", ["--model", "{text}", "{image}"],
     "is not a model file; pass a training folder, a SavedModel folder, or a .keras, .tflite "
     "or .onnx file"),
    ("predict.py", ["--model", "{versions}", "{image}"],
     "{versions} holds exported versions; pass one: {versions}/1 (the newest)"),
    ("evaluate.py", ["--model", "{pb}", "--dataset", "synthetic"],
     "is not a SavedModel from apps/export.py (no serve_float signature)"),
    ("lesion.py", ["--model", "{tflite}", "--dataset", "synthetic", "--output", "{tmp}/lesion"],
     "lesion deletes the residual blocks of a Keras model: pass a training folder or a .keras "
     "file (the one it was exported from), not a TFLite model"),
    ("export.py", ["--model", "{pb}", "--name", "m"],
     "export converts the float weights of a Keras model: pass a training folder or a .keras "
     "file (the one it was exported from), not a SavedModel"),
    ("evaluate.py", ["--model", "{model}", "--output", "{tmp}/evaluation"],
     "--output is where --per-class writes its files; add --per-class"),
    ("evaluate.py", ["--model", "{model}", "--per-class", "--output", "{text}"],
     "--output {text} is a file; pass a folder"),
]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """The files the cases point at, made once: outside each case's folder."""
    root = tmp_path_factory.mktemp("inputs")
    text = root / "notes.txt"
    for path in (text, root / "notes.txt.keras", root / "notes.txt.tflite",
                 root / "notes.txt.onnx"):
        path.write_text("not what it claims to be\n")
    pb = root / "bogus_saved_model"
    pb.mkdir()
    (pb / "saved_model.pb").write_bytes(b"\x00")
    versions = root / "exported"
    shutil.copytree(pb, versions / "1")
    image = root / "image.png"
    image.write_bytes(tf.io.encode_png(tf.fill([8, 8, 3], tf.constant(128, tf.uint8))).numpy())
    model = root / "tiny.keras"
    keras_wrn.build_model("resnet", depth=8, num_classes=2, input_shape=(8, 8, 3)).save(model)
    images = write_image_folder(root / "images", classes=2, per_class=4, size=8)
    old = root / "old_config.json"
    old.write_text('{"arch": "resnet", "depth": 8, "dataset": "synthetic", '
                   '"mixed_precision": "bf16"}')
    others = root / "others"
    for name, source in (("cat", "class0"), ("dog", "class1")):
        shutil.copytree(images / source, others / name)
    runs = {}
    for name, facts in (("run", '{"class_names": ["class0", "class1"]}'),
                        ("notjson", "{class_names: [class0, class1]}"),
                        ("notobject", "[1, 2]"), ("notstrings", '{"class_names": [0, 1]}'),
                        ("miscounted", '{"class_names": ["a", "b", "c"]}')):
        runs[name] = root / name
        runs[name].mkdir()
        shutil.copy(model, runs[name] / "model.keras")
        (runs[name] / "run.json").write_text(facts)
    tflite = root / "litert" / "model.tflite"
    tflite.parent.mkdir()
    tflite.write_bytes(convert_keras(keras.models.load_model(model), "tflite_fp32"))
    (tflite.parent / "labels.txt").write_text("a\nb\nc\n")
    empty_class = write_image_folder(root / "empty_class", classes=2, per_class=2, size=8)
    (empty_class / "class2").mkdir()
    configs = {"yaml_error": "epochs: 2\nlr: [0.1\nbatch_size: 8\n", "int_keys": "1: 2\n",
               "list_config": "- 1\n- 2\n"}
    for name, content in configs.items():
        (root / f"{name}.yaml").write_text(content)
    return {"text": text, "pb": pb, "versions": versions, "image": image, "model": model,
            "images": images, "old": old, "others": others, "tflite": tflite, **runs,
            "empty_class": empty_class,
            **_checkpoints(root),
            "one_per_class": write_image_folder(root / "one_per_class", classes=2, per_class=1,
                                                size=8),
            **{name: root / f"{name}.yaml" for name in configs},
            **_damaged_records(root, images)}


def _damaged_records(root: Path, images: Path) -> dict[str, Path]:
    """{manifest_NAME}: copies of {images}' TFRecords (2 shards of 3 training images), each
    damaged one way."""
    records = root / "records"
    call_app("make_tfrecords.py", "--data-dir", images, "--output", records, "--shards", "2")
    shard = "train-00001-of-00002.tfrecord"

    def damaged(name: str, change) -> Path:
        folder = root / f"manifest_{name}"
        shutil.copytree(records, folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        change(folder, manifest, manifest["splits"]["train"])
        (folder / "manifest.json").write_text(json.dumps(manifest))
        return folder

    def older(folder, manifest, train):  # written before sizes and class counts
        for entry in manifest["splits"].values():
            del entry["sizes"], entry["class_counts"]
        os.truncate(folder / shard, 10)

    folders = {f"manifest_{name}": damaged(name, change) for name, change in {
        "not_json": lambda folder, manifest, train: None,  # its text replaced below
        "no_splits": lambda folder, manifest, train: manifest.pop("splits"),
        "one_class": lambda folder, manifest, train: manifest.update(classes=["class0"]),
        "class_counts": lambda folder, manifest, train: train.update(class_counts=[3, 2]),
        "missing_shard": lambda folder, manifest, train: (folder / shard).unlink(),
        "truncated": lambda folder, manifest, train: os.truncate(
            folder / shard, (folder / shard).stat().st_size - 10),
        "old_truncated": older,
    }.items()}
    (folders["manifest_not_json"] / "manifest.json").write_text("{not json")
    return folders


def _checkpoints(root: Path) -> dict[str, Path]:
    """PyTorch checkpoint files, if torch (the `convert` extra) is installed."""
    try:
        import torch
    except ModuleNotFoundError:
        return {}
    unknown, resnet56 = root / "unknown.pth", root / "resnet56.th"
    torch.save({"net": {"features.0.weight": torch.zeros(16, 3, 3, 3),
                        "head.weight": torch.zeros(10, 64)}}, unknown)
    def bn(name: str, width: int) -> dict:
        return {f"{name}.{part}": torch.zeros(width)
                for part in ("weight", "bias", "running_mean", "running_var")}

    state = {"conv1.weight": torch.zeros(16, 3, 3, 3), **bn("bn1", 16),
             "linear.weight": torch.zeros(10, 64), "linear.bias": torch.zeros(10)}
    inputs = 16
    for stage, width in enumerate((16, 32, 64), 1):
        for index in range(9):
            block = f"layer{stage}.{index}"
            state.update({f"{block}.conv1.weight": torch.zeros(width, inputs, 3, 3),
                          f"{block}.conv2.weight": torch.zeros(width, width, 3, 3),
                          **bn(f"{block}.bn1", width), **bn(f"{block}.bn2", width)})
            inputs = width
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "best_prec1": 93.4},
               resnet56)
    return {"pth_unknown": unknown, "pth_resnet56": resnet56}


def _snapshot(folder: Path) -> dict[str, tuple[int, int] | None]:
    """Every path under ``folder``, with size and modification time for files."""
    return {str(p.relative_to(folder)): None if p.is_dir() else
            (p.lstat().st_size, p.lstat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("app, args, expected", CASES,
                         ids=[f"{app}:{' '.join(args)[:40]}" for app, args, _ in CASES])
def test_bad_input_is_one_line_and_writes_nothing(app, args, expected, inputs, tmp_path,
                                                  monkeypatch):
    work = tmp_path / "work"
    (work / "exports" / "m").mkdir(parents=True)
    (work / "elsewhere").mkdir()
    (work / "exports" / "linked").symlink_to(work / "elsewhere")
    (work / "exports" / "tflite_linked").mkdir()
    (work / "exports" / "tflite_linked" / "tflite").symlink_to(work / "elsewhere")
    locked = work / "locked"
    locked.mkdir()
    (locked / ".lock").write_text(f'{{"pid": {os.getppid()}, "host": "{socket.gethostname()}"}}')
    names = {"tmp": str(work), "locked": str(locked), **{k: str(v) for k, v in inputs.items()}}
    if "{pth_" in " ".join(args) and "pth_unknown" not in names:
        pytest.skip("the PyTorch checkpoints need torch")
    args = [a.format(**names) for a in args]
    expected = expected.format(**names)
    if app == "export.py" and "--export-dir" not in args:
        args += ["--export-dir", str(work / "exports")]
    monkeypatch.chdir(work)  # a default output folder (runs/ARCH) would show in the snapshot
    before = _snapshot(work)
    result = call_app(app, *args, check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert expected in error_line(result)
    assert "Traceback" not in result.stderr
    assert _snapshot(work) == before
    if app == "serving_request.py":
        assert result.stdout == ""  # no half a request for `> request.json`


@pytest.mark.slow
def test_the_real_command_line_stops_with_one_line():
    result = run_app("train.py", "--arch", "wrn", "--depth", "27", check=False, timeout=120)
    assert result.returncode == 2
    assert "depth 27 is not 6n+4" in error_line(result)
    assert "Traceback" not in result.stderr


def test_ctrl_c_anywhere_in_an_app_exits_130_with_one_line(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("keras_wrn.inference.load_model", interrupted)
    result = call_app("evaluate.py", "--model", "x.keras", "--dataset", "synthetic",
                      check=False)
    assert result.returncode == 130
    assert result.stderr.strip() == "interrupted (Ctrl-C)"


@pytest.mark.parametrize("swallowed", [False, True], ids=["raised", "swallowed"])
def test_sigterm_anywhere_in_an_app_exits_143_with_one_line(monkeypatch, swallowed):
    """Also when the code it arrived in swallowed it and the app went on to fail otherwise."""

    def terminated(*args, **kwargs):
        try:
            signal.raise_signal(signal.SIGTERM)
        except BaseException:
            if not swallowed:
                raise
        raise ValueError("no model at x.keras")

    monkeypatch.setattr("keras_wrn.inference.load_model", terminated)
    result = call_app("evaluate.py", "--model", "x.keras", "--dataset", "synthetic",
                      check=False)
    assert result.returncode == 143
    assert result.stderr.strip().splitlines()[-1] == "terminated (SIGTERM)"
    assert "error:" not in result.stderr


def test_a_missing_optional_dependency_is_one_line_naming_its_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "keras_tuner", None)  # as if not installed
    for name in [m for m in sys.modules if m.startswith("keras_wrn.tuning")]:
        monkeypatch.delitem(sys.modules, name)
    result = call_app("tune.py", "--arch", "resnet", "--output-dir", tmp_path / "search",
                      check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert error_line(result) == ("error: this needs keras_tuner, which is not installed: "
                                  "pip install 'keras_wrn[tune]' (or pip install -r "
                                  "requirements.txt).")
    assert not (tmp_path / "search").exists()


def test_a_run_whose_loss_turns_non_finite_stops_and_saves_nothing_of_it(tmp_path):
    """A learning rate of 1e30 (finite, so accepted) blows the weights up at its first
    update: the next host read sees a non-finite loss and stops the run with one line, exit 2,
    before a checkpoint, history or model.keras of that state exists."""
    out = tmp_path / "run"
    result = call_app("train.py", *TINY, "--lr", "1e30", "--epochs", "2", "--steps-per-epoch",
                      "5", "--output-dir", out, check=False)
    assert result.returncode == 2
    assert error_line(result).startswith("error: training diverged at epoch 1 step ")
    assert "lower --lr" in error_line(result)
    assert not (out / "model.keras").exists() and not (out / "history.json").exists()
    assert not list((out / "checkpoints").glob("ckpt-*"))
