"""The CLI explains an unreachable database, or an option it cannot use, in one line."""

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
    assert "PostgreSQL is unavailable" in err and "check DATABASE_URL" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["3", "9", "soon"])
def test_peering_lifetime_below_ten_seconds_is_refused(value: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A shorter heartbeat lifetime than Kopf's 5-10 s keep-alive margin would let a standby
    take a live operator for dead."""
    with pytest.raises(SystemExit) as exited:
        main(["run", "--peering", "exlib", "--peering-lifetime", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--peering-lifetime" in err and "at least 10" in err


@pytest.mark.parametrize("name", ["EXLIB_MAX_FILE_BYTES", "EXLIB_MAX_EXAMPLE_FILES",
                                  "EXLIB_MAX_EXAMPLE_DEPTH", "EXLIB_MAX_EXAMPLE_BYTES",
                                  "EXLIB_UPLOAD_WORKERS"])
@pytest.mark.parametrize("value", ["50k", "0", "-1"])
def test_a_limit_setting_that_is_no_positive_number_is_named(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """`50k` was a traceback and `0` made every example invalid; both now name the variable."""
    from controller.config import ConfigError, Settings

    for key, val in {"DATABASE_URL": "postgresql://x/y", "EXLIB_S3_ENDPOINT": "h:1",
                     "EXLIB_S3_ACCESS_KEY": "a", "EXLIB_S3_SECRET_KEY": "b", name: value}.items():
        monkeypatch.setenv(key, val)
    with pytest.raises(ConfigError, match=f"{name} is `{value}`; use a whole number"):
        Settings.from_env()
