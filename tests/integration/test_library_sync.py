"""Syncing Git repositories into the library: real PostgreSQL, MinIO and Git server."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from controller.config import ExampleLimits, Settings
from controller.library.errors import AuthenticationFailed
from controller.library.report import SyncReport
from controller.library.source import SourceSpec
from controller.library.source_git import GitSnapshot
from controller.library.sync import archive_repository, sync_repository
from controller.library.versions import load_version_files, resolve_version
from controller.store.db import make_engine, session_scope
from controller.store.db.library import (
    Example,
    ExampleDependency,
    ExampleRepository,
    ExampleVersion,
)
from controller.store.git import Credentials
from controller.store.objects import ObjectStore, object_store
from tests.conftest import SHARED_DATA, Stack
from tests.integration.library_support import (
    GitRemote,
    example,
    exlib,
    meta,
    tree_from_dir,
    under,
)

DATA = SHARED_DATA / "data-science-python"


@pytest.fixture
def remote(stack: Stack, git_repo: str, tmp_path: Path) -> GitRemote:
    return GitRemote(git_repo, stack.git_token, tmp_path / "work.git")


def by_identifier(report: SyncReport) -> dict[str, dict]:
    return {e["identifier"]: e for e in report.to_dict()["examples"]}


def sync(settings: Settings, source: SourceSpec, name: str = "lib") -> SyncReport:
    return sync_repository(settings, source, name=name)


def test_data_set_syncs_70_examples_then_nothing(stack: Stack, settings: Settings,
                                                 remote: GitRemote, database_url: str) -> None:
    remote.commit(tree_from_dir(DATA / "examples", "examples/"))
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_CACHE_DIR": str(settings.cache_dir)}
    args = ["sync", "--name", "ds", "--git", remote.url, "--path", "examples", "-o", "json"]
    first = exlib(*args, env=env)
    assert first.returncode == 0, first.stderr
    out = json.loads(first.stdout)
    expected = {yaml.safe_load(p.read_text())["slug"]
                for p in (DATA / "examples").glob("*/*/meta.yaml")}
    assert len(expected) == 70
    assert out["counts"]["total"] == 70 and out["counts"]["new"] == 70
    assert {e["identifier"] for e in out["examples"]} == expected
    assert all(e["status"] == "new" and e["id"] and e["digest"] for e in out["examples"])
    with session_scope(make_engine(database_url)) as s:
        tags = s.scalars(sa.select(Example.tags)).all()
    assert len(tags) == 70 and all("python" in t for t in tags)

    second = exlib(*args, env=env)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["counts"]["unchanged"] == 70 and again["counts"]["total"] == 70
    assert again["uploaded"] == {"versions": 0, "objects": 0, "bytes": 0}
    assert {e["id"] for e in again["examples"]} == {e["id"] for e in out["examples"]}


def test_both_formats_two_levels_and_stored_objects(settings: Settings,
                                                    remote: GitRemote) -> None:
    new_format = ("identifier: calc_new-one\nversion: 2.1\ntitle: New\n"
                  "content:\n  tags: [Loops, python]\n"
                  "properties:\n  studentSubmissionFiles: [main.py]\n")
    remote.commit({**under("examples/basics/old_one", example("old_one", code="print(1)\n")),
                   "examples/advanced/calc/meta.yaml": new_format,
                   "examples/advanced/calc/main.py": "print(2)\n",
                   "examples/advanced/calc/tests/test_main.py": "assert True\n",
                   "README.md": "not an example\n"})
    report = sync(settings, remote.source(path="examples"))
    got = by_identifier(report)
    assert set(got) == {"old_one", "calc_new-one"}
    assert got["calc_new-one"]["directory"] == "advanced/calc"
    assert got["calc_new-one"]["version"] == "2.1.0"
    with session_scope(make_engine(settings.database_url)) as s:
        ex = s.scalar(sa.select(Example).filter_by(identifier="calc_new-one"))
        assert ex is not None and sorted(ex.tags) == ["loops", "python"]
        version = resolve_version(s, ex.id, None)
        assert version.version_raw == "2.1"
        assert version.storage_prefix == (
            f"repositories/{report.repository_id}/{ex.id}/{version.digest}/")
        files = load_version_files(settings, version)
    assert files["main.py"] == (0o100644, b"print(2)\n")
    assert files["tests/test_main.py"][1] == b"assert True\n"
    assert files["meta.yaml"][1].decode() == new_format
    store = object_store(settings)
    meta_json = json.loads(store.get(version.storage_prefix + "metadata.json"))
    assert meta_json["digest"] == version.digest and meta_json["tag"] == "2.1.0"


def test_dependencies_resolve_to_ids_with_constraints(settings: Settings,
                                                      remote: GitRemote) -> None:
    base: dict = {}
    for v in ("1.0.0", "1.2.0", "1.10.0"):  # publish three versions of `lib`, one per sync
        base = under("lib", example("lib", v, code=f"V = '{v}'\n"))
        remote.commit(base)
        sync(settings, remote.source())
    deps = [{"slug": "lib", "version": "^1.2"}, "plain",
            {"identifier": "lib", "version": "~1.10"}]
    remote.commit({**base, **under("plain", example("plain")),
                   **under("user", example("user", deps=[deps[0], deps[1]])),
                   **under("tilde", example("tilde", deps=[deps[2]])),
                   **under("ge", example("ge", deps=[{"slug": "lib", "version": ">=1.0"}])),
                   **under("exact", example("exact", deps=[{"slug": "lib",
                                                            "version": "1.2.0"}]))})
    report = sync(settings, remote.source())
    got = by_identifier(report)
    assert all(not e["errors"] for e in got.values()), got
    with session_scope(make_engine(settings.database_url)) as s:
        ids = dict(s.execute(sa.select(Example.identifier, Example.id)).all())
        rows = s.execute(sa.select(Example.identifier, ExampleDependency.depends_id,
                                   ExampleDependency.constraint)
                         .join(Example, Example.id == ExampleDependency.example_id)).all()
        lib = ids["lib"]
        assert resolve_version(s, lib, "^1.2").tag == "1.10.0"  # semver, not string order
        assert resolve_version(s, lib, "~1.2").tag == "1.2.0"
        assert resolve_version(s, lib, "1.2").tag == "1.2.0"
        assert resolve_version(s, lib, "latest").tag == "1.10.0"
    assert set(rows) == {("user", lib, "^1.2"), ("user", ids["plain"], None),
                         ("tilde", lib, "~1.10"), ("ge", lib, ">=1.0"),
                         ("exact", lib, "1.2.0")}


def test_cycle_and_missing_dependency_fail_only_those(settings: Settings,
                                                      remote: GitRemote) -> None:
    remote.commit({**under("a", example("a", deps=["b"])), **under("b", example("b", deps=["a"])),
                   **under("c", example("c", deps=[{"slug": "nowhere", "version": "^1"}])),
                   **under("d", example("d", deps=[{"slug": "ok", "version": "^2"}])),
                   **under("ok", example("ok"))})
    got = by_identifier(sync(settings, remote.source()))
    assert got["ok"]["status"] == "new"
    for name in ("a", "b"):
        assert got[name]["status"] == "invalid"
        assert any("dependency cycle" in e for e in got[name]["errors"])
    assert "`nowhere`, which is not an example" in got["c"]["errors"][0]
    assert "no version of `ok` satisfies `^2`" in got["d"]["errors"][0]
    assert "d/meta.yaml" in got["d"]["errors"][0]


def test_same_tag_other_content_keeps_last_good_version(settings: Settings,
                                                        remote: GitRemote) -> None:
    remote.commit({**under("a", example("a", code="v1\n")), **under("b", example("b"))})
    first = by_identifier(sync(settings, remote.source()))
    remote.commit({**under("a", example("a", code="v2\n")), **under("b", example("b", "1.1"))})
    second = by_identifier(sync(settings, remote.source()))
    assert second["a"]["status"] == "invalid"
    assert second["a"]["errors"] == [
        "a/meta.yaml: version: version 1.0.0 of a is already published with other content: "
        "bump `version`"]
    assert second["a"]["digest"] == first["a"]["digest"]  # still served
    assert second["b"]["status"] == "changed" and second["b"]["version"] == "1.1.0"
    with session_scope(make_engine(settings.database_url)) as s:
        a = s.scalar(sa.select(Example).filter_by(identifier="a"))
        assert a is not None and a.latest_version is not None
        assert load_version_files(settings, a.latest_version)["main.py"][1] == b"v1\n"
        assert s.scalar(sa.select(sa.func.count()).select_from(ExampleVersion)) == 3
    remote.commit({**under("a", example("a", "1.0.1", code="v2\n")),
                   **under("b", example("b", "1.1"))})
    third = by_identifier(sync(settings, remote.source()))
    assert third["a"]["status"] == "changed" and third["a"]["version"] == "1.0.1"


def test_reverted_content_is_served_by_its_earlier_version(settings: Settings,
                                                           remote: GitRemote) -> None:
    first_tree = under("a", example("a", title="First"))
    remote.commit(first_tree)
    first = by_identifier(sync(settings, remote.source()))
    remote.commit(under("moved", example("a", "1.1", title="Second", code="v2\n")))
    assert by_identifier(sync(settings, remote.source()))["a"]["version"] == "1.1.0"
    remote.commit(first_tree)
    third = by_identifier(sync(settings, remote.source()))
    assert third["a"]["status"] == "changed" and third["a"]["version"] == "1.0.0"
    assert third["a"]["digest"] == first["a"]["digest"] and third["a"]["id"] == first["a"]["id"]
    with session_scope(make_engine(settings.database_url)) as s:
        a = s.scalar(sa.select(Example).filter_by(identifier="a"))
        assert a is not None and a.latest_version is not None
        assert (a.latest_version.tag, a.title, a.directory) == ("1.0.0", "First", "a")
        assert s.scalar(sa.select(sa.func.count()).select_from(ExampleVersion)) == 2


def test_deleted_archived_renamed_keeps_id(settings: Settings, remote: GitRemote) -> None:
    remote.commit({**under("old/place", example("keep")), **under("gone", example("gone"))})
    first = by_identifier(sync(settings, remote.source()))
    remote.commit(under("new/home", example("keep")))
    second = by_identifier(sync(settings, remote.source()))
    assert second["keep"]["id"] == first["keep"]["id"]
    assert second["keep"]["directory"] == "new/home"
    assert second["keep"]["status"] == "unchanged"
    assert second["gone"]["status"] == "archived"
    with session_scope(make_engine(settings.database_url)) as s:
        gone = s.scalar(sa.select(Example).filter_by(identifier="gone"))
        assert gone is not None and gone.archived_at is not None
        assert gone.latest_version is not None  # archived, never deleted
        keep = s.get(Example, uuid.UUID(first["keep"]["id"]))
        assert keep is not None and keep.directory == "new/home"


def test_bad_input_is_reported_per_example(settings: Settings, remote: GitRemote) -> None:
    settings = replace(settings, limits=ExampleLimits(max_file_bytes=1000))
    remote.commit({
        **under("good", example("good")),
        **under("ten", {"meta.yaml": meta("ten", "1.10"), "x.py": "1\n"}),
        "broken/meta.yaml": "slug: broken\ntitle: [unclosed\n",
        **under("trav", example("trav", properties={"testFiles": ["../good/main.py"]})),
        **under("link", {**example("link"), "secret": ("link", "../../etc/passwd")}),
        **under("inlink", {**example("inlink"), "alias.py": ("link", "main.py")}),
        **under("big", {**example("big"), "data.bin": b"x" * 1001}),
        **under("dup1", example("twin")), **under("dup2", example("twin")),
        **under("outer", {**example("outer"), **under("inner", example("inner"))}),
    })
    got = {e["directory"]: e for e in sync(settings, remote.source()).to_dict()["examples"]}
    assert got["good"]["status"] == "new"
    assert got["ten"]["version"] == "1.10.0" and got["ten"]["status"] == "new"
    assert got["inlink"]["status"] == "new"
    assert got["broken"]["status"] == "invalid"
    assert got["broken"]["errors"][0].startswith("broken/meta.yaml:")
    assert "not valid YAML" in got["broken"]["errors"][0]
    assert got["trav"]["status"] == "invalid"
    assert any("trav/meta.yaml" in e and "testFiles" in e for e in got["trav"]["errors"])
    assert got["link"]["status"] == "invalid"
    assert "link/secret" in got["link"]["errors"][0] and "outside" in got["link"]["errors"][0]
    assert "big/data.bin" in got["big"]["errors"][0] and "1001 bytes" in got["big"]["errors"][0]
    for d in ("dup1", "dup2"):
        assert got[d]["status"] == "invalid" and "`twin` is also used by" in got[d]["errors"][0]
    assert got["outer"]["status"] == "invalid" and got["outer/inner"]["status"] == "invalid"
    with session_scope(make_engine(settings.database_url)) as s:
        names = set(s.scalars(sa.select(Example.identifier)).all())
    assert names == {"good", "ten", "inlink"}


def test_wrong_token_fails_without_changes(stack: Stack, settings: Settings,
                                           remote: GitRemote, database_url: str) -> None:
    remote.commit(under("a", example("a")))
    bad = SourceSpec("git", remote.url, credentials=Credentials(token="wrong"))
    with pytest.raises(AuthenticationFailed) as err:
        sync(settings, bad)
    assert "refused" in str(err.value) and "wrong" not in str(err.value)
    env = {**stack.env, "DATABASE_URL": database_url, "EXLIB_GIT_TOKEN": "wrong",
           "EXLIB_CACHE_DIR": str(settings.cache_dir)}
    res = exlib("sync", "--name", "x", "--git", remote.url, env=env)
    assert res.returncode == 1
    assert len(res.stderr.strip().splitlines()) == 1 and "refused" in res.stderr
    with session_scope(make_engine(database_url)) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Example)) == 0


def test_ignore_patterns_and_tree_shortcut(settings: Settings, remote: GitRemote) -> None:
    files = {**under("a", {**example("a"), "output/result.txt": "r\n"}),
             **under("drafts/b", example("b"))}
    remote.commit(files)
    report = sync(settings, remote.source(ignore=("output/", "drafts/")))
    assert set(by_identifier(report)) == {"a"}
    with session_scope(make_engine(settings.database_url)) as s:
        v = s.scalar(sa.select(ExampleVersion))
        assert v is not None and [f["path"] for f in v.files] == ["main.py", "meta.yaml"]
    again = sync(settings, remote.source(ignore=("output/", "drafts/")))
    assert again.counts["unchanged"] == 1 and again.uploaded_objects == 0
    # Other rules change the content (output/ now included): re-read, not skipped by tree id.
    widened = by_identifier(sync(settings, remote.source(ignore=("drafts/",))))
    assert widened["a"]["status"] == "invalid"
    assert "already published with other content" in widened["a"]["errors"][0]


def test_report_digest_and_version_count(settings: Settings, remote: GitRemote) -> None:
    remote.commit({**under("a", example("a")), **under("b", example("b")),
                   "bad/meta.yaml": "slug: bad\ntitle: [unclosed\n"})
    first = sync(settings, remote.source())
    live = sorted(f"{e.identifier}:{e.digest}\n" for e in first.examples
                  if e.status == "new")
    assert len(live) == 2  # the invalid example is not part of the library's content
    assert first.digest == hashlib.sha256("".join(live).encode()).hexdigest()
    assert first.versions == 2
    assert first.to_dict()["repository"]["digest"] == first.digest

    again = sync(settings, remote.source())
    assert again.digest == first.digest and again.versions == 2

    remote.commit({**under("a", example("a", "1.1", code="x = 2\n")), **under("b", example("b"))})
    bumped = sync(settings, remote.source())
    assert bumped.digest != first.digest
    assert bumped.versions == 3  # a's 1.0.0 stays stored beside 1.1.0
    with session_scope(make_engine(settings.database_url)) as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(ExampleVersion)) == 3

    # The same content under another repository name: same content identity.
    assert sync(settings, remote.source(), name="copy").digest == bumped.digest


def test_archive_repository_keeps_every_version(stack: Stack, settings: Settings,
                                                remote: GitRemote, database_url: str) -> None:
    remote.commit({**under("a", example("a")), **under("b", example("b"))})
    sync(settings, remote.source())
    remote.commit({**under("a", example("a", "1.1", code="x = 2\n")),
                   **under("b", example("b"))})
    sync(settings, remote.source())
    sync(settings, remote.source(), name="other")

    assert archive_repository(settings, namespace="default", name="lib") == 2
    assert archive_repository(settings, namespace="default", name="lib") == 0  # already
    assert archive_repository(settings, namespace="default", name="never-synced") == 0
    assert archive_repository(settings, namespace="elsewhere", name="lib") == 0

    env = {**stack.env, "DATABASE_URL": database_url}
    listed = json.loads(exlib("examples", "list", "-o", "json", env=env).stdout)
    assert {(r["repository"], r["identifier"]) for r in listed} == {("other", "a"),
                                                                   ("other", "b")}
    with session_scope(make_engine(database_url)) as s:
        a = s.scalar(sa.select(Example).join(Example.repository)
                     .where(Example.identifier == "a", ExampleRepository.name == "lib"))
        assert a is not None and a.archived_at is not None
        # Courses pinned to any version of it still resolve and load their files.
        assert load_version_files(settings, resolve_version(s, a.id, "1.0.0"))[
            "main.py"][1] == b"x = 1\n"
        assert load_version_files(settings, resolve_version(s, a.id, "latest"))[
            "main.py"][1] == b"x = 2\n"
        assert s.scalar(sa.select(sa.func.count()).select_from(ExampleVersion)) == 3 + 2

    # Re-created under the same name: its examples come back with the same ids.
    back = by_identifier(sync(settings, remote.source()))
    assert back["a"]["status"] == "changed" and back["a"]["id"] == str(a.id)
    listed = json.loads(exlib("examples", "list", "--repository", "lib", "-o", "json",
                              env=env).stdout)
    assert {r["identifier"] for r in listed} == {"a", "b"}


def test_noop_resync_lists_no_example_and_costs_the_same_at_any_size(
        settings: Settings, remote: GitRemote, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing changed: no object is written, no example directory is even listed, and the
    number of SQL statements does not grow with the number of examples."""
    listed: list[object] = []
    writes: list[int] = []
    statements: list[str] = []
    children = GitSnapshot.children
    put_many = ObjectStore.put_many
    monkeypatch.setattr(GitSnapshot, "children",
                        lambda self, handle: listed.append(handle) or children(self, handle))
    monkeypatch.setattr(ObjectStore, "put_many",
                        lambda self, objects: writes.append(len(objects)) or put_many(self,
                                                                                      objects))

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    def noop_costs(n: int) -> tuple[int, int, int]:
        remote.commit({k: v for i in range(n)
                       for k, v in under(f"g{i % 3}/ex{i}", example(f"ex{i}")).items()})
        assert sync(settings, remote.source()).counts["new"] in (n, n - 10)
        listed.clear()
        writes.clear()
        statements.clear()
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
        try:
            report = sync(settings, remote.source())
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        assert report.counts["unchanged"] == n and report.uploaded_objects == 0
        return len(listed), sum(writes), len(statements)

    small, large = noop_costs(10), noop_costs(40)
    assert small[0] == large[0] == 4  # the root and g0..g2: no example directory
    assert small[1] == large[1] == 0
    assert small[2] == large[2]
