"""When to run a pass (pure): spec changes, explicit requests, retries with backoff, intervals.

Each object has one long-running loop; every `loop.POLL_SECONDS` it asks `due()` whether to
act. Errors that retrying cannot fix stall the object until its spec or
`exlib.dev/requestedAt` changes, so a bad spec or a wrong password never turns into a retry
storm.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REQUESTED_AT = "exlib.dev/requestedAt"
MIN_BACKOFF, MAX_BACKOFF = 2.0, 300.0


def jitter(seconds: float, rng: random.Random | None = None) -> float:
    """±10 %, so many objects created together do not re-check in lockstep."""
    return seconds * (0.9 + 0.2 * (rng or random).random())


def backoff(failures: int) -> float:
    """Seconds to wait after `failures` failures in a row: doubling, bounded by MAX_BACKOFF."""
    return min(MAX_BACKOFF, MIN_BACKOFF * 2 ** max(0, failures - 1))


@dataclass
class Memory:
    """What one object's loop remembers between passes (lost on restart, by design).

    The handled generation and request are remembered here, not only read back from the
    status, because the status patch reaches the loop's live view of the object a moment
    later: reading it alone would run the same pass twice.
    """

    last_pass: float | None = None
    handled_generation: int | None = None
    handled_request: str | None = None
    failures: int = 0
    stalled: bool = False
    waiting: bool = False  # the last pass waited for a dependency; its trigger may act
    wait_for_interval: bool = False
    next_interval: float = 0.0
    written: dict[str, Any] = field(default_factory=dict)  # the status the last pass wrote


def due(body: Mapping[str, Any], mem: Memory, now: float) -> str | None:
    """Why a pass should run now, or None. `now` is a monotonic clock reading."""
    spec, meta = body.get("spec") or {}, body.get("metadata") or {}
    status = body.get("status") or {}
    if spec.get("suspend"):
        return None
    requested = (meta.get("annotations") or {}).get(REQUESTED_AT)
    if requested and requested not in (status.get("lastHandledReconcileAt"), mem.handled_request):
        return "requested"
    if mem.last_pass is None:
        return "started"
    if meta.get("generation") != mem.handled_generation:
        return "spec changed"
    if mem.stalled:
        return None
    elapsed = now - mem.last_pass
    if mem.failures and not mem.wait_for_interval:
        return "retry" if elapsed >= backoff(mem.failures) else None
    return "interval" if elapsed >= mem.next_interval else None


def record(mem: Memory, body: dict[str, Any], now: float, interval: float, *, ok: bool,
           stalled: bool = False, slow_retry: bool = False, waiting: bool = False) -> None:
    """Update the loop's memory after a pass; `slow_retry` waits a full interval (bad auth)."""
    meta = body.get("metadata") or {}
    mem.last_pass = now
    mem.handled_generation = meta.get("generation")
    mem.handled_request = (meta.get("annotations") or {}).get(REQUESTED_AT)
    mem.next_interval = jitter(interval)
    mem.failures = 0 if ok else mem.failures + 1
    mem.stalled = stalled
    mem.waiting = waiting
    mem.wait_for_interval = slow_retry
