"""Timeouts and fairness, the parts that need no server: durations, how a timeout is
reported, the per-namespace limit of passes and libgit2's shared socket timeouts."""

from __future__ import annotations

import asyncio

import pygit2
import pytest

from controller.config import ConfigError, Settings
from controller.library.errors import SourceUnreachable
from controller.operator.loop import NamespaceSlots, _interval
from controller.operator.repository import failure
from controller.operator.schedule import Memory, due, record
from controller.operator.status import Observation, failure_reason, summarise
from controller.store import git
from controller.timeouts import MIN_INTERVAL, format_duration, parse_duration, timed_out


def test_durations_read_as_written_and_shown_as_written() -> None:
    assert parse_duration("1m30s", 60) == 90
    assert parse_duration(None, 60) == 60
    for text in ("2s", "1.5s", "5m", "90s"):
        assert format_duration(parse_duration(text, 0)) == text


def hung(url: str = "https://git.example.edu/x.git") -> SourceUnreachable:
    """What a sync raises when the Git server stopped answering (wrapped twice)."""
    try:
        try:
            raise git.GitTimeout(f"{url}: no answer within 5s (spec.timeout)")
        except git.GitError as err:
            raise SourceUnreachable(str(err)) from err
    except SourceUnreachable as err:
        return err


def test_a_timeout_is_recognised_however_it_was_wrapped() -> None:
    assert timed_out(hung())
    assert not timed_out(SourceUnreachable("connection refused"))
    assert failure_reason(hung()) == "Timeout"
    assert failure_reason(SourceUnreachable("refused")) == "SourceUnreachable"


def test_a_timed_out_sync_is_not_ready_with_reason_timeout_and_retried_with_backoff() -> None:
    result = failure(hung())
    assert not result.slow_retry  # a server may come back: back off, do not wait an interval
    conds = summarise([], Observation(1, problems=result.problems), "now")
    ready = next(c for c in conds if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "Timeout")
    assert "spec.timeout" in ready["message"]
    fetch = next(c for c in conds if c["type"] == "FetchFailed")
    assert fetch["reason"] == "Timeout"

    body = {"metadata": {"generation": 1}, "spec": {}}
    mem = Memory()
    record(mem, body, 0, 300, ok=False)
    assert due(body, mem, 1) is None
    assert due(body, mem, 2.5) == "retry"
    record(mem, body, 2.5, 300, ok=False)
    assert due(body, mem, 5) is None  # the second retry waits longer
    assert due(body, mem, 7) == "retry"


def test_a_namespace_at_its_limit_waits_while_another_namespace_runs() -> None:
    async def scenario() -> list[str]:
        slots = NamespaceSlots(2)
        hang = asyncio.Event()
        started: list[str] = []

        async def pass_(ns: str, name: str, block: bool) -> None:
            async with slots(ns):
                started.append(name)
                if block:
                    await hang.wait()

        hung_passes = [asyncio.create_task(pass_("a", f"a{i}", True)) for i in range(3)]
        await asyncio.sleep(0)
        await asyncio.wait_for(pass_("b", "b0", False), 1)
        seen = list(started)
        hang.set()
        await asyncio.wait_for(asyncio.gather(*hung_passes), 1)
        return seen

    seen = asyncio.run(scenario())
    assert seen == ["a0", "a1", "b0"]  # a2 waited for a slot of its own namespace


def test_libgit2_socket_timeouts_follow_the_shortest_operation_in_flight() -> None:
    shared = git._SocketTimeouts()
    with shared.bound(60):
        assert pygit2.settings.server_timeout == 60_000
        with shared.bound(20):
            assert pygit2.settings.server_timeout == 20_000
            assert pygit2.settings.server_connect_timeout == 20_000
            with shared.bound(1):  # never below the floor a healthy server needs
                assert pygit2.settings.server_timeout == git.MIN_SOCKET_TIMEOUT * 1000
        assert pygit2.settings.server_timeout == 60_000
    assert pygit2.settings.server_timeout == 0


def test_passes_per_namespace_is_a_positive_whole_number(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DATABASE_URL", "EXLIB_S3_ENDPOINT", "EXLIB_S3_ACCESS_KEY",
                "EXLIB_S3_SECRET_KEY"):
        monkeypatch.setenv(key, "x")
    monkeypatch.delenv("EXLIB_PASSES_PER_NAMESPACE", raising=False)
    assert Settings.from_env().passes_per_namespace == 2
    monkeypatch.setenv("EXLIB_PASSES_PER_NAMESPACE", "0")
    with pytest.raises(ConfigError, match="EXLIB_PASSES_PER_NAMESPACE"):
        Settings.from_env()


def test_an_interval_shorter_than_the_floor_waits_the_floor() -> None:
    """`interval: 1ms` would re-check every poll, loading the shared Git server, database and
    pass pool for every namespace; it waits MIN_INTERVAL instead."""
    assert _interval({"spec": {"interval": "1ms"}}) == MIN_INTERVAL
    assert _interval({"spec": {"interval": "1h"}}) == 3600
