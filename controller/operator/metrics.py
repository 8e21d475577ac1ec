"""Prometheus metrics of the operator (served by `exlib run --metrics-port`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RECONCILE_SECONDS = Histogram(
    "exlib_reconcile_duration_seconds", "Duration of one reconcile pass", ["kind", "result"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600))
CONDITION = Gauge(
    "exlib_condition", "1 when the object's condition has this status",
    ["kind", "namespace", "name", "type", "status"])
EXAMPLES_SYNCED = Counter(
    "exlib_examples_synced_total", "Examples synced, by outcome", ["status"])
PHASE_SECONDS = Histogram(
    "exlib_pass_phase_seconds", "Duration of one phase of a reconcile pass (controller.phases)",
    ["kind", "phase"], buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
COMMITS_PUSHED = Counter(
    "exlib_commits_pushed_total", "Commits pushed to course repositories", ["repository"])


def serve(port: int) -> None:
    """Serve /metrics on `port` (0: not at all)."""
    if port:
        start_http_server(port, addr="0.0.0.0")  # scraped from inside the cluster


def observe_pass(kind: str, seconds: float, *, ok: bool) -> None:
    """Record one pass's duration and outcome."""
    RECONCILE_SECONDS.labels(kind, "success" if ok else "failure").observe(seconds)


def observe_phases(kind: str, phases: Mapping[str, float]) -> None:
    """Record a finished pass's phase durations (`exlib_pass_phase_seconds`)."""
    for phase, seconds in phases.items():
        PHASE_SECONDS.labels(kind, phase).observe(seconds)


STATUSES = ("True", "False", "Unknown")
#: Condition types exported per (kind, namespace, name), so series of a condition that went
#: away (a problem recovered) or of an object that is gone can be removed; passes run on
#: several threads.
_exported: dict[tuple[str, str, str], set[str]] = {}
_lock = threading.Lock()


def set_conditions(kind: str, namespace: str, name: str, conds: list[dict[str, Any]]) -> None:
    """Export the object's conditions as they are now; the series of absent ones go."""
    key = (kind, namespace, name)
    types = {c["type"] for c in conds}
    with _lock:
        for type_ in _exported.get(key, set()) - types:
            _remove(key, type_)
        for c in conds:
            for status in STATUSES:
                CONDITION.labels(*key, c["type"], status).set(1 if c["status"] == status else 0)
        _exported[key] = types


def forget(kind: str, namespace: str, name: str) -> None:
    """The object is deleted: remove all its series."""
    key = (kind, namespace, name)
    with _lock:
        for type_ in _exported.pop(key, set()):
            _remove(key, type_)


def _remove(key: tuple[str, str, str], type_: str) -> None:
    for status in STATUSES:
        CONDITION.remove(*key, type_, status)
