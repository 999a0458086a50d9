"""An epoch's progress while it trains: on a terminal, one line redrawn in place (steps, a bar,
the time left, loss, accuracy and learning rate so far); piped to a file or a scheduler's log,
where a redrawn line is a mess of carriage returns, a plain line at most once a minute, so that
an hour-long epoch still shows that it moves."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from keras_wrn.core import console

BAR_WIDTH = 20
REDRAW_SECONDS = 0.1  # on a terminal
LOG_SECONDS = 60.0  # elsewhere


def duration(seconds: float) -> str:
    """``12s``, ``3:12`` or ``1:02:03``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


class EpochProgress:
    """Shows epoch ``epoch`` (1-based) of ``epochs``, ``steps`` steps long, from step ``start``
    (a resumed epoch). ``log`` prints the plain lines; ``enabled`` False shows nothing (a
    worker that is not the chief)."""

    def __init__(self, epoch: int, epochs: int, steps: int, start: int = 0,
                 log: Callable[[str], None] = console.say, enabled: bool = True):
        self.epoch, self.epochs, self.steps = epoch, epochs, steps
        self.terminal = enabled and console.is_terminal()
        self.log = log if enabled and not self.terminal else None
        self._began = time.monotonic()
        self._shown = -math.inf if self.terminal else self._began
        # Steps per second are measured from the first update on: the first call traces and
        # compiles the step, seconds that say nothing about the rest of the epoch.
        self._first: tuple[int, float] | None = None
        if self.terminal:
            self._show(start, None)

    def update(self, step: int, loss: float, accuracy: float, lr: float) -> None:
        """After step ``step``: the mean loss and accuracy of the epoch so far, the last LR."""
        now = time.monotonic()
        if self._first is None:
            self._first = (step, now)
        values = f"loss {loss:.4f} - acc {accuracy:.4f} - lr {lr:.4g}"
        if self.terminal:
            if step >= self.steps or now - self._shown >= REDRAW_SECONDS:
                self._show(step, values)
                self._shown = now
        elif self.log is not None and now - self._shown >= LOG_SECONDS and step < self.steps:
            left = self._left(step, now)
            self.log(f"epoch {self.epoch}/{self.epochs} step {step}/{self.steps}: "
                     f"{values.replace(' -', ',')}{f', {left} left' if left else ''}")
            self._shown = now

    def close(self) -> None:
        """Ends the progress line: what is printed next starts a line of its own."""
        console.end_line()

    def _left(self, step: int, now: float) -> str | None:
        """The time the rest of the epoch takes at the speed since the first update."""
        if self._first is None or step <= self._first[0]:
            return None
        per_step = (now - self._first[1]) / (step - self._first[0])
        return duration(per_step * (self.steps - step))

    def _show(self, step: int, values: str | None) -> None:
        now = time.monotonic()
        done = BAR_WIDTH * step // max(self.steps, 1)
        digits = len(str(self.steps))
        text = f"{step:>{digits}}/{self.steps} {'━' * done}{'─' * (BAR_WIDTH - done)}"
        if step >= self.steps:
            text += f" {duration(now - self._began)}"
        elif (left := self._left(step, now)) is not None:
            text += f" {left} left"
        console.redraw(text + (f" - {values}" if values else ""))
