"""Prometheus metrics of the operator (served by `exlib run --metrics-port`)."""

from __future__ import annotations

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
COMMITS_PUSHED = Counter(
    "exlib_commits_pushed_total", "Commits pushed to course repositories", ["repository"])


def serve(port: int) -> None:
    if port:
        start_http_server(port, addr="0.0.0.0")  # scraped from inside the cluster


def observe_pass(kind: str, seconds: float, *, ok: bool) -> None:
    RECONCILE_SECONDS.labels(kind, "success" if ok else "failure").observe(seconds)


def set_conditions(kind: str, namespace: str, name: str, conds: list[dict[str, Any]]) -> None:
    for c in conds:
        for status in ("True", "False", "Unknown"):
            CONDITION.labels(kind, namespace, name, c["type"], status).set(
                1 if c["status"] == status else 0)
