"""Where a pass's time goes: wall-clock seconds per phase, for both passes (a library sync
and a course pass), shown by the operator's log line and metrics and by `exlib sync -v` /
`exlib apply -v`.

A pass calls `lap(name)` where a phase ends; the time since the previous lap (or the start)
is charged to `name`. A phase met again (each push attempt, each version's upload in turn)
adds up, so a pass marks its phases without being restructured around them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping


class Phases:
    """Seconds per phase of one pass, in the order the phases first ended."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._mark = clock()
        self.seconds: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Charge the time since the previous lap to `name`."""
        now = self._clock()
        self.seconds[name] = self.seconds.get(name, 0.0) + (now - self._mark)
        self._mark = now


def describe(phases: Mapping[str, float]) -> str:
    """`fetch 0.12 s, scan 3.40 s, …; total 3.52 s` (the log line's and the CLI's form)."""
    if not phases:
        return "no phases measured"
    parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items())
    return f"{parts}; total {sum(phases.values()):.2f} s"
