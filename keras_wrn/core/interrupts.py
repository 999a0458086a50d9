"""Stop signals that are never lost: SIGINT raises KeyboardInterrupt and SIGTERM
:class:`Terminated` at once, and :class:`StopSignals` remembers them, so a signal that code in
between swallowed (a converter that catches everything, or turns it into its own error) is
raised again at the next :meth:`StopSignals.check`."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The line a process stopped by each prints on stderr.
LINES = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}


class Terminated(BaseException):
    """SIGTERM arrived. A BaseException, as KeyboardInterrupt: ``except Exception`` lets it
    through."""


def exit_code(signum: int) -> int:
    """The exit status a shell reports for a process the signal stopped: 130, 143."""
    return 128 + signum


def stop_exception(signum: int) -> BaseException:
    """The exception that stands for a stop signal."""
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


def stopped_by(error: BaseException) -> int | None:
    """The stop signal ``error`` stands for, or None when it is no stop."""
    if isinstance(error, KeyboardInterrupt):
        return signal.SIGINT
    if isinstance(error, Terminated):
        return signal.SIGTERM
    return None


class StopSignals:
    """While entered (in the main thread; elsewhere Python cannot install handlers), SIGINT and
    SIGTERM are recorded in ``received`` and raise at once; the previous handlers come back on
    exit."""

    def __init__(self) -> None:
        self.received: int | None = None  # the first stop signal
        self._previous: dict[int, object] = {}
        self._deferred = False

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            # None: a handler not set from Python, which Python cannot set back.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous = {}

    def _handle(self, signum: int, frame) -> None:
        if self.received is None:
            self.received = signum
        if not self._deferred:
            raise stop_exception(signum)

    def check(self) -> None:
        """Raises for a stop signal received so far, even one whose exception was swallowed."""
        if self.received is not None:
            raise stop_exception(self.received)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Inside, a signal is recorded but not raised (steps that must all happen or none,
        such as a few renames); it is raised right after."""
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False
        self.check()
