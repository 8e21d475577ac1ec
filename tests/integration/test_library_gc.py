"""`exlib gc` on real MinIO and PostgreSQL: objects no version row references are removed
once older than the grace period; referenced and young ones stay; `--dry-run` removes
nothing; a repository whose sync is running is left alone.

Each test uses a bucket of its own: gc looks at the whole bucket, and the shared bucket
holds other tests' libraries, which this test's database does not know.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from controller.config import Settings
from controller.library.gc import collect_garbage
from controller.library.source import SourceSpec
from controller.library.sync import sync_repository
from controller.library.versions import load_version_files
from controller.store.db import make_engine, session_scope
from controller.store.db.library import ExampleVersion
from controller.store.db.locks import LockKind, advisory_lock, repository_key
from controller.store.objects import ObjectStore, object_store
from tests.conftest import Stack, unique
from tests.integration.library_support import exlib, meta

LATER = timedelta(hours=25)  # past the default grace period of 24 h


@pytest.fixture
def own_bucket(settings: Settings) -> Iterator[Settings]:
    """The settings with a fresh bucket, emptied and removed afterwards."""
    mine = replace(settings, s3_bucket=unique("gc-"))
    store = object_store(mine)
    store.ensure_bucket()
    yield mine
    store.delete_many([o.key for o in store.list("")])
    store._client.remove_bucket(mine.s3_bucket)


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def library(settings: Settings, tmp: Path) -> dict[str, int]:
    """Sync a library of two good examples and two directories sharing an identifier:
    planning rejects both after their files were uploaded. Returns key -> size of every
    object a version row references."""
    root = write(tmp / "lib", {
        "a/meta.yaml": meta("alpha"), "a/main.py": "a = 1\n",
        "b/meta.yaml": meta("beta"), "b/main.py": "b = 2\n",
        "dup1/meta.yaml": meta("twin"), "dup1/main.py": "left = 1\n",
        "dup2/meta.yaml": meta("twin"), "dup2/main.py": "right = 2\n"})
    report = sync_repository(settings, SourceSpec("dir", str(root)), name="lib")
    assert {e.identifier: e.status for e in report.examples}["twin"] == "invalid"
    store = object_store(settings)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        prefixes = set(session.scalars(sa.select(ExampleVersion.storage_prefix)))
    engine.dispose()
    assert len(prefixes) == 2
    return {o.key: o.size for o in store.list("") if any(o.key.startswith(p) for p in prefixes)}


def keys(store: ObjectStore) -> dict[str, int]:
    return {o.key: o.size for o in store.list("")}


def readable(settings: Settings) -> int:
    """Every version's files load (sha256 checked): nothing referenced was removed."""
    store = object_store(settings)
    engine = make_engine(settings.database_url)
    with session_scope(engine) as session:
        versions = session.scalars(sa.select(ExampleVersion)).all()
        for v in versions:
            assert load_version_files(store, v)
    engine.dispose()
    return len(versions)


def test_unreferenced_objects_past_grace_are_removed_referenced_and_young_kept(
        own_bucket: Settings, tmp_path: Path) -> None:
    referenced = library(own_bucket, tmp_path)
    store = object_store(own_bucket)
    stray = f"repositories/{uuid.uuid4()}/{uuid.uuid4()}/{'0' * 64}/files/left.py"
    store.put(stray, b"from a repository the database no longer knows\n")
    other = "exports/not-a-library-object.txt"  # another layout: never touched
    store.put(other, b"keep me\n")
    before = keys(store)
    orphans = {k: s for k, s in before.items() if k not in referenced and k != other}
    assert len(orphans) == 3  # twin x2 (files.pack: small versions) + the stray object

    young = collect_garbage(own_bucket)  # default grace 24 h: everything is young
    assert (young.objects, keys(store)) == (0, before)
    assert sum(c.young for c in young.repositories) == len(orphans)

    dry = collect_garbage(own_bucket, dry_run=True, now=datetime.now(UTC) + LATER)
    assert (dry.objects, dry.bytes) == (len(orphans), sum(orphans.values()))
    assert keys(store) == before  # a dry run removes nothing

    done = collect_garbage(own_bucket, now=datetime.now(UTC) + LATER)
    assert done.to_dict()["removed"] == dry.to_dict()["removed"]
    assert done.to_dict()["removed"]["versions"] == 3  # two twins, one stray version
    assert keys(store) == {**referenced, other: before[other]}
    assert readable(own_bucket) == 2
    by_repo = {c.repository: c for c in done.repositories}
    assert by_repo["default/lib"].objects == len(orphans) - 1
    assert by_repo[None].objects == 1
    again = collect_garbage(own_bucket, now=datetime.now(UTC) + LATER)
    assert again.objects == 0


def test_a_repository_whose_sync_is_running_is_left_alone(own_bucket: Settings,
                                                          tmp_path: Path) -> None:
    library(own_bucket, tmp_path)
    store = object_store(own_bucket)
    before = keys(store)
    engine = make_engine(own_bucket.database_url)
    try:
        with advisory_lock(engine, LockKind.REPOSITORY, repository_key("default", "lib"),
                           wait=0):  # a sync holds it
            report = collect_garbage(own_bucket, wait=0, now=datetime.now(UTC) + LATER)
    finally:
        engine.dispose()
    (entry,) = report.repositories
    assert entry.skipped and "a sync of default/lib is running" in entry.skipped
    assert report.objects == 0 and keys(store) == before


def test_an_orphan_a_sync_records_while_gc_waits_for_its_lock_is_kept(
        own_bucket: Settings, tmp_path: Path) -> None:
    """gc lists an old orphan, then finds the repository's sync running; the sync ends by
    writing the version row for that prefix (it had re-uploaded the files). gc, reading the
    rows again under the lock, keeps it."""
    referenced = library(own_bucket, tmp_path)
    store = object_store(own_bucket)
    engine = make_engine(own_bucket.database_url)
    with session_scope(engine) as session:
        example = session.scalars(sa.select(ExampleVersion)).first()
        assert example is not None
        repo_prefix = example.storage_prefix.split("/", 2)[:2]
        prefix = "/".join([*repo_prefix, str(example.example_id), "f" * 64]) + "/"
    store.put(prefix + "files/main.py", b"c = 3\n")
    waiting, result = threading.Event(), {}

    def gc() -> None:
        result["report"] = collect_garbage(own_bucket, wait=60, on_wait=lambda _r: waiting.set(),
                                           now=datetime.now(UTC) + LATER)

    try:
        with advisory_lock(engine, LockKind.REPOSITORY, repository_key("default", "lib"),
                           wait=0):  # the sync runs
            worker = threading.Thread(target=gc)
            worker.start()
            assert waiting.wait(60), "gc never waited for the sync's lock"
            with session_scope(engine) as session:  # the sync's last transaction
                session.add(ExampleVersion(id=uuid.uuid4(), example_id=example.example_id,
                                           digest="f" * 64, storage_prefix=prefix, meta={},
                                           files=[]))
        worker.join(60)
        assert not worker.is_alive()
    finally:
        engine.dispose()
    report = result["report"]
    after = keys(store)
    assert prefix + "files/main.py" in after  # recorded meanwhile: kept
    assert set(referenced) <= set(after)
    # the rejected twins: 2 x files.pack (small versions)
    assert (report.objects, sum(len(c.versions) for c in report.repositories)) == (2, 2)
    assert all(not v.startswith(prefix) for c in report.repositories for v in c.versions)


def test_cli_gc_dry_run_then_gc_prints_counts_and_bytes(stack: Stack, own_bucket: Settings,
                                                        tmp_path: Path) -> None:
    referenced = library(own_bucket, tmp_path)
    store = object_store(own_bucket)
    before = keys(store)
    env = {**stack.env, "DATABASE_URL": own_bucket.database_url,
           "EXLIB_S3_BUCKET": own_bucket.s3_bucket}
    dry = exlib("gc", "--dry-run", "--grace", "0s", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would remove 2 object(s)" in dry.stdout and "dry run" in dry.stdout
    assert "default/lib" in dry.stdout
    assert keys(store) == before
    res = exlib("gc", "--grace", "0s", "-o", "json", env=env)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["removed"] == {"objects": 2, "versions": 2,
                              "bytes": sum(s for k, s in before.items() if k not in referenced)}
    assert keys(store) == referenced
    bad = exlib("gc", "--grace", "a day", env=env)
    assert bad.returncode == 1 and "--grace: 'a day' is not a duration" in bad.stderr
