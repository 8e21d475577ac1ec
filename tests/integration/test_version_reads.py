"""How a small version is stored and read (issue 12): as its pack and metadata.json only, and
a cold course pass reads it with one GET (its pack); a version stored before small versions
were packed is still deployed, file by file; a lost or damaged pack is refused with a
message saying what to do. Requests are counted at the MinIO client's HTTP pool, against the
real server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import urllib3

from controller.config import Settings
from controller.course.apply import apply_course
from controller.course.errors import StorageFailed
from controller.library import layout
from controller.library.errors import IncompleteVersion
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.library.versions import load_version_files
from controller.store import git
from controller.store.db import make_engine, session_scope
from controller.store.db.library import ExampleVersion
from controller.store.objects import ObjectStore, object_store
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


def stored_versions(settings: Settings) -> list[ExampleVersion]:
    with session_scope(make_engine(settings.database_url)) as session:
        versions = session.query(ExampleVersion).all()
        session.expunge_all()
    return versions


def test_a_small_version_is_stored_as_its_pack_and_metadata_only(
        settings: Settings, tmp_path: Path) -> None:
    root = write_library(tmp_path / "lib")
    (root / "ex00" / "data.bin").write_bytes(b"\0" * layout.PACK_MAX_BYTES)  # now large
    report = sync_repository(settings, SourceSpec("dir", str(root)), name="lib")
    versions = {v.meta["slug"]: v for v in stored_versions(settings)}
    stored = {o.key for o in object_store(settings).list(f"repositories/{report.repository_id}/")}
    small = versions["ex01"].storage_prefix
    assert {k for k in stored if k.startswith(small)} == {small + "files.pack",
                                                          small + "metadata.json"}
    large = versions["ex00"].storage_prefix
    assert {k for k in stored if k.startswith(large)} == {
        large + p for p in ("meta.yaml", "files/main.py", "files/test_main.py",
                            "files/content/index.md", "files/data.bin", "metadata.json")}
    assert stored == {k for v in versions.values()
                      for k in layout.version_keys(v.storage_prefix, v.files)}
    assert report.uploaded_objects == len(stored) == (N - 1) * 2 + 6


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


def unpack_to_files(store: ObjectStore, version: ExampleVersion) -> None:
    """Store a version as a sync before small versions were packed did: one object per file."""
    store.put_many([(layout.file_key(version.storage_prefix, path), data, "text/plain")
                    for path, (_, data) in load_version_files(store, version).items()])
    store.delete_many([layout.pack_key(version.storage_prefix)])


def test_a_version_stored_before_packs_is_read_file_by_file(
        stack: Stack, settings: Settings, tmp_path: Path, gets: list[str]) -> None:
    sync_repository(settings, SourceSpec("dir", str(write_library(tmp_path / "lib"))),
                    name="lib")
    store = object_store(settings)
    for version in stored_versions(settings):
        unpack_to_files(store, version)
    gets.clear()
    url = apply_cold(stack, settings, tmp_path, "old")
    # one miss per version, then metadata.json and each of its 4 files
    assert len(gets) == N * (1 + 1 + 4), gets
    files = deployed_files(stack, url, tmp_path / "reader")
    assert files["week1/t07/main.py"] == b"print(7)\n"


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_a_lost_pack_is_refused_naming_the_version_object_and_what_to_do(
        stack: Stack, settings: Settings, tmp_path: Path, damage: str) -> None:
    sync_repository(settings, SourceSpec("dir", str(write_library(tmp_path / "lib"))),
                    name="lib")
    version = next(v for v in stored_versions(settings) if v.meta["slug"] == "ex03")
    key = layout.pack_key(version.storage_prefix)
    store = object_store(settings)
    if damage == "missing":
        store.delete_many([key])
    else:
        store.put(key, store.get(key).replace(b"print(3)", b"print(4)"))
    problem = "is missing" if damage == "missing" else "does not hold the version's files"
    with pytest.raises(IncompleteVersion) as err:
        load_version_files(store, version)
    message = str(err.value)
    assert message.startswith(f"version 1.0.0 of ex03 cannot be read: the library's object "
                              f"{key} {problem}")
    assert "restore that object from a backup" in message and "change its `version`" in message
    with pytest.raises(StorageFailed, match=f"version 1.0.0 of ex03 cannot be read.*{key}"):
        apply_cold(stack, settings, tmp_path, "lost")
