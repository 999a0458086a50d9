"""Where a profiled step's time goes by op type, read from a tf.profiler trace (the host
plane's op events), so that a profile is a table in the benchmark's result, not only a view in
TensorBoard."""

from __future__ import annotations

import collections
from pathlib import Path


def op_seconds(profile_dir: str | Path, steps: int) -> dict[str, float]:
    """Seconds per step by op type (self time: an op's time less the ops it runs inside it,
    such as a function call's body or an XLA cluster's launch), summed over the threads of every
    trace under ``profile_dir`` and divided by the ``steps`` traced; most first."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    totals: collections.Counter[str] = collections.Counter()
    for path in Path(profile_dir).rglob("*.xplane.pb"):
        space = xplane_pb2.XSpace.FromString(path.read_bytes())
        for plane in space.planes:
            if plane.name != "/host:CPU":
                continue
            types = {key: _op_type(meta.name) for key, meta in plane.event_metadata.items()}
            for line in plane.lines:
                ops = [(event.offset_ps, event.duration_ps, types[event.metadata_id])
                       for event in line.events if types.get(event.metadata_id)]
                for kind, self_ps in _self_times(ops):
                    totals[kind] += self_ps
    return {kind: round(ps / 1e12 / steps, 4) for kind, ps in totals.most_common()}


def _op_type(name: str) -> str | None:
    """``"scope/name:Conv2D"`` (how TensorFlow's executor traces an op) -> ``"Conv2D"``."""
    head, sep, kind = name.rpartition(":")
    if not sep or not head or head.endswith(":") or not kind.isidentifier():
        return None  # a C++ scope (ExecutorState::Process), a function, no op type
    return kind if kind.lstrip("_")[:1].isupper() else None  # _MklMatMul: oneDNN's


def _self_times(ops: list[tuple[int, int, str]]) -> list[tuple[str, int]]:
    """(type, self time) of one thread's (offset, duration, type) events, which nest."""
    result: list[tuple[str, int]] = []
    stack: list[list] = []  # [end, type, self time] of the enclosing ops

    def close() -> None:
        _, kind, own = stack.pop()
        result.append((kind, own))

    for offset, duration, kind in sorted(ops, key=lambda op: (op[0], -op[1])):
        while stack and stack[-1][0] <= offset:
            close()
        if stack:
            stack[-1][2] -= duration
        stack.append([offset + duration, kind, duration])
    while stack:
        close()
    return result
