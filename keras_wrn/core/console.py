"""The terminal line a progress bar redraws in place: every other line, on stdout or stderr (an
epoch's summary, a warning, an interrupt), first ends it, so it starts on a line of its own."""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO

_lock = threading.RLock()  # the watchdog's thread prints too
_open = False  # stdout's cursor is after a progress bar's text, not at a line's start


def is_terminal() -> bool:
    """Whether stdout is a terminal, where a line can be redrawn (not a file or a pipe)."""
    return hasattr(sys.stdout, "isatty") and sys.stdout.isatty()


def redraw(text: str) -> None:
    """Shows ``text`` on the open progress line, cut to the terminal's width (a wrapped line
    cannot be redrawn). For terminals only: a caller checks :func:`is_terminal`."""
    global _open
    width = shutil.get_terminal_size().columns - 1
    with _lock:
        sys.stdout.write("\r" + text[:width] + "\x1b[K")  # erase what is left of the line
        sys.stdout.flush()
        _open = True


def end_line(timeout: float = -1) -> None:
    """Ends an open progress line, so that what is printed next starts a line. ``timeout``:
    seconds to wait for a line being drawn (the watchdog, which must exit even when the main
    thread is stuck writing), then end it anyway; -1 waits."""
    global _open
    locked = _lock.acquire(timeout=timeout)
    try:
        if _open:
            sys.stdout.write("\n")
            sys.stdout.flush()
            _open = False
    finally:
        if locked:
            _lock.release()


def say(message: str, file: TextIO | None = None) -> None:
    """Prints ``message`` at once (stdout by default) on a line of its own: piped to a file or
    a scheduler's log, the lines before a kill -9 are not lost in Python's buffer either."""
    with _lock:
        end_line()
        print(message, file=sys.stdout if file is None else file, flush=True)
