"""Every environment variable exlib reads is read in controller/config.py (one place to
look up, one set of messages); the two exceptions say why."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import config

#: Reads allowed elsewhere: the Kubernetes client's in-cluster detection, and the test-only
#: kill points (read where they fire, so a production build never consults them in a pass).
ALLOWED = {"controller/store/kube.py", "controller/testing/killpoints.py", "controller/config.py"}


def test_no_module_outside_config_reads_the_environment() -> None:
    root = Path(__file__).resolve().parents[2]
    readers = sorted(str(p.relative_to(root)) for p in (root / "controller").rglob("*.py")
                     if ("os.environ" in p.read_text() or "os.getenv" in p.read_text()))
    assert set(readers) <= ALLOWED, set(readers) - ALLOWED


def test_cli_git_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "t0k")
    monkeypatch.setenv("EXLIB_GIT_USERNAME", "from-env")
    monkeypatch.delenv("EXLIB_GIT_PASSWORD", raising=False)
    creds = config.git_credentials("MY_TOKEN")
    assert (creds.token, creds.username, creds.password) == ("t0k", "from-env", None)
    assert config.git_credentials("MY_TOKEN", "given").username == "given"


def test_s3_source_needs_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXLIB_S3_ENDPOINT", raising=False)
    with pytest.raises(config.ConfigError, match="--s3-endpoint"):
        config.s3_source(None)
    monkeypatch.setenv("EXLIB_S3_SECURE", "yes")
    assert config.s3_source("s3.example.edu:443").secure
