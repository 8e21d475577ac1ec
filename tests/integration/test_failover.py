"""HA failover: two peered operators; the active one is SIGKILLed inside a course pass.

The standby must take over and finish where an uninterrupted pass ends: one exlib commit for
the change (no duplicate), rows written, status true, `Deployed` posted once. How long the
takeover takes is measured by bench/failover_bench.py, never asserted here
(docs/reliability.md, docs/operations.md#high-availability).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from controller.testing import killpoints
from tests.conftest import Stack
from tests.integration.operator_harness import (
    Kubectl,
    Operator,
    create_peering,
    peers,
    start_operator,
    wait_for,
)
from tests.integration.test_kill_points import (  # noqa: F401 - course_env is a fixture
    armed,
    assert_update_converged,
    course_env,
    die,
)

ACTIVE, STANDBY = 100, 50  # priorities


def kill_the_active_mid_pass(kubectl: Kubectl, scenario: dict[str, Any], tmp_path: Path,
                             *extra: str) -> tuple[Operator, float]:
    """Start an active and a standby operator peered in kubectl's namespace, apply the
    objects of `scenario` (`update_pending`) and let the active one SIGKILL itself after the
    assignments push, before the rows. Returns the standby and the wall-clock time of the
    kill."""
    env, ops, ns = scenario["env"], scenario["operators"], kubectl.namespace
    create_peering(kubectl)
    active = start_operator({**env, **armed(killpoints.COURSE_AFTER_PUSH)}, ns,
                            tmp_path / "active.log", "--peering", "exlib",
                            "--priority", str(ACTIVE), *extra)
    ops.append(active)
    wait_for("the active operator to announce itself",
             lambda: ACTIVE in {p["priority"] for p in peers(kubectl).values()}, operator=active)
    standby = start_operator(env, ns, tmp_path / "standby.log", "--peering", "exlib",
                             "--priority", str(STANDBY), *extra)
    ops.append(standby)
    # with `--peering` an operator starts paused and resumes only while no live peer has a
    # higher priority: once announced, the standby waits
    wait_for("the standby to announce itself",
             lambda: STANDBY in {p["priority"] for p in peers(kubectl).values()},
             operator=standby)
    kubectl.apply(*scenario["docs"])
    die(active, killpoints.COURSE_AFTER_PUSH)
    return standby, time.time()


def test_standby_finishes_a_pass_whose_active_operator_was_killed(
        stack: Stack, kubectl: Kubectl, database_url: str,
        course_env: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    standby, _ = kill_the_active_mid_pass(kubectl, course_env, tmp_path)
    # the pushed commit is adopted, not pushed again; rows, status and event as without a kill
    assert_update_converged(stack, kubectl, database_url, course_env, standby)
    # the standby acted only after it took over, and then finished the course
    before, resumed, after = standby.output().partition("Resuming operations")
    assert resumed and ": pass (" not in before
    assert f"CourseStructure {kubectl.namespace}/prog1: pass" in after
    # the dead operator's record is removed; the standby's stays
    wait_for("the dead operator's peering record to be removed",
             lambda: [p["priority"] for p in peers(kubectl).values()] == [STANDBY],
             timeout=30, operator=standby)


def test_peering_record_carries_the_heartbeat_lifetime(
        stack: Stack, kubectl: Kubectl, database_url: str, tmp_path: Path) -> None:
    """How long a standby waits for a silent operator is the lifetime in that operator's
    record: 15 s unless `--peering-lifetime` says otherwise."""
    create_peering(kubectl)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(tmp_path / "c")}
    ops = [start_operator(env, kubectl.namespace, tmp_path / "default.log", "--peering",
                          "exlib", "--priority", "2"),
           start_operator(env, kubectl.namespace, tmp_path / "long.log", "--peering", "exlib",
                          "--priority", "1", "--peering-lifetime", "45")]
    try:
        lifetimes = wait_for(
            "both operators to announce themselves",
            lambda: {p["priority"]: p["lifetime"] for p in peers(kubectl).values()}
            if len(peers(kubectl)) == 2 else None, operator=ops[1])
    finally:
        for op in ops:
            op.stop()
    assert lifetimes == {2: 15, 1: 45}

