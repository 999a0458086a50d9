"""Property-based fuzzing of what a user types and points at: configuration values (numbers
with inf, NaN and huge ones, wrong types, unknown keys), configuration files, image folders and
TFRecord manifests. The contract: a one-line error naming the fix, or a configuration (or
data) a run can use; and a run of any configuration the checks accept trains with a finite
loss or stops in one line, exit 2, with nothing of a bad state saved."""

from __future__ import annotations

import copy
import json
import math
import os
import shutil
import typing

import pytest
import tensorflow as tf
from helpers import call_app, error_line, write_image_folder
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from keras_wrn.data import DataError, load_data
from keras_wrn.training import ConfigError, resolve_config
from keras_wrn.training.config import KEYS, read_config_file

# The suite draws the same examples every run (a CI result does not depend on luck);
# KERAS_WRN_FUZZ=explore draws new ones, to look for more.
FIXED = os.environ.get("KERAS_WRN_FUZZ") != "explore"
# Sized for the suite's budget: the pure checks take milliseconds an example, a run seconds.
FAST = settings(max_examples=400, deadline=None, database=None, derandomize=FIXED,
                suppress_health_check=[HealthCheck.too_slow])
RUNS = settings(max_examples=5, deadline=None, database=None, derandomize=FIXED,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
# Folders and TFRecord directories written to disk: tens of milliseconds an example.
DATA = settings(max_examples=40, deadline=None, database=None, derandomize=FIXED,
                suppress_health_check=[HealthCheck.too_slow])

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-2**70, max_value=2**70),
    st.sampled_from([0, 1, -1, 2**31, 2**32, 2**63, 1e308, -0.0, 1e-320]),
)
VALUES = st.one_of(
    NUMBERS, st.booleans(), st.none(), st.text(max_size=6),
    st.lists(NUMBERS, max_size=3), st.dictionaries(st.text(max_size=3), NUMBERS, max_size=2),
)
NAMES = st.sampled_from(sorted(KEYS))


def _typed(hint) -> st.SearchStrategy:
    """Values of a field's own type, extremes included, and now and then of another."""
    args = typing.get_args(hint)
    if args and typing.get_origin(hint) is list:
        return st.lists(_typed(args[0]), max_size=3) | VALUES
    if args:
        return st.one_of(*map(_typed, args))
    own = {int: st.integers(-2**70, 2**70) | st.sampled_from([0, 1, -1, 2**32, 2**63]),
           float: NUMBERS, bool: st.booleans(), str: st.text(max_size=8),
           type(None): st.none()}.get(hint, VALUES)
    return own | own | VALUES


# A few of the configuration's keys, each mostly with a value of its type, and now and then a
# key it does not have.
ITEMS = st.one_of(NAMES.flatmap(lambda key: st.tuples(st.just(key), _typed(KEYS[key].hint))),
                  st.tuples(st.text(min_size=1, max_size=12), VALUES))
CONFIGS = st.lists(ITEMS, max_size=5).map(dict)


def _one_line(message: str) -> bool:
    return bool(message) and "\n" not in message and "Traceback" not in message


def _numbers(value):
    if isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


@FAST
@given(CONFIGS)
def test_any_configuration_is_refused_in_one_line_or_usable(values):
    try:
        config = resolve_config(values)
    except ConfigError as err:
        assert _one_line(str(err)), str(err)
        return
    for key, k in KEYS.items():
        for number in _numbers(getattr(getattr(config, k.section), k.field.name)):
            assert math.isfinite(number), (key, number)
            if isinstance(number, int):
                assert abs(number) < 2**63, (key, number)  # fits the int64 counters of a run
    assert config.recipe.epochs >= 1 and config.recipe.batch_size >= 1
    assert 0 < config.scaled_lr()[0] < math.inf
    assert 0 <= config.runtime.seed < 2**32
    json.dumps(config.to_dict(), allow_nan=False)  # config.json holds only JSON numbers


CONTENTS = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=64).map(str.encode),
    st.recursive(st.one_of(st.none(), st.booleans(), NUMBERS.filter(
        lambda v: not isinstance(v, float) or math.isfinite(v)), st.text(max_size=5)),
        lambda inner: st.one_of(st.lists(inner, max_size=3),
                                st.dictionaries(NAMES | st.text(max_size=4), inner,
                                                max_size=4)),
        max_leaves=8).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"1: 2\n", b"? [a, b]\n: c\n", b"- 1\n- 2\n", b"lr: .inf\n",
                     b"epochs: !!python/object:os.system x\n", b"\xef\xbb\xbfepochs: 2\n",
                     b"recipe:\n  lr: [1, 2]\n", b"{}", b""]),
)


@FAST
@given(CONTENTS, st.sampled_from([".yaml", ".json"]))
@example(b'{"\\n": null}', ".yaml")  # found by the fuzz: a key holding a line break
def test_any_config_file_is_refused_in_one_line_or_read(tmp_path_factory, content, suffix):
    path = tmp_path_factory.mktemp("config") / f"run{suffix}"
    path.write_bytes(content)
    try:
        config = resolve_config({}, read_config_file(str(path)))
    except ConfigError as err:
        assert _one_line(str(err)), str(err)
        return
    json.dumps(config.to_dict(), allow_nan=False)


# An image folder: 0-4 classes of 0-3 images, now and then what is not an image (text, hidden
# files, an empty folder: a class of its own at the top) at the top or in the first class.
STRAYS = st.lists(st.tuples(st.sampled_from(["notes.txt", ".hidden.png", "._000.jpg",
                                             "Thumbs.db", "sub/"]), st.booleans()), max_size=3)


@pytest.fixture(scope="module")
def png() -> bytes:
    """An 8x8 PNG."""
    return tf.io.encode_png(tf.zeros([8, 8, 3], tf.uint8)).numpy()


@DATA
@given(st.lists(st.integers(0, 3), max_size=4), STRAYS, st.sampled_from([0.0, 0.1, 0.5]))
def test_any_image_folder_is_refused_in_one_line_or_trains_every_class(
        tmp_path_factory, png, per_class, strays, val_split):
    root = tmp_path_factory.mktemp("folder") / "images"
    root.mkdir()
    for label, count in enumerate(per_class):
        (root / f"class{label}").mkdir()
        for index in range(count):
            (root / f"class{label}" / f"{index}.png").write_bytes(png)
    for name, in_class in strays:
        where = root / "class0" if in_class and per_class else root
        if name.endswith("/"):
            (where / name).mkdir(exist_ok=True)
        else:
            (where / name).write_bytes(b"\x00 not an image")
    try:
        source = load_data(None, 8, data_dir=str(root), val_split=val_split, cache="none")
    except DataError as err:
        assert _one_line(str(err)), str(err)
        return
    assert source.num_classes >= 2
    assert set(source.train_examples.labels.numpy()) == set(range(source.num_classes))


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """A TFRecord directory (3 classes of 3 images, 2 shards a split) and its manifest."""
    root = tmp_path_factory.mktemp("records")
    images = write_image_folder(root / "images", classes=3, per_class=3, size=8)
    call_app("make_tfrecords.py", "--data-dir", images, "--output", root / "rec", "--shards",
             "2", "--val-split", "0.34")
    return root / "rec", json.loads((root / "rec" / "manifest.json").read_text())


FIELDS = ["format", "source", "classes", "splits", "splits.validation",
          *[f"splits.{split}.{field}" for split in ("train", "validation")
            for field in ("files", "counts", "sizes", "examples", "class_counts", "skipped")]]
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 10), st.text(max_size=4),
                        st.lists(st.integers(-1, 10), max_size=4),
                        st.lists(st.text(max_size=4), max_size=4), st.floats())
# A field deleted, replaced, or (a count, or each count of a list) moved by -2..2; a shard
# deleted or truncated; the manifest replaced by bytes.
CHANGES = st.one_of(
    st.tuples(st.just("delete"), st.sampled_from(FIELDS), st.none()),
    st.tuples(st.just("set"), st.sampled_from(FIELDS), JSON_VALUES),
    st.tuples(st.just("move"), st.sampled_from(FIELDS), st.integers(-2, 2)),
    st.tuples(st.sampled_from(["delete shard", "truncate shard"]), st.integers(0, 3),
              st.integers(1, 100)),
    st.tuples(st.just("bytes"), st.none(), st.binary(max_size=20)),
)


def _change(folder, manifest: dict, change: tuple) -> dict | None:
    """``manifest`` with ``change`` made (None: the file replaced by bytes), or a shard
    deleted or truncated in ``folder``."""
    kind, where, value = change
    if kind == "bytes":
        (folder / "manifest.json").write_bytes(value)
        return None
    if kind.endswith("shard"):
        shards = sorted(folder.glob("*.tfrecord"))
        shard = shards[where % len(shards)]
        if kind == "delete shard":
            shard.unlink()
        else:
            os.truncate(shard, max(0, shard.stat().st_size - value))
        return manifest
    *path, key = where.split(".")
    parent = manifest
    for name in path:
        parent = parent.get(name) if isinstance(parent, dict) else None
    if not isinstance(parent, dict) or key not in parent:
        return manifest
    if kind == "delete":
        del parent[key]
    elif kind == "set":
        parent[key] = value
    elif isinstance(parent[key], int) and not isinstance(parent[key], bool):
        parent[key] += value
    elif isinstance(parent[key], list) and parent[key]:
        parent[key] = [v + value if isinstance(v, int) else v for v in parent[key]]
    return manifest


@DATA
@given(st.lists(CHANGES, max_size=3))
def test_any_manifest_is_refused_in_one_line_or_trains_every_class(tmp_path_factory, records,
                                                                  changes):
    directory, manifest = records
    folder = tmp_path_factory.mktemp("manifest") / "rec"
    shutil.copytree(directory, folder)
    changed = copy.deepcopy(manifest)
    for change in changes:
        changed = _change(folder, changed, change) if changed is not None else None
    if changed is not None:
        (folder / "manifest.json").write_text(json.dumps(changed))
    try:
        source = load_data(None, 8, data_dir=str(folder))
    except DataError as err:
        assert _one_line(str(err)), str(err)
        return
    assert source.num_classes >= 2 and source.train_size >= 1
    # Per-class counts, where recorded (null or absent: a manifest of an earlier version).
    assert min(changed["splits"]["train"].get("class_counts") or [1]) >= 1
    source.train_examples.check_files()  # every shard there, at its recorded size


# What a run of a tiny model on the synthetic data is given: the recipe's numbers, drawn from
# ranges a user might type and beyond (a run's own checks must catch what diverges).
RECIPE = st.fixed_dictionaries({}, optional={
    "lr": st.one_of(st.floats(1e-6, 10.0), st.sampled_from([1e30, math.inf, 0.0])),
    "momentum": st.one_of(st.floats(0, 1.5), st.just(math.nan)),
    "weight_decay": st.floats(0, 1.0),
    "label_smoothing": st.floats(0, 1.0),
    "mixup": st.floats(0, 2.0),
    "cutout": st.integers(0, 12),
    "warmup_epochs": st.floats(0, 3.0),
    "lr_decay": st.floats(0, 2.0),
    "drop_rate": st.floats(0, 1.05),
    "batch_size": st.integers(1, 64),
})


@pytest.mark.slow
@RUNS
@given(RECIPE)
def test_any_accepted_recipe_trains_finite_or_stops_in_one_line(tmp_path_factory, recipe):
    out = tmp_path_factory.mktemp("fuzzed") / "run"
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in recipe.items()]
    result = call_app("train.py", "--arch", "pyramidsepdrop", "--depth", "8", "--alpha", "8",
                      "--dataset", "synthetic", "--recipe", "quick", "--image-size", "8",
                      "--epochs", "1", "--steps-per-epoch", "2", "--output-dir", out, *flags,
                      check=False)
    assert "Traceback" not in result.stderr
    if result.returncode == 0:
        summary = json.loads(result.stdout.split("summary: ")[-1])
        assert math.isfinite(summary["train_loss"])
        return
    assert result.returncode == 2, result.stderr[-2000:]
    line = error_line(result)
    assert _one_line(line)
    if "diverged" in line:  # trained, then blew up: nothing of that state saved
        assert not (out / "model.keras").exists()
        assert not list((out / "checkpoints").glob("ckpt-*"))
    else:  # refused up front: nothing written
        assert not out.exists()
