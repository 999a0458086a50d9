"""The package as `pip install .` gives it: every third-party module keras_wrn imports comes
from a distribution that setup.cfg requires (or offers as an extra), importing keras_wrn
changes nothing in the process, and deep models build whatever the recursion limit."""

from __future__ import annotations

import ast
import configparser
import importlib.metadata
import importlib.util
import re
import subprocess
import sys

import pytest
from helpers import ROOT, call_app, load_app


def _requirements() -> tuple[set[str], set[str]]:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")

    def names(text: str) -> set[str]:
        return {re.split(r"[<>=\[;! ]", line.strip())[0].lower().replace("_", "-")
                for line in text.splitlines() if line.strip() and not line.startswith("#")}

    extras = set().union(*(names(v) for v in config["options.extras_require"].values()))
    return names(config["options"]["install_requires"]), extras


def _imported_modules() -> set[str]:
    modules = set()
    for path in (ROOT / "keras_wrn").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"keras_wrn", "__future__"}


def test_every_imported_distribution_is_required():
    required, extras = _requirements()
    owners = importlib.metadata.packages_distributions()
    missing = {}
    for module in sorted(_imported_modules()):
        distributions = {d.lower().replace("_", "-") for d in owners.get(module, [module])}
        if not distributions & (required | extras):
            missing[module] = sorted(distributions)
    assert not missing, f"imported but not in setup.cfg: {missing}"
    assert {"tensorflow", "keras", "tensorflow-datasets"} <= required
    # Optional: imported by the tuning package, or lazily on the export paths that need them.
    assert {"keras-tuner", "tensorflow-model-optimization", "ai-edge-litert"} <= extras - required


@pytest.mark.slow
def test_importing_keras_wrn_changes_nothing_and_deep_models_build_at_any_recursion_limit():
    """In a fresh interpreter: importing every subpackage and building a model leaves the
    environment, the dtype policy and keras-tuner's JSON writer as they were. Then ResNet-1202's
    RecursionError, scaled down: Keras walks a functional graph recursively, so ResNet-110
    overflows a limit of 120 frames (the raw builder, the control); build_model raises the
    limit for the build and restores it."""
    code = ("import os, sys, keras, tensorflow as tf\n"
            "from keras_tuner.src import utils\n"
            "def state():\n"
            "    return dict(os.environ), keras.config.dtype_policy().name, utils.save_json\n"
            "before = state()\n"
            "import keras_wrn, keras_wrn.tuning, keras_wrn.export, keras_wrn.training\n"
            "keras_wrn.build_model('resnet-20')\n"
            "print('unchanged:', before == state())\n"
            "from keras_wrn.models.registry import FAMILIES, _builder_kwargs\n"
            "family, kwargs = _builder_kwargs('resnet-110', num_classes=None, input_shape=None)\n"
            "sys.setrecursionlimit(120)\n"
            "try:\n"
            "    FAMILIES[family].build(kwargs)\n"
            "    print('builder: built')\n"
            "except RecursionError:\n"
            "    print('builder: RecursionError')\n"
            "model = keras_wrn.build_model('resnet-110')\n"
            "print('build_model:', model.count_params() > 0, sys.getrecursionlimit())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
                                           "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
    assert result.stdout.splitlines()[-3:] == [
        "unchanged: True", "builder: RecursionError", "build_model: True 120"], \
        result.stderr[-2000:]


@pytest.mark.parametrize("app", sorted(p.name for p in (ROOT / "apps").glob("[a-z]*.py")))
def test_every_apps_help_prints_its_examples_whole(app):
    """A `\\` ending a line of an app's docstring used to join the example's lines."""
    result = call_app(app, "--help", check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    docstring = (ROOT / "apps" / app).read_text().split('"""')[1]
    for line in docstring.splitlines():
        if line.endswith("\\"):
            assert line.strip() in result.stdout, (app, line)


@pytest.mark.parametrize("app", ["train", "tune"])
def test_every_flag_has_help(app):
    helpless = [action.option_strings for action in load_app(app).build_parser()._actions
                if not action.help]
    assert not helpless


def _names(path) -> set[str]:
    """Distribution names of a requirements file's own lines (not those of -r includes)."""
    return {re.split(r"[<>=\[;! ]", line)[0].lower().replace("_", "-")
            for line in (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
            if line and not line.startswith("-")}


def test_requirements_by_role_and_setup_cfg_agree():
    """requirements.txt is the runtime (setup.cfg's requirements and every extra but convert, gpu
    and dev); requirements-dev.txt includes it and adds what the dev extra adds for the tests."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    extras = {name: {re.split(r"[<>=\[;! ]", line.strip())[0].lower().replace("_", "-")
                     for line in text.splitlines() if line.strip()}
              for name, text in config["options.extras_require"].items()}
    required, _ = _requirements()
    runtime = _names(ROOT / "requirements.txt")
    dev = _names(ROOT / "requirements-dev.txt")
    runtime_extras = set().union(*(names for extra, names in extras.items()
                                   if extra not in ("convert", "gpu", "dev")))
    assert runtime == (required - {"numpy"}) | runtime_extras
    assert not runtime & {"pytest", "pytest-xdist", "hypothesis", "ruff", "jax", "torch"}
    assert (ROOT / "requirements-dev.txt").read_text().count("-r requirements.txt\n") == 1
    assert dev == {"pytest", "pytest-xdist", "hypothesis", "ruff", "jax", "torch"}
    assert extras["dev"] == (runtime | dev) - required


def test_ci_runs_the_readmes_two_set_up_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Set up\n.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = block.strip().splitlines()
    assert len(commands) == 2 and commands[0].startswith("pip install -r requirements.txt -e . && ")
    assert commands[1] == "pip install -r requirements-dev.txt && python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    run = [line for line in ci if line.startswith(("pip ", "python -m pytest"))]
    assert run == commands
    assert "ruff check ." in ci
