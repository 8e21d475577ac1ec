"""Alembic environment: the URL comes from `controller.store.db.upgrade` or DATABASE_URL."""

from __future__ import annotations

import importlib
import os

from alembic import context

from controller.store.db import make_engine
from controller.store.db.base import Base

# Every module defining tables, so `alembic revision --autogenerate` sees the whole schema.
for _module in ("controller.store.db.library", "controller.store.db.course"):
    try:
        importlib.import_module(_module)
    except ModuleNotFoundError as err:
        if err.name != _module:
            raise

config = context.config
url = config.attributes.get("url") or os.environ["DATABASE_URL"]
engine = make_engine(url)
try:
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
