"""Which passes post an event: transitions only, and waiting on a dependency is not one."""

from __future__ import annotations

from controller.operator.loop import _transition_events
from controller.operator.status import Observation, Problem, summarise

T = "2026-01-01T00:00:00Z"
READY = summarise([], Observation(1, ready_message="ok"), T)
AUTH = summarise([], Observation(1, problems=(Problem("FetchFailed", "AuthenticationFailed",
                                                      "token refused"),)), T)
WAIT = summarise([], Observation(1, problems=(Problem("DependencyNotReady", "RepositoryNotReady",
                                                      "repo x"),)), T)


def test_failure_then_recovery_post_one_event_each() -> None:
    assert _transition_events({"conditions": READY}, AUTH) == [
        ("Warning", "AuthenticationFailed", "token refused")]
    assert _transition_events({"conditions": AUTH}, AUTH) == []
    assert _transition_events({"conditions": AUTH}, READY) == [("Normal", "Recovered", "ok")]
    assert _transition_events({"conditions": READY}, READY) == []


def test_waiting_for_a_repository_posts_nothing() -> None:
    assert _transition_events({}, WAIT) == []
    assert _transition_events({"conditions": WAIT}, READY) == []
