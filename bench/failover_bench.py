#!/usr/bin/env python3
"""HA failover: from SIGKILL of the active operator inside a course pass to Ready (issue 10).

    eval "$(hack/devstack env)" && .venv/bin/python bench/failover_bench.py \
        [--runs 4] [--lifetimes 15,60] [--no-record]

Each run is the scenario of tests/integration/test_failover.py on the local stack (fresh
database, namespace and repositories): an active (priority 100) and a standby (50) operator
peered in the namespace; the active one SIGKILLs itself after the assignments push, before
the rows (kill point `course.after-push`). Measured per run: kill -> the standby resumes
(its log's "Resuming operations"), resume -> the course Ready with the commit, and kill ->
Ready; each run's end state is then checked like the test's (one exlib commit, rows, status,
one `Deployed`). `--lifetimes` are the `--peering-lifetime` values tried (60 = Kopf's own
default). The table replaces this benchmark's part of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import record  # noqa: E402
from bench.sync_bench import create_database, machine  # noqa: E402
from controller.cli.operator import DEFAULT_PEERING_LIFETIME  # noqa: E402
from controller.config import Settings  # noqa: E402
from tests.conftest import KEYS, Stack, _fresh_namespace  # noqa: E402
from tests.integration.operator_harness import Kubectl, condition  # noqa: E402
from tests.integration.test_failover import kill_the_active_mid_pass  # noqa: E402
from tests.integration.test_kill_points import (  # noqa: E402
    assert_update_converged,
    update_pending,
)

RESUMED = "Resuming operations"


def resumed_at(log: str) -> float:
    """Wall-clock time of the standby's first resume (its log's local timestamp)."""
    line = next(line for line in log.splitlines() if RESUMED in line)
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def ready_with_commit(kubectl: Kubectl, timeout: float = 300) -> float:
    """Poll (cheaply) until the course reports Ready with an assignments commit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        obj = kubectl.get("course", "prog1")
        ready = condition(obj, "Ready")
        if ready and ready["status"] == "True" and (
                (obj.get("status") or {}).get("assignments") or {}).get("commit"):
            return time.time()
        time.sleep(0.1)
    raise SystemExit(f"the course was not Ready {timeout:.0f} s after the kill")


def one_run(stack: Stack, admin: sa.Engine, lifetime: int, tmp: Path) -> tuple[float, ...]:
    db = create_database(admin, stack.database_url, f"bench_{secrets.token_hex(4)}")
    settings = replace(Settings.from_env(), database_url=db, cache_dir=tmp / "cache")
    scenario: dict = {"operators": []}
    try:
        with contextlib.contextmanager(_fresh_namespace)(stack) as ns:
            kubectl = Kubectl(stack.kubectl, stack.env["KUBECONFIG"], ns)
            try:
                scenario = update_pending(stack, kubectl, settings, tmp)
                standby, killed = kill_the_active_mid_pass(
                    kubectl, scenario, tmp, "--peering-lifetime", str(lifetime))
                ready = ready_with_commit(kubectl)
                resumed = resumed_at(standby.output())
                assert_update_converged(stack, kubectl, db, scenario, standby)
            finally:
                kubectl("delete", "coursestructures,examplerepositories", "--all",
                        "--timeout=60s", check=False)
                for op in scenario["operators"]:
                    op.stop()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db.rsplit("/", 1)[1]}" '
                                 "WITH (FORCE)"))
    return resumed - killed, ready - resumed, ready - killed


def spread(values: list[float]) -> str:
    return (f"{statistics.median(values):.1f} s ({min(values):.1f}–{max(values):.1f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=4, help="repetitions per lifetime")
    parser.add_argument("--lifetimes", default="15,60",
                        help="comma-separated --peering-lifetime values (seconds)")
    parser.add_argument("--no-record", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args()
    stack = Stack({k: os.environ[k] for k in KEYS})
    Kubectl(stack.kubectl, stack.env["KUBECONFIG"], "default")("apply", "-k", str(REPO / "crds"))
    admin = sa.create_engine(stack.database_url, isolation_level="AUTOCOMMIT")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Measured {when} (`bench/failover_bench.py`, {args.runs} runs per lifetime; "
             f"median, min–max). Machine: {machine()}, load average "
             f"{os.getloadavg()[0]:.1f} at the start.\n",
             "| `--peering-lifetime` | kill → standby resumes | resume → Ready | "
             "kill → Ready |", "| --- | --- | --- | --- |"]
    for lifetime in (int(v) for v in args.lifetimes.split(",")):
        runs = []
        for i in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="exlib-failover-") as tmp:
                runs.append(one_run(stack, admin, lifetime, Path(tmp)))
            print(f"lifetime {lifetime} s, run {i + 1}: " + ", ".join(
                f"{v:.1f} s" for v in runs[-1]), file=sys.stderr)
        takeover, passing, total = (list(col) for col in zip(*runs, strict=True))
        default = (" (exlib's default)" if lifetime == DEFAULT_PEERING_LIFETIME
                   else " (Kopf's default)" if lifetime == 60 else "")
        lines.append(f"| {lifetime} s{default} | {spread(takeover)} | {spread(passing)} | "
                     f"{spread(total)} |")
    table = "\n".join(lines)
    print(table)
    if not args.no_record:
        record("failover_bench", "HA failover: SIGKILL of the active operator mid-pass to Ready "
                                 "(issue 10)", table)


if __name__ == "__main__":
    main()
