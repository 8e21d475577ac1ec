"""Two passes of one course at once (issue 9, "Concurrency"): the real `exlib apply` while
another pass of the course runs, against the real PostgreSQL, MinIO and Git server.

Pass A runs in this process and is held at its first progress message (inside the pass);
`exlib apply` B is started meanwhile and says that it waits; A is let go, or B gives up
after the spec's `timeout` and says why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from controller.config import Settings
from controller.course.apply import ApplyReport, apply_course
from controller.store import git
from controller.store.db.locks import LockBusy, LockKind, advisory_lock
from tests.conftest import Stack
from tests.integration.held import BOUND, Held
from tests.integration.test_course_deploy import Env, seed

COURSE = "uni.prog.py101"


def HeldPass(env: Env, spec: dict) -> Held[ApplyReport]:
    """Pass A on a thread, held at its first progress message until `finish()`."""
    return Held(lambda progress: apply_course(env.settings, spec, name="py101",
                                              namespace="default", credentials=env.creds,
                                              progress=progress), "pass A")


@pytest.fixture
def env(stack: Stack, settings: Settings, tmp_path: Path) -> Env:
    return Env(stack, settings, tmp_path, git.Credentials(token=stack.git_token))


def exlib_apply(env: Env, spec: dict) -> subprocess.Popen[str]:
    manifest = env.tmp / "course.yaml"
    manifest.write_text(json.dumps({"kind": "CourseStructure", "spec": spec,
                                    "metadata": {"name": "py101", "namespace": "default"}}))
    return subprocess.Popen(
        [sys.executable, "-m", "controller.cli", "apply", "-f", str(manifest)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **env.stack.env, "DATABASE_URL": env.settings.database_url,
             "EXLIB_CACHE_DIR": str(env.tmp / "cache-b"), "EXLIB_GIT_TOKEN": env.creds.token})


def test_apply_waits_for_a_running_pass_of_the_course(env: Env) -> None:
    spec, _, _ = seed(env, template=False)
    held = HeldPass(env, spec)
    b = exlib_apply(env, spec)
    assert b.stderr is not None
    said = b.stderr.readline()  # B's first words: it waits
    a = held.finish()
    out, err = b.communicate(timeout=BOUND)
    assert a.assignments.changed
    assert "a pass of CourseStructure default/py101 is running" in said and "waiting" in said
    assert b.returncode == 0, err
    assert "assignments: unchanged" in out  # B ran after A, on what A pushed
    assert "Traceback" not in err


def test_apply_that_cannot_wait_longer_says_a_pass_is_running(env: Env) -> None:
    spec, _, _ = seed(env, template=False)
    held = HeldPass(env, spec)
    b = exlib_apply(env, {**spec, "timeout": "1s"})
    _, err = b.communicate(timeout=BOUND)
    assert held.finish().assignments.changed
    assert b.returncode == 1
    assert "a pass of CourseStructure default/py101 is running" in err
    assert "did not finish within 1 s; nothing was changed" in err
    assert "Traceback" not in err and "lock timeout" not in err


def test_a_pass_moving_the_course_waits_for_the_running_pass_of_the_same_object(
        env: Env) -> None:
    """The lock follows the CourseStructure, not only its path: a pass that moves the course
    (a new spec.course.path) while a pass at the old path runs would otherwise race it."""
    spec, _, _ = seed(env, template=False)
    held = HeldPass(env, spec)
    moved = {**spec, "course": {**spec["course"], "path": "py102"}, "timeout": "1s"}
    b = exlib_apply(env, moved)
    _, err = b.communicate(timeout=BOUND)
    assert held.finish().assignments.changed
    assert b.returncode == 1, err
    assert "a pass of CourseStructure default/py101 is running" in err
    assert "nothing was changed" in err and "Traceback" not in err


def test_courses_whose_paths_hash_alike_do_not_block_each_other(database_url: str) -> None:
    """A lock is keyed by the whole course path, not a 32-bit hash of it: otherwise another
    namespace could pick a course path that hashes like a victim's (a few seconds of search)
    and stall the victim's passes with its own hanging ones."""
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:  # a pair of paths PostgreSQL's hashtext confuses
        a, b = conn.execute(sa.text(
            "SELECT min(p), max(p) FROM (SELECT 'org.f.c' || n AS p FROM "
            "generate_series(1, 300000) n) s GROUP BY hashtext(p) HAVING count(*) > 1 "
            "LIMIT 1")).one()
    assert a != b
    with advisory_lock(engine, LockKind.COURSE, a, wait=0):
        with advisory_lock(engine, LockKind.COURSE, b, wait=0):
            pass  # LockBusy here meant the victim's pass waited for the attacker's
        with pytest.raises(LockBusy), advisory_lock(engine, LockKind.COURSE, a, wait=0):
            pass
    engine.dispose()
