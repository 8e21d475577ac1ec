"""Conditions a user reads in `kubectl describe`, computed by one pure function."""

from __future__ import annotations

from controller.operator.status import Observation, Problem, ready_of, summarise

T0, T1 = "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"


def by_type(conds: list[dict]) -> dict[str, dict]:
    return {c["type"]: c for c in conds}


def test_success_is_ready_true_with_no_negative_conditions() -> None:
    conds = by_type(summarise([], Observation(generation=3, ready_message="70 examples"), T0))
    assert set(conds) == {"Ready"}
    assert conds["Ready"]["status"] == "True"
    assert conds["Ready"]["reason"] == "Succeeded"
    assert conds["Ready"]["message"] == "70 examples"
    assert conds["Ready"]["observedGeneration"] == 3


def test_reconciling_marks_ready_unknown_and_keeps_last_problems_visible() -> None:
    failed = summarise([], Observation(1, problems=(Problem("StorageFailed", "StorageUnavailable",
                                                              "MinIO down"),)), T0)
    conds = by_type(summarise(failed, Observation(2, reconciling="syncing"), T1))
    assert conds["Reconciling"]["status"] == "True"
    assert conds["Ready"]["status"] == "Unknown"
    assert conds["StorageFailed"]["message"] == "MinIO down"


def test_failure_sets_ready_false_with_the_detail_reason() -> None:
    obs = Observation(1, problems=(Problem("FetchFailed", "AuthenticationFailed", "bad token"),))
    conds = by_type(summarise([], obs, T0))
    assert conds["Ready"]["status"] == "False"
    assert conds["Ready"]["reason"] == "AuthenticationFailed"
    assert conds["FetchFailed"]["status"] == "True"
    assert "Stalled" not in conds and "Reconciling" not in conds


def test_stalled_wins_over_details_and_recovery_removes_both() -> None:
    obs = Observation(1, problems=(Problem("DependencyNotReady", "NotReady", "repo x"),
                                   Problem("Stalled", "InvalidSpec", "week1.x: unknown type")))
    conds = by_type(summarise([], obs, T0))
    assert conds["Ready"]["reason"] == "InvalidSpec"
    assert conds["Stalled"]["status"] == "True"
    healed = by_type(summarise(list(conds.values()), Observation(2), T1))
    assert set(healed) == {"Ready"}
    assert healed["Ready"]["status"] == "True"
    assert healed["Ready"]["lastTransitionTime"] == T1


def test_transition_time_only_moves_when_status_changes() -> None:
    first = summarise([], Observation(1), T0)
    second = by_type(summarise(first, Observation(2, ready_message="again"), T1))
    assert second["Ready"]["lastTransitionTime"] == T0
    assert second["Ready"]["message"] == "again"


def test_suspended_keeps_conditions_and_drops_reconciling() -> None:
    running = summarise(summarise([], Observation(1), T0), Observation(2, reconciling="x"), T1)
    conds = by_type(summarise(running, Observation(2, suspended=True), T1))
    assert "Reconciling" not in conds
    assert ready_of(list(conds.values()))[0] == "Unknown"
    fresh = by_type(summarise([], Observation(1, suspended=True), T0))
    assert fresh["Ready"]["reason"] == "Suspended"


def test_a_positive_detail_condition_is_false_while_its_problem_lasts() -> None:
    obs = Observation(1, problems=(Problem("StudentTemplateReady", "CommitFailed",
                                           "template not updated", status="False"),))
    conds = by_type(summarise([], obs, T0))
    assert conds["StudentTemplateReady"]["status"] == "False"
    assert (conds["Ready"]["status"], conds["Ready"]["reason"]) == ("False", "CommitFailed")
    running = by_type(summarise(list(conds.values()), Observation(2, reconciling="again"), T1))
    assert running["StudentTemplateReady"]["status"] == "False"  # visible while retrying
    healed = by_type(summarise(list(running.values()), Observation(3), T1))
    assert set(healed) == {"Ready"}
