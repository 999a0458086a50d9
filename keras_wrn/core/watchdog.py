"""Ends a process that cannot stop: after SIGINT or SIGTERM, once ``grace`` seconds pass without
progress, a thread prints one line and exits the process. Its main thread may be stuck inside
TensorFlow (an input pipeline that never yields, a hung op), where neither Python's signal
handlers nor exceptions reach it; the signal reaches this thread through Python's wakeup
file descriptor, which the interpreter writes from the C signal handler itself."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator

from keras_wrn.core import console
from keras_wrn.core.interrupts import STOP_SIGNALS, exit_code


class Watchdog:
    """While entered (in the main thread), a stop signal starts the countdown: ``grace``
    seconds after the later of the signal and the last :meth:`beat`, it prints ``line(signum)``
    on stderr and exits with 128 + signum. Leaving the context disarms it. Needs a Python
    handler for the signals (Python writes the wakeup descriptor only for those)."""

    def __init__(self, grace: float, line: Callable[[int], str]):
        self.grace, self.line = grace, line
        self._last_beat = -math.inf
        self._done = threading.Event()  # set when disarmed; a new one per entry
        self._lock = threading.Lock()
        self._write_fd: int | None = None
        self._previous_fd = -1

    def beat(self) -> None:
        """Progress: the countdown restarts from now."""
        self._last_beat = time.monotonic()

    def __enter__(self) -> Watchdog:
        if threading.current_thread() is not threading.main_thread():
            return self
        self._done = threading.Event()
        read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)  # the interpreter's write must never block
        self._previous_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        threading.Thread(target=self._watch, args=(read_fd, self._done), daemon=True,
                         name="stop-watchdog").start()
        return self

    def __exit__(self, *exc_info) -> None:
        if self._write_fd is None:
            return
        with self._lock:
            self._done.set()
        signal.set_wakeup_fd(self._previous_fd)
        os.close(self._write_fd)  # the thread reads end-of-file and ends
        self._write_fd = None

    def _watch(self, read_fd: int, done: threading.Event) -> None:
        with open(read_fd, "rb", buffering=0) as wakeups:
            while True:
                byte = wakeups.read(1)  # the number of each signal Python handled
                if not byte:
                    return
                if byte[0] in STOP_SIGNALS:
                    break
            signum, arrived = byte[0], time.monotonic()
            while not done.wait(max(arrived, self._last_beat) + self.grace - time.monotonic()):
                if time.monotonic() >= max(arrived, self._last_beat) + self.grace:
                    self._exit(signum, done)

    def _exit(self, signum: int, done: threading.Event) -> None:
        with self._lock:
            if done.is_set():
                return
            try:
                console.end_line(timeout=1.0)  # not glued to the end of a progress bar
                sys.stdout.flush()
                print(self.line(signum), file=sys.stderr, flush=True)
            finally:
                os._exit(exit_code(signum))


@contextlib.contextmanager
def suspended() -> Iterator[None]:
    """Inside, no watchdog sees stop signals: for code that must leave on its own terms (a
    multi-worker run, where one worker leaving alone hangs the others in their next
    collective)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.set_wakeup_fd(-1)
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous)
