"""One bad example is that example's own error, never the sync's (issue 9, §4): names Git or
a checkout refuses, trees nested too deep, too many files, symlinks that really resolve
outside the example or loop. Real Git server, MinIO and PostgreSQL; the hostile trees are
written as raw Git objects, since a file system (and libgit2's tree builder) refuse them."""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pygit2
import pytest
import sqlalchemy as sa

from controller.config import ExampleLimits, Settings
from controller.course.apply import apply_course
from controller.library.report import SyncReport
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.library.versions import load_version_files, resolve_version
from controller.store import git
from controller.store.db import make_engine, session_scope
from controller.store.db.library import Example
from controller.store.objects import object_store
from tests.conftest import Stack, unique
from tests.integration.library_support import exlib, meta
from tests.integration.test_library_sources import s3_source

# A tree: name (bytes, written as is) -> bytes (a file), ("link", target) or a subtree.
Raw = dict[bytes, Any]


def example(identifier: str, extra: Raw | None = None, **named: Any) -> Raw:
    """meta.yaml + main.py, and `extra` entries (any bytes as names) or `named` ones."""
    return {b"meta.yaml": meta(identifier).encode(), b"main.py": b"x = 1\n", **(extra or {}),
            **{k.encode(): v for k, v in named.items()}}


class Deep:
    """`d/d/…/d/` `depth` times, then `leaf`: written without recursion (a recursive helper
    would hide a RecursionError in the code under test)."""

    def __init__(self, depth: int, leaf: Raw) -> None:
        self.depth, self.leaf = depth, leaf


class Bomb:
    """A "Git bomb": `depth` levels of a tree whose two entries are the same subtree, so
    2**depth paths from `depth` + 1 objects."""

    def __init__(self, depth: int) -> None:
        self.depth = depth


class RawRemote:
    """Commits trees written object by object, so any entry name reaches the server."""

    def __init__(self, url: str, token: str, workdir: Path) -> None:
        self.url, self.token = url, token
        self.repo = pygit2.init_repository(str(workdir), bare=True, initial_head="main")

    def _write(self, tree: Raw | list[tuple[bytes, Any]]) -> pygit2.Oid:
        items = tree.items() if isinstance(tree, dict) else tree
        entries = []
        for name, value in items:
            if isinstance(value, Deep):
                oid = self._write(value.leaf)
                for _ in range(value.depth - 1):
                    oid = self.repo.odb.write(pygit2.enums.ObjectType.TREE,
                                              b"40000 d\0" + oid.raw)
                mode, key = b"40000", name + b"/"
            elif isinstance(value, Bomb):
                oid = self._write({b"leaf.txt": b"1\n"})
                for _ in range(value.depth):
                    oid = self.repo.odb.write(pygit2.enums.ObjectType.TREE,
                                              b"40000 a\0" + oid.raw + b"40000 b\0" + oid.raw)
                mode, key = b"40000", name + b"/"
            elif isinstance(value, (dict, list)):
                mode, oid, key = b"40000", self._write(value), name + b"/"
            elif isinstance(value, tuple):
                mode, oid, key = b"120000", self.repo.create_blob(value[1].encode()), name
            else:
                mode, oid, key = b"100644", self.repo.create_blob(value), name
            entries.append((key, mode + b" " + name + b"\0" + oid.raw))
        data = b"".join(e for _, e in sorted(entries))  # Git's order: directories as `name/`
        return self.repo.odb.write(pygit2.enums.ObjectType.TREE, data)

    def commit(self, tree: Raw) -> str:
        sig = pygit2.Signature("exlib test", "test@exlib.dev")
        parents = [] if self.repo.head_is_unborn else [self.repo.head.target]
        oid = self.repo.create_commit("refs/heads/main", sig, sig, "hostile", self._write(tree),
                                      parents)
        cb = pygit2.RemoteCallbacks(credentials=pygit2.UserPass("oauth2", self.token))
        self.repo.remotes.create_anonymous(self.url).push(["+refs/heads/main:refs/heads/main"],
                                                         callbacks=cb)
        return str(oid)

    def source(self) -> SourceSpec:
        return SourceSpec("git", self.url, credentials=git.Credentials(token=self.token))


@pytest.fixture
def remote(stack: Stack, git_repo: str, tmp_path: Path) -> RawRemote:
    return RawRemote(git_repo, stack.git_token, tmp_path / "work.git")


def entries(report: SyncReport) -> dict[str, dict[str, Any]]:
    data = json.loads(json.dumps(report.to_dict()))  # what `exlib sync -o json` prints
    return {e["directory"]: e for e in data["examples"]}


def assert_invalid(got: dict[str, dict[str, Any]], directory: str, *words: str) -> None:
    """The example is invalid, and one error names its file and says what is wrong."""
    e = got[directory]
    assert e["status"] == "invalid", e
    assert any(e_.startswith(directory + "/") and all(w in e_ for w in words)
               for e_ in e["errors"]), e["errors"]


HOSTILE: Raw = {
    b"good": example("good"),
    b"latin1": example("latin1", {b"caf\xe9.txt": b"1\n"}),
    b"ctrl": example("ctrl", {b"red\x1b[31m.txt": b"1\n"}),
    b"dotgit": example("dotgit", {b".git": {b"config": b"[core]\n"}}),
    b"dotgit-case": example("dotgit-case", {b"sub": {b".GiT": {b"hooks": b"x"}}}),
    b"dotdot": example("dotdot", {b"..": {b"x": b"1\n"}}),
    b"dot": example("dot", {b".": {b"x": b"1\n"}}),
    b"slash": example("slash", {b"a/b": b"1\n"}),
    b"gitmodules": example("gitmodules", {b".gitmodules": b"[submodule \"x\"]\n"}),
    b"dupe": [(b"main.py", b"1\n"), (b"main.py", b"2\n"),
              (b"meta.yaml", meta("dupe").encode())],
    b"deep": example("deep", d=Deep(1500, {b"leaf.txt": b"1\n"})),
    b"many": example("many", data={f"f{i:03}".encode(): b"1\n" for i in range(150)}),
    b"chain": example("chain", sub={b"b": ("link", "..")}, a=("link", "sub/b/../..")),
    b"loop": example("loop", a=("link", "b"), b=("link", "a")),
    b"parent": example("parent", sub={b"up": ("link", "..")}),
    b"grp\xff": {b"inner": example("inner")},
    b"case": example("case", {b"Main.py": b"1\n"}),
    b"heavy": example("heavy", {f"part{i}.bin".encode(): b"x" * 4000 for i in range(3)}),
}


def test_malformed_trees_in_git_are_each_examples_own_error(settings: Settings,
                                                             remote: RawRemote) -> None:
    settings = replace(settings, limits=ExampleLimits(max_files=100, max_depth=64,
                                                          max_bytes=10_000))
    remote.commit(HOSTILE)
    got = entries(sync_repository(settings, remote.source(), name="hostile"))
    assert got["good"]["status"] == "new"
    assert got["case"]["status"] == "new"  # a warning: it collides only on some checkouts
    assert any("case/main.py" in w and "`Main.py`" in w for w in got["case"]["warnings"])
    assert_invalid(got, "latin1", "caf\\xe9.txt", "not valid UTF-8")
    assert_invalid(got, "ctrl", "red\\x1b[31m.txt", "control character")
    assert_invalid(got, "dotgit", "dotgit/.git", "`.git`")
    assert_invalid(got, "dotgit-case", "sub/.GiT", "`.git`")
    assert_invalid(got, "dotdot", "dotdot/..", "not a valid name")
    assert_invalid(got, "dot", "dot/.", "not a valid name")
    assert_invalid(got, "slash", "slash/a/b", "a slash")
    assert_invalid(got, "gitmodules", ".gitmodules")
    assert_invalid(got, "dupe", "dupe/main.py", "twice")
    assert_invalid(got, "deep", "deeper than 64")
    assert_invalid(got, "many", "more than 100")
    assert_invalid(got, "heavy", "heavy/part2.bin", "more than 10000 bytes")
    assert_invalid(got, "chain", "chain/a", "outside the example")
    assert_invalid(got, "loop", "loop/a", "loops")
    assert_invalid(got, "parent", "parent/sub/up", "contains the link")
    assert_invalid(got, "grp\\xff/inner", "grp\\xff", "not valid UTF-8")
    with session_scope(make_engine(settings.database_url)) as s:
        assert set(s.scalars(sa.select(Example.identifier))) == {"good", "case"}


def test_a_git_bomb_costs_its_objects_not_its_paths(settings: Settings,
                                                    remote: RawRemote) -> None:
    """2**40 paths, inside an example and beside the examples: the sync ends, the bomb's
    example is invalid for its size, the others sync. Run in a thread: before the fix the
    walk never ends, and a test must not hang."""
    settings = replace(settings, limits=ExampleLimits(max_files=1000))
    remote.commit({b"good": example("good"), b"bomb": example("bomb", d=Bomb(40)),
                   b"attic": {b"old": Bomb(40)}})
    done: list[SyncReport] = []
    worker = threading.Thread(target=lambda: done.append(
        sync_repository(settings, remote.source(), name="bomb")), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert done, "the sync did not finish within 2 minutes"
    got = entries(done[0])
    assert got["good"]["status"] == "new"
    assert_invalid(got, "bomb", "more than 1000")


def test_s3_keys_git_cannot_hold_are_their_examples_errors(stack: Stack, settings: Settings,
                                                           s3_prefix: str) -> None:
    store = object_store(settings)
    src = s3_prefix + "src/"
    for ident, bad in (("ok", None), ("ctl", "bell\x07.txt"), ("bs", "a\\b.txt"),
                       ("dotgit", ".GIT/config")):
        store.put(f"{src}{ident}/meta.yaml", meta(ident).encode())
        if bad:
            store.put(f"{src}{ident}/{bad}", b"1\n")
    got = entries(sync_repository(settings, s3_source(stack, src), name="s3names"))
    assert got["ok"]["status"] == "new"
    assert_invalid(got, "ctl", "ctl/bell\\x07.txt", "control character")
    assert_invalid(got, "bs", "bs/a\\b.txt", "backslash")
    assert_invalid(got, "dotgit", "dotgit/.GIT", "`.git`")


def test_an_example_that_turns_bad_keeps_its_version_and_courses_still_apply(
        stack: Stack, settings: Settings, s3_prefix: str) -> None:
    """An S3 upload of a checkout (`.git/config`) once crashed every course apply."""
    store = object_store(settings)
    src = s3_prefix + "src/"
    for ident in ("ok", "turns"):
        store.put(f"{src}{ident}/meta.yaml", meta(ident).encode())
        store.put(f"{src}{ident}/main.py", b"print('v1')\n")
    source = s3_source(stack, src)
    first = sync_repository(settings, source, name="s3")
    assert {e.identifier: e.status for e in first.examples} == {"ok": "new", "turns": "new"}
    store.put(f"{src}turns/main.py", b"print('v2')\n")
    store.put(f"{src}turns/.git/config", b"[core]\n\tbare = false\n")
    store.put(f"{src}turns/.git/HEAD", b"ref: refs/heads/main\n")
    got = entries(sync_repository(settings, source, name="s3"))
    assert_invalid(got, "turns", "turns/.git", "`.git`")
    assert got["turns"]["digest"] == {e.identifier: e.digest for e in first.examples}["turns"]
    assert got["ok"]["status"] == "unchanged"
    with session_scope(make_engine(settings.database_url)) as s:
        turns = s.scalar(sa.select(Example).filter_by(identifier="turns"))
        assert turns is not None and turns.archived_at is None
        kept = load_version_files(settings, resolve_version(s, turns.id, None))
    assert kept["main.py"][1] == b"print('v1')\n"

    course = stack.devstack("git-create", unique("course-"))
    spec = {
        "course": {"organization": {"path": "uni", "title": "University"},
                   "family": {"path": "prog", "title": "Programming"}, "path": "py",
                   "title": "Python"},
        "exampleRepositories": ["s3"], "assignments": {"url": course},
        "contentTypes": [{"slug": "assignment", "kind": "assignment", "title": "Assignment"}],
        "contents": [{"path": p, "type": "assignment", "example": p} for p in ("ok", "turns")],
    }
    creds = git.Credentials(token=stack.git_token)
    apply_course(settings, spec, name="py", namespace="default", credentials=creds)
    reader = pygit2.clone_repository(course, str(settings.cache_dir / "reader"), bare=True,
                                     callbacks=pygit2.RemoteCallbacks(
                                         credentials=pygit2.UserPass("oauth2", stack.git_token)))
    files = {p: git.read_blob(reader, e.id)
             for p, e in git.walk(reader, reader.revparse_single("main").peel(pygit2.Tree))}
    assert files["turns/main.py"] == b"print('v1')\n"
    assert not any(".git/" in p for p in files)


def test_validate_judges_a_local_tree_like_the_git_source(settings: Settings,
                                                           remote: RawRemote,
                                                           tmp_path: Path) -> None:
    """`exlib validate DIR` and a Git sync give the same verdicts for the same content;
    a checkout's own `.git` directory is not content (Git never commits it)."""
    root = tmp_path / "lib"
    cases: Raw = {k: v for k, v in HOSTILE.items()
                  if k not in (b"dotgit", b"dotdot", b"dot", b"slash", b"dupe")}
    cases[b"checkout"] = example("checkout", {b".git": {b"config": b"[core]\n"}})

    chains: list[list[bytes]] = []  # the Deep directories, to remove them level by level

    def write(where: bytes, tree: Raw) -> None:
        os.makedirs(where, exist_ok=True)
        for name, value in tree.items():
            path = os.path.join(where, name)
            if isinstance(value, Deep):
                chains.append([path])
                os.mkdir(path)
                for _ in range(value.depth - 1):  # os.makedirs recurses per level
                    path = os.path.join(path, b"d")
                    os.mkdir(path)
                    chains[-1].append(path)
                write(path, value.leaf)
            elif isinstance(value, dict):
                write(path, value)
            elif isinstance(value, tuple):
                os.symlink(value[1], path)
            else:
                with open(path, "wb") as f:
                    f.write(value)

    try:
        write(bytes(root), cases)
        env = {"EXLIB_MAX_EXAMPLE_FILES": "100", "EXLIB_MAX_EXAMPLE_BYTES": "10000"}
        res = exlib("validate", str(root), "-o", "json", env=env)
        assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr
        local = {e["directory"]: e for e in json.loads(res.stdout)["examples"]}
        assert local["checkout"]["errors"] == [] and local["good"]["errors"] == []
        table = exlib("validate", str(root), env=env)
        assert table.returncode == 1 and "Traceback" not in table.stderr
        assert "caf\\xe9.txt" in table.stdout
    finally:  # pytest's clean-up (shutil.rmtree) recurses per level: unwind the chains
        for chain in chains:
            shutil.rmtree(chain[-1])
            for d in reversed(chain[:-1]):
                os.rmdir(d)
    del cases[b"checkout"]
    remote.commit(cases)
    settings = replace(settings, limits=ExampleLimits(max_files=100, max_bytes=10_000))
    synced = entries(sync_repository(settings, remote.source(), name="same"))
    assert {d: sorted(e["errors"]) for d, e in synced.items()} == {
        d: sorted(e["errors"]) for d, e in local.items() if d != "checkout"}
