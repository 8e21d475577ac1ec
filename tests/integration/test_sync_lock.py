"""Two syncs of one repository at once (issue 9, "Serialised syncs"): real PostgreSQL, MinIO
and Git server, and the real `exlib sync` command line.

Sync A runs in this process and is held in the middle of its scan (by its progress hook);
sync B is a real `exlib sync` process started meanwhile. A is let go once B has either said
it waits for A or finished on its own (what happened before syncs were serialised: B wrote
the examples first and A then failed on a duplicate key).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from controller.config import Settings
from controller.library.report import SyncReport
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from tests.conftest import Stack
from tests.integration.held import BOUND, Held
from tests.integration.library_support import GitRemote, example, under

EXAMPLES = 6


@pytest.fixture
def remote(stack: Stack, git_repo: str, tmp_path: Path) -> GitRemote:
    remote = GitRemote(git_repo, stack.git_token, tmp_path / "work.git")
    tree: dict = {}
    for n in range(EXAMPLES):
        tree.update(under(f"ex{n}", example(f"lock.ex{n}")))
    remote.commit(tree)
    return remote


def HeldSync(settings: Settings, source: SourceSpec, name: str = "lib",
             namespace: str = "default") -> Held[SyncReport]:
    """Sync A on a thread, held at its first scanned example until `finish()`."""
    return Held(lambda progress: sync_repository(settings, source, name=name,
                                                 namespace=namespace, progress=progress),
                "sync A", holds=lambda phase, *_: phase == "scan")


@pytest.fixture
def held_sync(settings: Settings, remote: GitRemote) -> Iterator[HeldSync]:
    held = HeldSync(settings, remote.source())
    yield held
    held.release.set()


class ExlibSync:
    """Sync B: a real `exlib sync` process; stderr is read as it comes."""

    def __init__(self, stack: Stack, settings: Settings, remote: GitRemote, tmp_path: Path,
                 *args: str) -> None:
        env = {**os.environ, **stack.env, "DATABASE_URL": settings.database_url,
               "EXLIB_CACHE_DIR": str(tmp_path / "cache-b")}
        self._stdout = tmp_path / "b.out"
        with self._stdout.open("w") as out:
            self.proc = subprocess.Popen(
                [str(Path(sys.executable).parent / "exlib"), "sync", "--name", "lib", "--git",
                 remote.url, *args], stdout=out, stderr=subprocess.PIPE, text=True, env=env)
        self.lines: list[str] = []
        self._spoke = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            self._spoke.set()
        self._spoke.set()

    def first_words(self) -> str:
        """B's first stderr line (the lock message), or "" when it ended without one."""
        assert self._spoke.wait(BOUND), "exlib sync B neither said anything nor ended"
        return self.lines[0] if self.lines else ""

    def end(self) -> tuple[int, str, str]:
        """(exit code, stdout, stderr) once B has ended."""
        code = self.proc.wait(BOUND)
        self._reader.join(BOUND)
        return code, self._stdout.read_text(), "".join(self.lines)


def rows(database_url: str, query: str) -> list[sa.Row]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(query)))
    finally:
        engine.dispose()


def test_second_sync_waits_for_the_first_and_both_end_cleanly(
        stack: Stack, settings: Settings, remote: GitRemote, held_sync: HeldSync,
        tmp_path: Path) -> None:
    b = ExlibSync(stack, settings, remote, tmp_path)
    said = b.first_words()
    a = held_sync.finish()  # before syncs were serialised: IntegrityError (duplicate key)
    code, out, err = b.end()
    assert a.counts["new"] == EXAMPLES
    assert code == 0, err
    assert "a sync of default/lib is running" in said and "waiting" in said
    assert "duplicate key" not in out + err and "Traceback" not in err
    assert f"{EXAMPLES} unchanged" in out  # B ran after A, on what A stored
    assert rows(settings.database_url, "SELECT count(*) FROM example_repository")[0][0] == 1
    assert rows(settings.database_url, "SELECT count(*) FROM example")[0][0] == EXAMPLES
    assert rows(settings.database_url,
                "SELECT count(*), count(DISTINCT example_id) FROM example_version")[0] == (
        EXAMPLES, EXAMPLES)


def test_second_sync_that_cannot_wait_says_a_sync_is_running(
        stack: Stack, settings: Settings, remote: GitRemote, held_sync: HeldSync,
        tmp_path: Path) -> None:
    code, out, err = ExlibSync(stack, settings, remote, tmp_path, "--wait", "0").end()
    assert rows(settings.database_url, "SELECT count(*) FROM example")[0][0] == 0
    assert held_sync.finish().counts["new"] == EXAMPLES
    assert code == 1
    assert "a sync of default/lib is running" in err
    assert "--wait" in err  # says what to do
    assert "duplicate key" not in out + err and "Traceback" not in err
