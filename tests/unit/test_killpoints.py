"""The kill-point hook is inert unless a test harness arms it for its own child."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from controller.testing import killpoints

REPO = Path(__file__).resolve().parents[2]


def test_a_point_is_armed_only_with_the_parents_pid(monkeypatch: pytest.MonkeyPatch) -> None:
    point = killpoints.COURSE_AFTER_PUSH
    monkeypatch.setenv(killpoints.ENV, f"{point}@{os.getppid()}")
    assert killpoints.armed() == point
    for value in (point, f"{point}@{os.getpid()}", f"{point}@1", f"{point}@0",
                  f"no.such-point@{os.getppid()}"):
        monkeypatch.setenv(killpoints.ENV, value)
        assert killpoints.armed() is None
        killpoints.reach(point)  # does nothing: we are still here


def test_an_armed_child_dies_by_sigkill_at_its_point() -> None:
    code = ("from controller.testing import killpoints as k\n"
            "k.reach(k.SYNC_BEFORE_ROWS)\nk.reach(k.COURSE_AFTER_ROWS)\nprint('survived')\n")
    env = {**os.environ, killpoints.ENV: f"{killpoints.COURSE_AFTER_ROWS}@{os.getpid()}",
           "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert res.returncode == -9 and b"survived" not in res.stdout


def test_no_manifest_sets_a_kill_point() -> None:
    for path in (REPO / "manifests").rglob("*.yaml"):
        assert killpoints.ENV not in path.read_text(), path
