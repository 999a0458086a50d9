"""Resident memory of this process, sampled while a block runs: the peak a pipeline reaches
above where it started (VmHWM is the whole process's, from its start)."""

from __future__ import annotations

import threading
from pathlib import Path

STATUS = Path("/proc/self/status")


def rss_bytes() -> int:
    """The process's resident set size now (Linux)."""
    for line in STATUS.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmRSS in /proc/self/status")


class PeakRss:
    """``with PeakRss() as peak: ...`` then ``peak.growth``: the highest RSS sampled every
    ``interval`` seconds inside the block, minus the RSS at its start, in bytes."""

    def __init__(self, interval: float = 0.02):
        self.interval, self.start, self.peak = interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakRss:
        self.start = self.peak = rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def growth(self) -> int:
        return self.peak - self.start
