"""The commands of the README and the guides, as a user copies them: every app command parses
and resolves to a valid configuration, and the cheap ones run as written. (The quick start runs
in CI, the two-worker block in tests/test_training.py.)"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from helpers import ROOT, app_env, call_app, load_app

import keras_wrn
from keras_wrn.training import resolve_config
from keras_wrn.training.flags import given_config

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(language: str, path) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", path.read_text(), re.S)


def _app_commands() -> list[tuple[str, list[str]]]:
    """(document, argv) of every `python apps/APP.py ...` line in a bash block."""
    commands = []
    for path in DOCUMENTS:
        for block in _blocks("bash", path):
            for line in block.replace("\\\n", " ").splitlines():
                found = re.search(r"\bpython (apps/\S+\.py)(.*)", line.split(" #")[0])
                if found:
                    rest = re.split(r"&&|;|\s&|\|", found.group(2))[0]
                    commands.append((path.name, [found.group(1), *shlex.split(rest)]))
    return commands


COMMANDS = _app_commands()


def test_the_documents_hold_the_commands_of_every_app():
    apps = {argv[0] for _, argv in COMMANDS}
    assert {"apps/train.py", "apps/evaluate.py", "apps/tune.py", "apps/export.py",
            "apps/predict.py", "apps/serving_request.py", "apps/list_models.py",
            "apps/convert.py"} <= apps, apps


@pytest.mark.parametrize("document, argv", COMMANDS,
                         ids=[f"{doc}:{' '.join(argv)[:60]}" for doc, argv in COMMANDS])
def test_every_documented_command_parses_and_resolves(document, argv):
    app = load_app(argv[0].removeprefix("apps/"))
    try:
        args = app.build_parser().parse_args(argv[1:])
    except SystemExit as exit_:
        assert exit_.code == 0 and "--help" in argv, f"{document}: {' '.join(argv)}"
        return
    if argv[0] in ("apps/train.py", "apps/tune.py"):
        resolve_config(given_config(args))  # presets, recipes and values exist


@pytest.mark.parametrize("document", ["README.md", "docs/models.md"])
def test_the_model_tables_are_list_models_output(document):
    """The table, header included, as apps/list_models.py prints it from the presets' counts,
    which tests/test_models.py asserts the built models have."""
    lines = (ROOT / document).read_text().splitlines()
    start = lines.index(next(line for line in lines if line.startswith("| preset |")))
    table = lines[start:start + 2 + len(keras_wrn.list_models())]
    printed = call_app("list_models.py").stdout.splitlines()
    assert table == printed
    assert "| trainable params | total params |" in table[0]


@pytest.mark.slow
def test_the_readme_tour_runs_as_written():
    (tour,) = _blocks("python", ROOT / "README.md")
    result = subprocess.run([sys.executable, "-c", tour], capture_output=True, text=True,
                            env=app_env(), cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "wrn-28-10" in result.stdout and "'cifar10_error': 4.0" in result.stdout
