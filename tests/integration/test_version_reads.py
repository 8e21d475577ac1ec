"""How many requests a course pass makes to MinIO (issue 12): a cold pass reads each version
with one GET (its pack), and a version stored before packs existed is still deployed, file by
file. Requests are counted at the MinIO client's HTTP pool, against the real server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import urllib3

from controller.config import Settings
from controller.course.apply import apply_course
from controller.library import layout
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.store import git
from controller.store.db import make_engine, session_scope
from controller.store.db.library import ExampleVersion
from controller.store.objects import object_store
from tests.conftest import Stack, unique

N = 12  # examples; every third depends on the one before it


def write_library(root: Path) -> Path:
    for i in range(N):
        d = root / f"ex{i:02}"
        (d / "content").mkdir(parents=True)
        deps = (f"  testDependencies:\n  - slug: ex{i - 1:02}\n    version: ^1.0\n"
                if i % 3 == 2 else "")
        (d / "meta.yaml").write_text(f"slug: ex{i:02}\nversion: 1.0.0\nproperties:\n"
                                     f"  studentSubmissionFiles: [main.py]\n{deps}")
        (d / "main.py").write_text(f"print({i})\n")
        (d / "test_main.py").write_text("def test(): pass\n")
        (d / "content" / "index.md").write_text(f"# Task {i}\n")
    return root


def spec(url: str) -> dict:
    return {"course": {"organization": {"path": "uni"}, "family": {"path": "prog"},
                       "path": unique("reads_").replace("-", "_"), "title": "Reads"},
            "exampleRepositories": ["lib"], "assignments": {"url": url},
            "contentTypes": [{"slug": "week", "kind": "unit"},
                             {"slug": "task", "kind": "assignment"}],
            "contents": [{"path": "week1", "type": "week", "contents": [
                {"path": f"t{i:02}", "type": "task", "example": f"ex{i:02}"}
                for i in range(N)]}]}


@pytest.fixture
def gets(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths of the GET requests for objects sent to the library's MinIO from now on
    (not the client's bucket-location lookup, one per client)."""
    seen: list[str] = []
    real = urllib3.PoolManager.urlopen

    def counting(self, method, url, *args, **kwargs):  # type: ignore[no-untyped-def]
        if method == "GET" and settings.s3_endpoint in url and "?location" not in url:
            seen.append(url.split(settings.s3_endpoint, 1)[1])
        return real(self, method, url, *args, **kwargs)

    monkeypatch.setattr(urllib3.PoolManager, "urlopen", counting)
    yield seen


def deployed_files(stack: Stack, url: str, cache: Path) -> dict[str, bytes]:
    creds = git.Credentials(token=stack.git_token)
    repo = git.open_cache(cache, url, "reader")
    head = git.fetch_branch(repo, url, "main", creds, cache_dir=cache)
    assert head is not None
    return {p: git.read_blob(repo, e.id) for p, e in git.walk(repo, head.tree)}


def apply_cold(stack: Stack, settings: Settings, tmp_path: Path, name: str) -> str:
    url = stack.devstack("git-create", unique("reads-"))
    report = apply_course(replace(settings, cache_dir=tmp_path / name), spec(url),
                          name=unique("reads-"), namespace="default",
                          credentials=git.Credentials(token=stack.git_token))
    assert report.assignments.changed and report.counts["deployed"] == N
    return url


def test_a_cold_pass_reads_each_version_with_one_request(
        stack: Stack, settings: Settings, tmp_path: Path, gets: list[str]) -> None:
    sync_repository(settings, SourceSpec("dir", str(write_library(tmp_path / "lib"))),
                    name="lib")
    gets.clear()
    url = apply_cold(stack, settings, tmp_path, "cold")
    assert len(gets) == N and all(g.endswith("/" + layout.PACK) for g in gets), gets
    files = deployed_files(stack, url, tmp_path / "reader")
    assert files["week1/t05/main.py"] == b"print(5)\n"
    assert files["week1/t05/.dependencies/ex04/main.py"] == b"print(4)\n"

    gets.clear()
    apply_cold(stack, settings, tmp_path, "cold")  # same cache: nothing read again
    assert gets == []


def test_a_version_stored_before_packs_is_read_file_by_file(
        stack: Stack, settings: Settings, tmp_path: Path, gets: list[str]) -> None:
    sync_repository(settings, SourceSpec("dir", str(write_library(tmp_path / "lib"))),
                    name="lib")
    with session_scope(make_engine(settings.database_url)) as session:
        prefixes = list(session.query(ExampleVersion.storage_prefix))
    store = object_store(settings)
    store.delete_many([layout.pack_key(p) for p, in prefixes])  # as a sync before packs left it
    gets.clear()
    url = apply_cold(stack, settings, tmp_path, "old")
    # one miss per version, then metadata.json and each of its 4 files
    assert len(gets) == N * (1 + 1 + 4), gets
    files = deployed_files(stack, url, tmp_path / "reader")
    assert files["week1/t07/main.py"] == b"print(7)\n"
