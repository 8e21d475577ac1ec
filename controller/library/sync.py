"""Sync execution: source -> scan -> plan -> upload (parallel, metadata.json last) -> one
database transaction. The operator and `exlib sync` both call `sync_repository`.

    sync_repository(settings, source, *, name, namespace="default", progress=None,
                    history=None) -> SyncReport
    remote_revision(source, settings) -> str     # cheap: ls-remote / S3 etag index digest

Raises a `controller.library.errors.SyncError` subclass when the sync cannot run (nothing
stored is changed then); invalid examples are reported in the SyncReport instead.
Memory stays flat in the number of files: blobs are hashed and dropped while scanning, and
re-read for upload with at most 2 x upload_workers versions in flight.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from controller.config import Settings
from controller.library import state
from controller.library.digest import sha256
from controller.library.errors import DatabaseUnavailable, SourceUnreachable, StorageUnavailable
from controller.library.plan import Decision, Known, Unchanged, plan
from controller.library.report import ExampleReport, SyncReport
from controller.library.scan import META, Ignore, Scanned, discover, read_example
from controller.library.source import Snapshot, SourceSpec
from controller.library.source_dir import DirSnapshot
from controller.library.source_git import GitSource
from controller.library.source_s3 import S3Snapshot, s3_revision
from controller.store.db import make_engine, session_scope
from controller.store.db.library import ExampleRepository
from controller.store.objects import ObjectStore, ObjectStoreError

#: progress(phase, done, total): phase is "fetch", "scan", "upload" or "write".
Progress = Callable[[str, int, int | None], None]


def _no_progress(_phase: str, _done: int, _total: int | None) -> None:
    return None


@contextmanager
def _database() -> Iterator[None]:
    try:
        yield
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as err:
        raise DatabaseUnavailable(f"PostgreSQL is unavailable: {err.orig or err}") from err
    except sa.exc.ProgrammingError as err:
        raise DatabaseUnavailable(f"the database schema is not ready ({err.orig}); run "
                                  "`exlib db upgrade`") from err


@contextmanager
def _storage() -> Iterator[None]:
    try:
        yield
    except ObjectStoreError as err:
        raise StorageUnavailable(f"the library's object store is unavailable: {err}") from err


def object_store(settings: Settings) -> ObjectStore:
    return ObjectStore(settings.s3_endpoint, settings.s3_access_key, settings.s3_secret_key,
                       settings.s3_bucket, secure=settings.s3_secure, region=settings.s3_region,
                       workers=settings.upload_workers)


def remote_revision(source: SourceSpec, settings: Settings) -> str:
    """The revision a sync would see now, without fetching: compare with the last sync's."""
    if source.kind == "git":
        return GitSource(source, settings).remote_revision()
    if source.kind == "s3":
        return s3_revision(source)
    return DirSnapshot(source).revision


def scan(snapshot: Snapshot, ignore: Ignore, limit: int, known: dict[str, Known],
         progress: Progress = _no_progress) -> list[Scanned | Unchanged]:
    """Read every example, skipping those whose fingerprint equals their latest version's."""
    by_fp = {k.fingerprint: k for k in known.values()
             if k.fingerprint and not k.archived and k.latest is not None}
    items: list[Scanned | Unchanged] = []
    for found in discover(snapshot, ignore, limit, by_fp.__contains__):
        hit = by_fp.get(found.fingerprint) if found.inside is None else None
        items.append(Unchanged(found, hit) if hit else read_example(snapshot, found, ignore,
                                                                   limit))
        progress("scan", len(items), None)
    return items


def validate(source: SourceSpec, max_file_bytes: int) -> list[ExampleReport]:
    """Check examples without any service (`exlib validate`): errors and warnings per example.

    A single example (meta.yaml at the root) is checked without its dependencies, which live
    elsewhere; a tree is checked as a whole, dependencies and cycles included.
    """
    snapshot = DirSnapshot(source)
    items = scan(snapshot, Ignore(source.ignore), max_file_bytes, {})
    single = len(items) == 1 and items[0].found.directory == "."
    decisions = plan(items, {}, archive=False, dependencies=not single)
    return [_report_entry(d, {}) for d in sorted(decisions, key=lambda d: d.directory)]


class _Uploader:
    """Writes versions with bounded concurrency; each version's metadata.json goes last."""

    def __init__(self, store: ObjectStore, workers: int) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upload")
        self._slots = threading.BoundedSemaphore(2 * workers)
        self.futures: list[Future[tuple[int, int]]] = []

    def submit(self, prefix: str, objects: list[tuple[str, bytes]], metadata: bytes) -> None:
        self._slots.acquire()
        fut = self._pool.submit(self._put, prefix, objects, metadata)
        fut.add_done_callback(lambda _f: self._slots.release())
        self.futures.append(fut)

    def _put(self, prefix: str, objects: list[tuple[str, bytes]], metadata: bytes
             ) -> tuple[int, int]:
        # No existence check: objects are content-addressed, so re-putting what an
        # interrupted sync left is harmless and saves a request per version.
        for key, data in objects:
            self._store.put(prefix + key, data)
        self._store.put(prefix + "metadata.json", metadata, "application/json")
        return len(objects) + 1, sum(len(d) for _, d in objects) + len(metadata)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _objects(snapshot: Snapshot, s: Scanned) -> list[tuple[str, bytes]] | None:
    """(object key below the version prefix, bytes), or None if the source changed meanwhile."""
    out = []
    for f in s.files:
        data = snapshot.read(f.handle)
        if sha256(data) != f.sha256:
            return None
        out.append((META if f.path == META else f"files/{f.path}", data))
    return out


def _publish(snapshot: Snapshot, store: ObjectStore, settings: Settings,
             repo: ExampleRepository, decisions: list[Decision], ids: dict[str, uuid.UUID],
             now: datetime, progress: Progress) -> tuple[dict[str, dict[str, Any]], int, int]:
    """Upload every version to publish; returns (identifier -> version row, files, bytes)."""
    todo = [d for d in decisions if d.publish]
    rows: dict[str, dict[str, Any]] = {}
    uploader = _Uploader(store, settings.upload_workers)
    try:
        for n, d in enumerate(todo, 1):
            assert d.scanned is not None and d.identifier is not None
            example_id = ids[d.identifier]
            prefix = f"repositories/{repo.id}/{example_id}/{d.scanned.digest}/"
            objects = _objects(snapshot, d.scanned)
            if objects is None:
                d.fail("", "the example changed while it was being synced; the next sync "
                           "picks it up")
                d.status = "invalid"
                continue
            row = state.version_row(d, example_id, uuid.uuid4(), prefix, snapshot.revision, now)
            metadata = {"repository_id": str(repo.id), "example_id": str(example_id),
                        "identifier": d.identifier, "directory": d.directory,
                        **{k: row[k] for k in ("tag", "version_raw", "digest", "tree_id",
                                               "meta", "files", "source_revision")},
                        "synced_at": now.isoformat()}
            uploader.submit(prefix, objects, json.dumps(metadata, sort_keys=True).encode())
            rows[d.identifier] = row
            progress("upload", n, len(todo))
        files = size = 0
        with _storage():
            for fut in uploader.futures:
                f, b = fut.result()
                files, size = files + f, size + b
    finally:
        uploader.close()
    return rows, files, size


def _ids(repository_id: uuid.UUID, decisions: list[Decision]) -> dict[str, uuid.UUID]:
    """Example id per live identifier: the stored one, or for a new example one derived from
    (repository, identifier), so a sync interrupted before its database write reuses the
    same storage prefix next time instead of orphaning objects."""
    ids: dict[str, uuid.UUID] = {}
    for d in decisions:
        if d.identifier and d.known is not None:
            ids[d.identifier] = d.known.id
        elif d.identifier and d.status == "new":
            ids[d.identifier] = uuid.uuid5(repository_id, d.identifier)
    return ids


def _report_entry(d: Decision, ids: dict[str, uuid.UUID]) -> ExampleReport:
    eid = ids.get(d.identifier or "") if d.status != "invalid" or d.known else None
    return ExampleReport(d.identifier, d.directory, str(eid) if eid else None, d.status,
                         d.tag, d.digest, d.errors, d.warnings)


def _pass(snapshot: Snapshot, store: ObjectStore, settings: Settings, engine: sa.Engine,
          repo: ExampleRepository, source: SourceSpec, report: SyncReport,
          progress: Progress, *, history: bool) -> list[Decision]:
    """Scan one snapshot, publish its new versions and write the database in one go."""
    with _database(), session_scope(engine) as session:
        known = state.load_known(session, repo.id)
    ignore = Ignore(source.ignore)
    items = scan(snapshot, ignore, settings.max_file_bytes, {} if history else known, progress)
    decisions = plan(items, known, archive=not history)
    ids = _ids(repo.id, decisions)
    now = datetime.now(UTC)
    rows, files, size = _publish(snapshot, store, settings, repo, decisions, ids, now, progress)
    report.uploaded_versions += len(rows)
    report.uploaded_files += files
    report.uploaded_bytes += size
    if not history:
        report.examples = sorted((_report_entry(d, ids) for d in decisions),
                                 key=lambda e: (e.directory, e.status))
    report.finished_at = now
    progress("write", 0, None)
    with _database(), session_scope(engine) as session:
        session.add(repo)
        state.write(session, repo, decisions, ids, rows, report, history=history)
    return decisions


def _open(source: SourceSpec, settings: Settings) -> tuple[Snapshot, GitSource | None]:
    if source.kind == "git":
        git = GitSource(source, settings)
        git.fetch()
        return git.snapshot(), git
    if source.kind == "s3":
        return S3Snapshot(source), None
    if source.kind == "dir":
        return DirSnapshot(source), None
    raise SourceUnreachable(f"unknown source kind `{source.kind}`")


def sync_repository(settings: Settings, source: SourceSpec, *, name: str,
                    namespace: str = "default", progress: Progress | None = None,
                    history: str | None = None) -> SyncReport:
    """Sync one repository into the library and return what happened to every example.

    `history="tags:<glob>"` (Git only) first imports the tree of every matching tag as a
    version, so releases made before the library existed can be pinned.
    """
    progress = progress or _no_progress
    started = datetime.now(UTC)
    engine = make_engine(settings.database_url)
    store = object_store(settings)
    try:
        with _database(), session_scope(engine) as session:
            repo = state.repository(session, namespace, name, source)
        progress("fetch", 0, None)
        snapshot, git = _open(source, settings)
        with _storage():
            store.ensure_bucket()
        report = SyncReport(repo.id, name, namespace, snapshot.revision, started, started, [])
        if history:
            _import_history(history, git, store, settings, engine, repo, source, report,
                            progress)
        _pass(snapshot, store, settings, engine, repo, source, report, progress,
              history=False)
        return report
    finally:
        engine.dispose()


def _import_history(history: str, git: GitSource | None, store: ObjectStore,
                    settings: Settings, engine: sa.Engine, repo: ExampleRepository,
                    source: SourceSpec, report: SyncReport, progress: Progress) -> None:
    kind, _, pattern = history.partition(":")
    if kind != "tags" or not pattern:
        raise SourceUnreachable(f"history `{history}` is not understood; write `tags:<glob>`, "
                                "e.g. `tags:v*`")
    if git is None:
        raise SourceUnreachable("history import needs a Git source (`--git URL`)")
    for tag in git.tags(pattern):
        snap = git.snapshot(tag)
        decisions = _pass(snap, store, settings, engine, repo, source, report, progress,
                          history=True)
        report.history.append({
            "tag": tag, "revision": snap.revision,
            "versions": sum(1 for d in decisions if d.publish),
            "invalid": [{"directory": d.directory, "errors": d.errors}
                        for d in decisions if d.status == "invalid"]})
