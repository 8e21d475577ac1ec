"""`exlib_condition` series follow the objects (issue 9, "Metrics"): a condition that went
away and an object that is gone leave no series behind (real prometheus_client registry)."""

from __future__ import annotations

import secrets

from prometheus_client import REGISTRY, generate_latest

from controller.operator import metrics
from controller.operator.status import Observation, Problem, summarise

T = "2026-01-01T00:00:00Z"
KIND = "ExampleRepository"
FETCH = Observation(1, problems=(Problem("FetchFailed", "SourceUnreachable", "no route"),))


def value(ns: str, name: str, type_: str, status: str) -> float | None:
    return REGISTRY.get_sample_value("exlib_condition", {
        "kind": KIND, "namespace": ns, "name": name, "type": type_, "status": status})


def series_of(ns: str) -> list[str]:
    return [line for line in generate_latest(REGISTRY).decode().splitlines()
            if line.startswith("exlib_condition{") and f'namespace="{ns}"' in line]


def test_a_recovered_condition_leaves_no_series() -> None:
    ns = f"t-{secrets.token_hex(4)}"
    metrics.set_conditions(KIND, ns, "repo", summarise([], FETCH, T))
    assert value(ns, "repo", "FetchFailed", "True") == 1
    assert value(ns, "repo", "Ready", "False") == 1

    metrics.set_conditions(KIND, ns, "repo", summarise([], Observation(1, ready_message="ok"), T))
    assert value(ns, "repo", "Ready", "True") == 1
    assert value(ns, "repo", "Ready", "False") == 0
    assert [s for s in series_of(ns) if "FetchFailed" in s] == []


def test_a_deleted_object_leaves_no_series_and_others_keep_theirs() -> None:
    ns = f"t-{secrets.token_hex(4)}"
    metrics.set_conditions(KIND, ns, "gone", summarise([], FETCH, T))
    metrics.set_conditions(KIND, ns, "kept", summarise([], FETCH, T))
    metrics.set_conditions("CourseStructure", ns, "gone", summarise([], FETCH, T))

    metrics.forget(KIND, ns, "gone")
    assert [s for s in series_of(ns) if 'name="gone"' in s and KIND in s] == []
    assert value(ns, "kept", "FetchFailed", "True") == 1
    assert REGISTRY.get_sample_value("exlib_condition", {
        "kind": "CourseStructure", "namespace": ns, "name": "gone", "type": "Ready",
        "status": "False"}) == 1
    metrics.forget(KIND, ns, "never-seen")  # an object that never finished a pass
