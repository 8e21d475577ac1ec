"""Database access: engines, transactional sessions and schema migrations (Alembic).

`upgrade(url)` is what `exlib db upgrade`, the operator at start-up and the tests call; the
migration scripts live in the repository's `migrations/` directory.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parents[3] / "migrations"


def make_engine(url: str) -> sa.Engine:
    """An engine whose pool notices dead connections (the operator outlives DB restarts)."""
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


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

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
