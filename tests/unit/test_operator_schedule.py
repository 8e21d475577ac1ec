"""When the operator acts on an object: the rules behind "no retry storm" and intervals."""

from __future__ import annotations

import pytest

from controller.operator.schedule import (
    REQUESTED_AT,
    Memory,
    backoff,
    due,
    record,
)
from controller.timeouts import parse_duration


def obj(gen: int = 1, requested: str | None = None, handled: str | None = None,
        suspend: bool = False) -> dict:
    ann = {REQUESTED_AT: requested} if requested else {}
    return {"metadata": {"generation": gen, "annotations": ann}, "spec": {"suspend": suspend},
            "status": {"lastHandledReconcileAt": handled} if handled else {}}


def test_first_look_runs_a_pass_and_then_waits_for_the_interval() -> None:
    mem = Memory()
    assert due(obj(), mem, 0) == "started"
    record(mem, obj(), 0, 300, ok=True)
    assert due(obj(), mem, 10) is None
    assert due(obj(), mem, 331) == "interval"


def test_spec_change_runs_at_once() -> None:
    mem = Memory()
    record(mem, obj(gen=1), 0, 300, ok=True)
    assert due(obj(gen=2), mem, 1) == "spec changed"


def test_requested_at_runs_once_even_before_status_shows_it() -> None:
    mem = Memory()
    record(mem, obj(), 0, 300, ok=True)
    assert due(obj(requested="t1"), mem, 1) == "requested"
    record(mem, obj(requested="t1"), 1, 300, ok=True)
    assert due(obj(requested="t1"), mem, 2) is None  # status not yet updated: no second pass
    assert due(obj(requested="t1", handled="t1"), Memory(last_pass=0, handled_generation=1,
                                                        next_interval=300), 2) is None


def test_failures_back_off_exponentially_up_to_a_cap() -> None:
    mem = Memory()
    record(mem, obj(), 0, 300, ok=False)
    assert due(obj(), mem, 1) is None
    assert due(obj(), mem, backoff(1)) == "retry"
    for _ in range(20):
        record(mem, obj(), 0, 300, ok=False)
    assert backoff(mem.failures) == 300


def test_stalled_object_waits_for_a_spec_change_or_a_request() -> None:
    mem = Memory()
    record(mem, obj(gen=4), 0, 300, ok=False, stalled=True)
    assert due(obj(gen=4), mem, 10_000) is None
    assert due(obj(gen=5), mem, 1) == "spec changed"
    assert due(obj(gen=4, requested="now"), mem, 1) == "requested"


def test_wrong_credentials_retry_only_at_the_interval() -> None:
    mem = Memory()
    record(mem, obj(), 0, 300, ok=False, slow_retry=True)
    assert due(obj(), mem, backoff(1) + 1) is None
    assert due(obj(), mem, 331) == "interval"


def test_suspended_object_is_never_due() -> None:
    assert due(obj(suspend=True, requested="x"), Memory(), 0) is None


@pytest.mark.parametrize(("text", "seconds"), [("5m", 300), ("1h30m", 5400), ("90s", 90),
                                               ("250ms", 0.25), (None, 42)])
def test_durations(text: str | None, seconds: float) -> None:
    assert parse_duration(text, 42) == seconds


def test_bad_duration_names_the_value() -> None:
    with pytest.raises(ValueError, match="'5 minutes'"):
        parse_duration("5 minutes", 1)
