"""Clean progress output: on a terminal the epoch's bar is one line redrawn in place, after the
epoch's own line; every other line (the epoch's summary, a Ctrl-C or SIGTERM line, a watchdog's)
starts on a line of its own; piped to a file, no carriage returns at all."""

from __future__ import annotations

import contextlib
import io
import os
import signal

import pytest
from helpers import TINY, load_app

from keras_wrn.core import console
from keras_wrn.training import progress
from keras_wrn.training.progress import EpochProgress, duration


class Terminal(io.StringIO):
    """What a terminal shows, stdout and stderr both."""

    def isatty(self) -> bool:
        return True


def on_terminal(monkeypatch) -> Terminal:
    """stdout as a terminal (set in the test: pytest sets its own before each phase)."""
    screen = Terminal()
    monkeypatch.setattr("sys.stdout", screen)
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    return screen


def test_the_bar_redraws_one_line_and_the_next_line_starts_its_own(monkeypatch):
    terminal = on_terminal(monkeypatch)
    console.say("epoch 1/2")
    bar = EpochProgress(1, 2, 4)
    for step in range(1, 5):
        bar.update(step, 2.0 / step, 0.25 * step, 0.1)
    bar.close()
    console.say("epoch 1: train_loss 0.5")
    lines = terminal.getvalue().split("\n")
    assert lines[0] == "epoch 1/2" and lines[2:] == ["epoch 1: train_loss 0.5", ""]
    draws = lines[1].split("\r")[1:]  # each redraw returns to the line's start
    assert [d.split(" ")[0] for d in draws] == ["0/4", "1/4", "2/4", "3/4", "4/4"]
    assert draws[-1].startswith("4/4 " + "━" * 20 + " ")
    assert draws[-1].endswith(" - loss 0.5000 - acc 1.0000 - lr 0.1\x1b[K")
    assert " left - loss " in draws[3]  # the time left, from the second update on


def test_piped_output_has_no_carriage_returns_and_a_line_a_minute(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    lines = []
    bar = EpochProgress(3, 90, 5004, start=1000, log=lines.append)
    monkeypatch.setattr(progress, "LOG_SECONDS", 0.0)
    bar.update(1200, 2.1, 0.4, 0.1)
    bar.update(1210, 2.1, 0.4, 0.1)
    bar.update(5004, 2.0, 0.41, 0.1)  # the epoch's summary says the rest
    bar.close()
    assert out.getvalue() == ""
    assert lines[0] == "epoch 3/90 step 1200/5004: loss 2.1000, acc 0.4000, lr 0.1"
    assert lines[1].startswith("epoch 3/90 step 1210/5004: ") and lines[1].endswith(" left")
    assert len(lines) == 2


def test_a_line_from_another_thread_ends_the_bar_first(monkeypatch):
    terminal = on_terminal(monkeypatch)
    EpochProgress(1, 1, 10).update(3, 1.0, 0.5, 0.1)
    console.end_line(timeout=1.0)  # as the watchdog's thread does before its line
    assert terminal.getvalue().endswith("\x1b[K\n")
    console.end_line()
    assert terminal.getvalue().count("\n") == 1  # once only


@pytest.mark.parametrize("seconds, shown", [(7.9, "7s"), (192, "3:12"), (3723, "1:02:03")])
def test_durations(seconds, shown):
    assert duration(seconds) == shown


@pytest.mark.slow
def test_ctrl_c_mid_epoch_prints_its_line_on_a_line_of_its_own(tmp_path, monkeypatch):
    """train.py on a terminal that shows stdout and stderr: Ctrl-C in the second step of an
    epoch leaves the bar's line and prints the stop on the next one."""
    from keras_wrn.training import Trainer

    real, calls = Trainer.train_call, []

    def call_then_ctrl_c(self, iterator, steps):
        result = real(self, iterator, steps)
        calls.append(steps)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(Trainer, "train_call", call_then_ctrl_c)
    monkeypatch.setattr(progress, "REDRAW_SECONDS", 0.0)
    screen = Terminal()
    code = None
    with contextlib.redirect_stdout(screen), contextlib.redirect_stderr(screen):
        try:
            load_app("train.py").main([*TINY, "--epochs", "1", "--steps-per-epoch", "4",
                                       "--output-dir", str(tmp_path / "run")])
        except SystemExit as exit_:
            code = exit_.code
    assert code == 130
    lines = screen.getvalue().split("\n")
    stop = next(i for i, line in enumerate(lines) if "Ctrl-C" in line)
    assert lines[stop].startswith("Ctrl-C: checkpoint saved at epoch 1 step 2")
    assert lines[stop - 1].rsplit("\r", 1)[-1].startswith("2/4 ")  # the bar, left as it was
    assert lines[stop - 2] == "epoch 1/1"
