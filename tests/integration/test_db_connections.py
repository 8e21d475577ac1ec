"""What passes cost PostgreSQL in connections, the resource every operator process (and every
shard) shares with all others (docs/operations.md#sizing): syncs and course passes reuse the
process's pooled connections, and a course pass holds at most two at a time (its locks' and
its work's)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from controller.config import Settings
from controller.store import git
from tests.conftest import Stack
from tests.integration.test_course_deploy import Env, seed


class Connections:
    """DBAPI connections this process opens, and the most checked out of pools at once."""

    def __init__(self) -> None:
        self.opened = self.out = self.peak = 0
        self._lock = threading.Lock()

    def _connect(self, *_: Any) -> None:
        with self._lock:
            self.opened += 1

    def _checkout(self, *_: Any) -> None:
        with self._lock:
            self.out += 1
            self.peak = max(self.peak, self.out)

    def _checkin(self, *_: Any) -> None:
        with self._lock:
            self.out -= 1


@contextmanager
def counted() -> Iterator[Connections]:
    seen = Connections()
    hooks = {"connect": seen._connect, "checkout": seen._checkout, "checkin": seen._checkin}
    for name, fn in hooks.items():
        sa.event.listen(sa.pool.Pool, name, fn)
    try:
        yield seen
    finally:
        for name, fn in hooks.items():
            sa.event.remove(sa.pool.Pool, name, fn)


@pytest.fixture
def env(stack: Stack, settings: Settings, tmp_path: Path) -> Env:
    return Env(stack, settings, tmp_path, git.Credentials(token=stack.git_token))


def test_course_passes_reuse_the_processs_connections(env: Env) -> None:
    spec, _, _ = seed(env)
    assert env.apply(spec).assignments.changed
    with counted() as seen:
        for _ in range(2):
            assert not env.apply(spec).assignments.changed
    assert seen.opened == 0, f"{seen.opened} new connections for two passes"


def test_syncs_reuse_the_processs_connections(env: Env) -> None:
    seed(env)
    with counted() as seen:
        for _ in range(2):
            env.sync(env.tmp / "lib")
    assert seen.opened == 0, f"{seen.opened} new connections for two syncs"


def test_a_course_pass_holds_at_most_two_connections_at_once(env: Env) -> None:
    """Its two locks (the CourseStructure's and the path's) share one connection; the
    pass's transactions use one more."""
    spec, _, _ = seed(env)
    with counted() as seen:
        assert env.apply(spec).assignments.changed
    assert seen.peak <= 2, f"{seen.peak} connections at once"
