"""Quiet, fast apps: flags parse before TensorFlow loads, and on a CPU machine the first line
an app prints on stderr is its own, not one of TensorFlow's C++ log lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT, app_command

from keras_wrn.runtime.devices import gpu_driver_present

APPS = sorted(p.stem for p in (ROOT / "apps").glob("*.py") if not p.stem.startswith("_"))


def test_parsers_build_without_tensorflow():
    """Every app's parser (what --help prints) is built without importing TensorFlow or
    Keras, which is what keeps --help well under 2 s."""
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'apps')!r}]\n"
        "import importlib\n"
        "loaded = {}\n"
        f"for app in {APPS!r}:\n"
        "    module = importlib.import_module(app)\n"
        "    if hasattr(module, 'build_parser'):\n"
        "        module.build_parser().format_help()\n"
        "    loaded[app] = sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)\n"
        "print(json.dumps(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    loaded = json.loads(out.stdout)
    assert loaded == {app: [] for app in APPS}


@pytest.mark.skipif(gpu_driver_present(), reason="a CPU machine's output")
def test_train_first_stderr_line_is_its_own():
    """With no TF_CPP_MIN_LOG_LEVEL set, train.py loads TensorFlow (then fails on the model
    name): its first stderr line is its own one-line error, no cuInit or CUDA stub line."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
    run = subprocess.run(app_command("train.py", "--arch", "no-such-model", "--dataset",
                                     "synthetic"),
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.splitlines()[0].startswith("error: unknown model 'no-such-model'"), (
        run.stderr[:2000])
