"""Declarative base shared by every table, with a naming convention so Alembic migrations
get stable, predictable constraint names (needed to drop or alter them later)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """The declarative base of every table; constraint names follow NAMING_CONVENTION."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Ltree(UserDefinedType[str]):
    """PostgreSQL `ltree` (extension created by migration 0001); values are dotted strings."""

    cache_ok = True

    def get_col_spec(self, **_: Any) -> str:
        return "LTREE"

    def bind_expression(self, bindvalue: Any) -> Any:
        return sa.func.text2ltree(bindvalue, type_=self)  # psycopg may send text, not unknown


ischema_names["ltree"] = Ltree  # so reflection (alembic autogenerate) knows the type

#: Every timestamp column: timezone-aware, holding UTC (see `utcnow`).
Timestamp = sa.DateTime(timezone=True)


def utcnow() -> datetime:
    """Now, timezone-aware in UTC (every timestamp column holds UTC)."""
    return datetime.now(UTC)


def uuid_pk() -> Mapped[uuid.UUID]:
    """A UUID primary key assigned by Python, so ids are known before the row is flushed."""
    return mapped_column(sa.Uuid, primary_key=True, default=uuid.uuid4)
