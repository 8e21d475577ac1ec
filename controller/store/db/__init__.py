"""Database access: engines, transactional sessions and schema migrations (Alembic).

`upgrade(url)` is what `exlib db upgrade` and the tests call (the operator never migrates:
an administrator runs `exlib db upgrade` once per release); the migration scripts live in
the repository's `migrations/` directory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from controller.timeouts import TimedOut

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


class DatabaseTimeout(sa.exc.OperationalError, TimedOut):
    """A statement ran into statement_timeout or lock_timeout (the pass's spec.timeout)."""


def make_engine(url: str, timeout: float | None = None) -> sa.Engine:
    """An engine whose pool notices dead connections (the operator outlives DB restarts).

    With `timeout` (seconds), connecting, every statement and every lock wait are bounded by
    it, and running into the bound raises `DatabaseTimeout`.
    """
    # No bound on connections beyond the pool's idle ones: concurrent passes each hold their
    # lock's connection while their sessions open more, and must never wait for each other.
    if timeout is None:
        return sa.create_engine(url, pool_pre_ping=True, max_overflow=-1,
                                connect_args={"connect_timeout": 10})
    ms = max(1, round(timeout * 1000))
    engine = sa.create_engine(url, pool_pre_ping=True, max_overflow=-1, connect_args={
        "connect_timeout": max(2, min(10, round(timeout))),
        "options": f"-c statement_timeout={ms} -c lock_timeout={ms}"})
    sa.event.listen(engine, "handle_error", _timeouts)
    return engine


_ENGINES: dict[tuple[str, float | None], sa.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def shared_engine(url: str, timeout: float | None = None) -> sa.Engine:
    """The process's engine for (url, timeout): created on first use, then reused by every
    sync, course pass and command of the process, so a pass borrows pooled connections
    instead of connecting (and a process never holds more pools than timeouts in use).
    Never dispose it; `make_engine` is for a caller that wants an engine of its own."""
    key = (url, timeout)
    with _ENGINES_LOCK:
        found = _ENGINES.get(key)
        if found is None:
            found = _ENGINES[key] = make_engine(url, timeout)
        return found


def _timeouts(context: sa.engine.ExceptionContext) -> None:
    """Re-raise a cancelled statement or lock wait as a `DatabaseTimeout`."""
    orig = context.original_exception
    if isinstance(orig, (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable)):
        raise DatabaseTimeout(context.statement, context.parameters, orig) from orig


#: PostgreSQL errors that mean the tables are not (all) there: migrations were not run.
_SCHEMA_MISSING = (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn,
                   psycopg.errors.UndefinedFunction, psycopg.errors.UndefinedObject,
                   psycopg.errors.InvalidSchemaName)


def describe_error(err: sa.exc.SQLAlchemyError) -> str:
    """A database failure in words, with what to do: the one wording of the CLI, a sync,
    a course pass and gc."""
    orig = getattr(err, "orig", None)
    reason = str(orig or err).strip().splitlines()[0] if str(orig or err).strip() else repr(err)
    if isinstance(err, sa.exc.OperationalError | sa.exc.InterfaceError):
        return (f"PostgreSQL is unavailable: {reason}; check DATABASE_URL and that the server "
                "is up")
    if isinstance(orig, _SCHEMA_MISSING):
        return f"the database schema is not ready ({reason}); run `exlib db upgrade`"
    return f"PostgreSQL refused the request: {reason}"


@contextmanager
def database_errors_as(error: type[Exception]) -> Iterator[None]:
    """Database failures raised as `error` (the caller's own kind) with `describe_error`'s
    words; the original stays the cause, so a timeout still reads as one."""
    try:
        yield
    except sa.exc.SQLAlchemyError as err:
        raise error(describe_error(err)) from err


@contextmanager
def session_scope(engine: sa.Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    with sessionmaker(engine, expire_on_commit=False)() as session, session.begin():
        yield session


def _alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = url  # not set_main_option: configparser would eat '%' in passwords
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database schema to `revision` (default: the newest migration)."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The migration the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with shared_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
