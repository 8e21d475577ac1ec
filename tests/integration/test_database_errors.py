"""One wording for database failures, whoever meets them (CLI, sync, course pass, gc).

Each case is a real failure of the stack's PostgreSQL: an empty database (migrations not
run), a statement PostgreSQL refuses, and a server that is not there.
"""

from __future__ import annotations

import sqlalchemy as sa

from controller.cli import main
from controller.course.errors import DatabaseFailed
from controller.library.errors import DatabaseUnavailable
from controller.store.db import database_errors_as, describe_error, make_engine


def _error(url: str, sql: str) -> sa.exc.SQLAlchemyError:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    except sa.exc.SQLAlchemyError as err:
        return err
    finally:
        engine.dispose()
    raise AssertionError(f"{sql} did not fail")


def test_an_empty_database_says_to_run_the_migrations(database_url: str) -> None:
    err = _error(database_url, "SELECT * FROM example_repositories")
    assert describe_error(err).startswith("the database schema is not ready")
    assert "exlib db upgrade" in describe_error(err)


def test_a_refused_statement_is_not_blamed_on_the_schema(database_url: str) -> None:
    err = _error(database_url, "SELECT 'a..b'::text::int")
    assert describe_error(err).startswith("PostgreSQL refused the request: ")
    assert "db upgrade" not in describe_error(err)


def test_a_server_that_is_not_there_is_unavailable_for_each_caller() -> None:
    url = "postgresql+psycopg://nobody:x@127.0.0.1:9/none"
    err = _error(url, "SELECT 1")
    for kind in (DatabaseUnavailable, DatabaseFailed):
        try:
            with database_errors_as(kind):
                raise err
        except kind as translated:
            assert str(translated).startswith("PostgreSQL is unavailable: ")
            assert "DATABASE_URL" in str(translated) and translated.__cause__ is err


def test_the_cli_says_the_same(database_url: str, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["examples", "search", "--text", "x"]) == 1
    assert "the database schema is not ready" in capsys.readouterr().err
