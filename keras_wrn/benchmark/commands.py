"""Whole training commands timed side by side: each command runs to its end in its own process,
the two alternated round by round so that both see the same load on a shared machine; the
start-up, data decoding, tracing and validation count, as a user waits for them."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# "epoch 3: ... val_top1 0.8123 ..." as both apps/train.py and a plain PyTorch loop print it.
EPOCH_LINE = re.compile(r"^epoch (\d+):.*\bval_top1 ([0-9.]+)")


def timed_command(command: Sequence[str], cwd: str | Path | None = None) -> dict[str, Any]:
    """Runs ``command``, reading its output as it comes: the whole wall time, the seconds from
    its last output line to its exit (``exit_s``: what the process does after saying it is
    done) and, per epoch line, the seconds since the start and the validation top-1 it
    reports. Raises RuntimeError, with the output's end, when the command fails."""
    began = time.perf_counter()
    epochs: list[dict[str, float]] = []
    tail: list[str] = []
    last_line = began
    with subprocess.Popen(list(command), cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as process:
        for line in process.stdout:
            last_line = time.perf_counter()
            tail = [*tail[-19:], line.rstrip()]
            match = EPOCH_LINE.match(line.strip())
            if match:
                epochs.append({"epoch": int(match[1]), "val_top1": float(match[2]),
                               "at_s": round(time.perf_counter() - began, 2)})
    wall = time.perf_counter() - began
    if process.returncode:
        raise RuntimeError(f"{command[0]} ... exited {process.returncode}:\n" + "\n".join(tail))
    return {"wall_s": round(wall, 2), "exit_s": round(wall - (last_line - began), 2),
            "epochs": epochs}


def time_to_accuracy(epochs: list[dict[str, float]], target: float) -> float | None:
    """Seconds from the command's start to the first epoch whose validation top-1 reaches
    ``target``; None when none does."""
    return next((e["at_s"] for e in epochs if e["val_top1"] >= target), None)


def side_by_side(ours: Callable[[Path], Sequence[str]], theirs: Callable[[Path], Sequence[str]],
                 read_epoch_seconds: Callable[[str, Path], list[float]], rounds: int,
                 work_dir: Path, target: float | None = None) -> dict[str, Any]:
    """``rounds`` runs of each command (given its own empty folder), alternated, the first
    to run switching every round; per run its wall time, training seconds per epoch (from
    ``read_epoch_seconds(side, folder)``), epoch lines and time to ``target``, then the medians
    and the speed-ups (theirs / ours: above 1 means ours is faster)."""
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "theirs": []}
    commands = {"ours": ours, "theirs": theirs}
    for index in range(rounds):
        order = ("ours", "theirs") if index % 2 == 0 else ("theirs", "ours")
        for side in order:
            folder = work_dir / f"{side}-{index}"
            folder.mkdir(parents=True)
            run = timed_command(commands[side](folder))
            run["epoch_seconds"] = [round(s, 2) for s in read_epoch_seconds(side, folder)]
            if target is not None:
                run["time_to_target_s"] = time_to_accuracy(run["epochs"], target)
            runs[side].append(run)
    result: dict[str, Any] = {"rounds": rounds, "runs": runs}
    for side, side_runs in runs.items():
        result[side] = {
            "wall_s": statistics.median(r["wall_s"] for r in side_runs),
            "epoch_s": statistics.median(s for r in side_runs for s in r["epoch_seconds"]),
            "val_top1": statistics.median(r["epochs"][-1]["val_top1"] for r in side_runs
                                          if r["epochs"]) if any(r["epochs"] for r in side_runs)
            else None,
        }
    result["speedup_wall"] = round(statistics.median(
        t["wall_s"] / o["wall_s"] for o, t in zip(runs["ours"], runs["theirs"], strict=True)), 3)
    result["speedup_epoch"] = round(result["theirs"]["epoch_s"] / result["ours"]["epoch_s"], 3)
    if target is not None:
        result["target_top1"] = target
        for side, side_runs in runs.items():
            reached = [r["time_to_target_s"] for r in side_runs]
            result[side]["time_to_target_s"] = (statistics.median(reached)
                                                if None not in reached else None)
    return result


def history_epoch_seconds(folder: Path) -> list[float]:
    """Training seconds per epoch of an apps/train.py run (its history.json)."""
    return [h["epoch_seconds"] for h in json.loads((folder / "history.json").read_text())]
