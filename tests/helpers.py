"""Running the apps in subprocesses, as a user does, and reading their outputs."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A tiny PyramidSepDrop with the quick recipe, for a run given its own --data-dir.
TINY_MODEL = ["--arch", "pyramidsepdrop", "--depth", "8", "--alpha", "12", "--recipe", "quick"]
# The same on the synthetic data: seconds per epoch on 2 CPU cores.
TINY = [*TINY_MODEL, "--dataset", "synthetic"]
# The xdist group of the tests that read the `tiny_run` fixture (conftest.py): one worker trains
# it once for all of them.
TINY_RUN_GROUP = "tiny-run"


def app_env(**extra: str) -> dict[str, str]:
    """The environment of an app the tests start: quiet, CPU only, no JAX (tests/nojax)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "tests" / "nojax"),
                                                      env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def app_command(app: str, *args: str) -> list[str]:
    return [sys.executable, str(ROOT / "apps" / app), *map(str, args)]


def run_app(app: str, *args: str, check: bool = True, timeout: float = 300,
            **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(app_command(app, *args), capture_output=True, text=True,
                            timeout=timeout, env=app_env(**env))
    if check and result.returncode != 0:
        raise AssertionError(f"{app} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def load_app(app: str):
    """An app's module (``apps/APP.py``), imported as ``python apps/APP.py`` runs it."""
    if str(ROOT / "apps") not in sys.path:
        sys.path.insert(0, str(ROOT / "apps"))  # as `python apps/X.py` has it, for `_app`
    name = Path(app).stem
    spec = importlib.util.spec_from_file_location(f"app_{name}", ROOT / "apps" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call_app(app: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs an app's ``main`` in this process: the same exit code and output as :func:`run_app`
    without a new interpreter importing TensorFlow (9 s here). For input errors, and for runs
    that need no set-up of their own before TensorFlow starts (no --cpu-devices, no XLA
    fusion, no TF_CONFIG). One subprocess test per app keeps the real command line covered."""
    module = load_app(app)
    stdout, stderr = io.StringIO(), io.StringIO()
    code, environ = 0, dict(os.environ)
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            module.main(list(map(str, args)))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        finally:  # e.g. TF_XLA_FLAGS, which later subprocesses of this worker would inherit
            os.environ.clear()
            os.environ.update(environ)
    if check and code != 0:
        raise AssertionError(f"{app} failed ({code}):\n{stderr.getvalue()[-3000:]}")
    return subprocess.CompletedProcess([app, *args], code, stdout.getvalue(), stderr.getvalue())


def summary(stdout: str) -> dict:
    line = next(line for line in stdout.splitlines() if line.startswith("summary: "))
    return json.loads(line[len("summary: "):])


def history(output_dir: Path) -> list[dict]:
    return json.loads((output_dir / "history.json").read_text())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def two_workers_results(*args: str, cwd: Path | None = None, timeout: float = 300,
                        launcher: list[str] | None = None,
                        per_worker: list[list[str]] | None = None,
                        **env: str) -> list[tuple[int, str, str]]:
    """Runs apps/train.py (or ``launcher`` + the arguments) on two local MultiWorkerMirrored
    workers, each with ``args`` and its ``per_worker`` ones (``env`` added to theirs); their
    (exit code, stdout, stderr), chief first."""
    ports = [free_port(), free_port()]
    workers = []
    for index in range(2):
        tf_config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                     "task": {"type": "worker", "index": index}}
        own = [*args, *(per_worker[index] if per_worker else [])]
        command = [*launcher, *map(str, own)] if launcher else app_command("train.py", *own)
        workers.append(subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=app_env(TF_CONFIG=json.dumps(tf_config), **env), cwd=cwd))
    outputs = [w.communicate(timeout=timeout) for w in workers]
    return [(w.returncode, out, err) for w, (out, err) in zip(workers, outputs, strict=True)]


def two_workers(*args: str, **options) -> list[tuple[str, str]]:
    """:func:`two_workers_results` of two workers that must both exit 0: their (stdout,
    stderr), chief first."""
    results = two_workers_results(*args, **options)
    for code, _, stderr in results:
        assert code == 0, stderr[-3000:]
    return [(stdout, stderr) for _, stdout, stderr in results]


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one line a failed app printed (TensorFlow's start-up noise filtered out)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr[-2000:]
    return lines[0]


def small_trainer(output_dir, plan=None, **config):
    """A one-device quick-recipe Trainer for ``config`` (the model's keys) on 32 synthetic 8x8
    images, batch 16: for comparing training steps with a kernel on and off. ``plan`` defaults
    to the plan for this machine."""
    import tensorflow as tf

    from keras_wrn.data import load_synthetic
    from keras_wrn.training import Trainer, resolve_config

    config = resolve_config({"image_size": 8, "dataset": "synthetic", "recipe": "quick",
                             "batch_size": 16, "strategy": "one_device", **config})
    data = load_synthetic(8, train_examples=32, val_examples=8)
    return Trainer(config, tf.distribute.get_strategy(), data, output_dir, log=lambda _: None,
                   plan=plan)


def step_each(trainers: dict) -> tuple[dict, object]:
    """One training step of each of ``trainers`` (from :func:`small_trainer`) on the same first
    batch; returns their losses by key, and the batch."""
    from keras_wrn.data import AugmentConfig, train_dataset

    first = next(iter(trainers.values()))
    data, batch_size = first.data, first.config.recipe.batch_size
    batch = next(iter(train_dataset(data.train_examples, data.num_classes, batch_size, 0, 0,
                                    AugmentConfig())))
    return {key: float(trainer.train_step(batch)[0]) for key, trainer in trainers.items()}, batch


def write_image_folder(root, classes=3, per_class=12, size=40, corrupt=()):
    """An image folder of ``classes`` sub-folders of PNGs and JPEGs, each class a different
    brightness (learnable), with ``corrupt`` files in class0."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.clip(rng.normal(60 + 60 * c, 20, (size, size, 3)), 0, 255).astype("uint8")
            encode = tf.io.encode_png if i % 2 else tf.io.encode_jpeg
            (folder / f"{i:03d}.{'png' if i % 2 else 'jpg'}").write_bytes(encode(pixels).numpy())
    for name in corrupt:
        (root / "class0" / name).write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG")
    return root
