"""The CLI explains an unreachable database in one line instead of a traceback."""

from __future__ import annotations

import pytest

from controller.cli import main


def test_unreachable_database_is_one_line_with_a_hint(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:p@127.0.0.1:1/none")
    for key, value in {"EXLIB_S3_ENDPOINT": "127.0.0.1:1", "EXLIB_S3_ACCESS_KEY": "a",
                       "EXLIB_S3_SECRET_KEY": "b"}.items():
        monkeypatch.setenv(key, value)
    assert main(["examples", "list"]) == 1
    err = capsys.readouterr().err
    assert "database error" in err and "Check DATABASE_URL" in err
    assert "Traceback" not in err
