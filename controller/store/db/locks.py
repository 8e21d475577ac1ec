"""PostgreSQL advisory locks: one pass per course and one sync per repository at a time,
whoever runs it (any operator replica, `exlib` on a laptop).

A lock's 64-bit id is a SHA-256 of its kind and whole key, so no two courses or repositories
block each other unless their keys are equal (PostgreSQL's 32-bit `hashtext` let another
namespace choose a course path that collides with a victim's in seconds). The lock is
session-level, on a connection in autocommit mode (no transaction stays open for the whole
pass), pooled: it is released when the block ends (a connection whose unlock fails is
closed, never pooled), or by PostgreSQL when the process or its connection dies.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from enum import IntEnum

import sqlalchemy as sa

POLL_SECONDS = 0.5  # how often a bounded wait asks again

_TRY = sa.text("SELECT pg_try_advisory_lock(:id)")
_UNLOCK = sa.text("SELECT pg_advisory_unlock(:id)")


class LockKind(IntEnum):
    """What an advisory lock protects; part of the lock's key, so kinds never collide."""

    COURSE = 1  # key: the course path
    REPOSITORY = 2  # key: repository_key(namespace, name)
    COURSE_OWNER = 3  # key: the CourseStructure's namespace/name


def repository_key(namespace: str, name: str) -> str:
    """The REPOSITORY lock's key: the ExampleRepository's namespace and name."""
    return f"{namespace}/{name}"


class LockBusy(Exception):
    """The lock stayed held elsewhere for the whole wait."""


@contextmanager
def lock_connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection in autocommit mode to hold session-level locks on (several may share it)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn


@contextmanager
def advisory_lock(bind: sa.Engine | sa.Connection, kind: LockKind, key: str, *, wait: float,
                  on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the lock (kind, key) for the block, on `bind` (a `lock_connection`) or on a
    connection of its own taken from the engine `bind`.

    When it is held elsewhere, `on_wait()` is called once, then this waits at most `wait`
    seconds (0: not at all) before raising LockBusy. The wait asks again and again rather
    than blocking in PostgreSQL, so no statement or lock timeout of the engine cuts it short.
    """
    if isinstance(bind, sa.Engine):
        with lock_connection(bind) as conn, advisory_lock(conn, kind, key, wait=wait,
                                                          on_wait=on_wait):
            yield
        return
    conn = bind
    digest = hashlib.sha256(f"{int(kind)}\0{key}".encode()).digest()
    params = {"id": int.from_bytes(digest[:8], "big", signed=True)}
    if not conn.scalar(_TRY, params):
        if on_wait is not None:
            on_wait()
        deadline = time.monotonic() + wait
        while not conn.scalar(_TRY, params):
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockBusy(f"{kind.name.lower()} {key}")
            time.sleep(min(POLL_SECONDS, left))
    try:
        yield
    finally:
        try:
            conn.execute(_UNLOCK, params)
        except sa.exc.SQLAlchemyError:
            # a lost connection holds no lock; any other must not go back to the pool with it
            with suppress(sa.exc.SQLAlchemyError):
                conn.invalidate()
