"""Sync execution, as a pipeline inside one database transaction: scan (each example that
can become a new version starts uploading its files at once, while the scan goes on, and its
metadata.json waits in a temporary table) -> plan -> once every file is stored, the rows of
the published versions and their metadata.json -> commit after the last object is stored.
The operator and `exlib sync` both call `sync_repository`.

    sync_repository(settings, source, *, name, namespace="default", progress=None,
                    history=None) -> SyncReport
    remote_revision(source, settings, *, namespace, name) -> str  # cheap: ls-remote / S3
    archive_repository(settings, *, namespace, name) -> int   # ExampleRepository deleted

Raises a `controller.library.errors.SyncError` subclass when the sync cannot run (nothing
in the database is changed then); invalid examples are reported in the SyncReport instead.

Memory does not grow with the size of the files or of one example: files are read and hashed
one at a time; up to KEEP_BYTES of an example's bytes wait for the upload, the rest are read
again (and checked against their sha256) to be uploaded; requests hold at most BATCH_OBJECTS
objects and BATCH_BYTES (one larger file goes alone), and the uploader holds at most
2 x upload_workers requests and UPLOAD_BUFFER bytes.
Planning is global (duplicates, dependencies, archival), so a little is kept per example
until it is done (`plan.Summary`); what an example's and a version's rows and metadata.json
need waits in the transaction (`rows.Staging`), not in memory. Files uploaded for an example
that planning then rejects (duplicate identifier, broken dependency) have no metadata.json
and no row: incomplete, never served.
See docs/library-sync.md.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from controller.config import ExampleLimits, Settings
from controller.library import layout, rows
from controller.library.digest import FileRecord, sha256
from controller.library.errors import (
    DatabaseUnavailable,
    SourceUnreachable,
    StorageUnavailable,
    SyncRunning,
)
from controller.library.plan import Decision, Known, Summary, Unchanged, may_publish, plan
from controller.library.report import ExampleReport, SyncReport, SyncStatus
from controller.library.scan import Found, Ignore, Scanned, discover, read_example
from controller.library.source import Snapshot, SourceSpec
from controller.library.source_dir import DirSnapshot
from controller.library.source_git import GitSource, check_url
from controller.library.source_s3 import S3Snapshot, s3_revision
from controller.phases import Phases
from controller.store.db import database_errors_as, session_scope, shared_engine
from controller.store.db.library import ExampleRepository
from controller.store.db.locks import LockBusy, LockKind, advisory_lock, repository_key
from controller.store.objects import (
    ARCHIVE_BYTES,
    ARCHIVE_OBJECTS,
    Object,
    ObjectStore,
    object_store,
    storage_errors_as,
)
from controller.tenancy import Visibility
from controller.testing import killpoints
from controller.timeouts import DEFAULT_TIMEOUT

#: progress(phase, done, total): phase is "fetch", "scan" (examples read), "upload"
#: (versions whose files are queued for upload, while scanning) or "write" (versions
#: completed with their metadata.json and database rows, after planning).
SyncProgress = Callable[[str, int, int | None], None]

#: Bytes of file content in upload requests at most (one larger request still goes alone).
UPLOAD_BUFFER = 32 * 1024 * 1024
#: Objects and bytes per upload request when the store takes batches (MinIO).
BATCH_OBJECTS, BATCH_BYTES = ARCHIVE_OBJECTS, ARCHIVE_BYTES
#: File bytes of one example kept from hashing to upload; the rest are read again, so a
#: large example never sits in memory whole.
KEEP_BYTES = 8 * 1024 * 1024


def _no_progress(_phase: str, _done: int, _total: int | None) -> None:
    return None


def remote_revision(source: SourceSpec, settings: Settings, *, namespace: str,
                    name: str) -> str:
    """The revision a sync would see now, without fetching: compare with the last sync's."""
    if source.kind == "git":
        return GitSource(source, settings, namespace=namespace, name=name).remote_revision()
    if source.kind == "s3":
        return s3_revision(source)
    return DirSnapshot(source).revision


def scan(snapshot: Snapshot, ignore: Ignore, limits: ExampleLimits, known: dict[str, Known],
         progress: SyncProgress = _no_progress,
         read: Callable[[Found], Summary] | None = None
         ) -> list[Scanned | Summary | Unchanged]:
    """Read every example, skipping those whose fingerprint equals their latest version's.

    `read` replaces `read_example` (the sync's reads also start uploads).
    """
    by_fp = {k.fingerprint: k for k in known.values()
             if k.fingerprint and not k.archived and k.latest is not None}
    items: list[Scanned | Summary | Unchanged] = []
    for found in discover(snapshot, ignore, limits, by_fp.__contains__):
        hit = by_fp.get(found.fingerprint) if found.inside is None else None
        if hit:
            items.append(Unchanged(found.directory, hit))
        elif read is not None:
            items.append(read(found))
        else:
            items.append(read_example(snapshot, found, ignore, limits))
        progress("scan", len(items), None)
    return items


def validate(source: SourceSpec, limits: ExampleLimits) -> list[ExampleReport]:
    """Check examples without any service (`exlib validate`): errors and warnings per example.

    A single example (meta.yaml at the root) is checked without its dependencies, which live
    elsewhere; a tree is checked as a whole, dependencies and cycles included.
    """
    snapshot = DirSnapshot(source)
    items = scan(snapshot, Ignore(source.ignore), limits, {})
    single = len(items) == 1 and items[0].found.directory == "."
    decisions = plan(items, {}, archive=False, dependencies=not single)
    return [_report_entry(d, None) for d in sorted(decisions, key=lambda d: d.directory)]


class _Batch:
    """Objects stored by one upload task (one request when the store batches)."""

    def __init__(self) -> None:
        self.objects: list[Object] = []
        self.size = 0


class _Uploader:
    """Stores objects with bounded concurrency and memory.

    `add` collects objects into batches (BATCH_OBJECTS per request when the store batches,
    else one call's objects per task) and submits full ones; submitting blocks while
    2 x workers batches or `max_bytes` of data are in flight, and raises at once after any
    upload failed, so a dead store stops the scan instead of queueing the whole repository.
    """

    def __init__(self, store: ObjectStore, workers: int, max_bytes: int) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="upload")
        self._cond = threading.Condition()
        self._max_tasks, self._max_bytes = 2 * workers, max_bytes
        self._batch_objects = BATCH_OBJECTS if store.batches else 1
        self._tasks = self._bytes = 0
        self._batch = _Batch()
        self.error: BaseException | None = None
        self.objects = self.size = 0  # stored so far

    def add(self, obj: Object) -> None:
        """Queue a (key, bytes, content type) object."""
        batch = self._batch
        batch.objects.append(obj)
        batch.size += len(obj[1])
        if len(batch.objects) >= self._batch_objects or batch.size >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Submit the batch being collected, if it holds anything."""
        batch, self._batch = self._batch, _Batch()
        if not batch.objects:
            return
        with self._cond:
            while self.error is None and self._tasks and (
                    self._tasks >= self._max_tasks or self._bytes + batch.size > self._max_bytes):
                self._cond.wait()
            if self.error is not None:
                raise self.error
            self._tasks += 1
            self._bytes += batch.size
        # No existence check: objects are content-addressed, so re-putting what an
        # interrupted sync left is harmless and saves a request per object.
        future = self._pool.submit(self._store.put_many, batch.objects)
        future.add_done_callback(lambda f: self._done(f, batch))

    def _done(self, fut: Future[None], batch: _Batch) -> None:
        error = None if fut.cancelled() else fut.exception()
        with self._cond:
            self._tasks -= 1
            self._bytes -= batch.size
            if error is not None:
                self.error = self.error or error
            elif not fut.cancelled():
                self.objects += len(batch.objects)
                self.size += batch.size
            self._cond.notify_all()
        batch.objects = []  # the bytes are stored (or lost): do not keep them

    def wait(self) -> None:
        """Submit what is collected and wait until everything is stored; raises the first
        upload failure."""
        self.flush()
        with self._cond:
            while self._tasks and self.error is None:
                self._cond.wait()
            if self.error is not None:
                raise self.error

    def close(self) -> None:
        """Stop the upload workers (after a flush, or giving up on a failed pass)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Stager:
    """Reads examples for the scan; each one that may become a new version starts uploading
    its files (the bytes just hashed; a small version's as one pack, `layout`) under its
    final prefix right away. What the rows need (and a new version's metadata.json) waits
    for planning in `staging` (the database, not memory); planning keeps a `Summary`."""

    def __init__(self, snapshot: Snapshot, ignore: Ignore, limits: ExampleLimits,
                 uploader: _Uploader, staging: rows.Staging, repo_id: uuid.UUID,
                 known: Mapping[str, Known], now: datetime, progress: SyncProgress) -> None:
        self._snapshot, self._ignore, self._limits = snapshot, ignore, limits
        self._uploader, self._staging, self._repo_id = uploader, staging, repo_id
        self._known, self._now, self._progress = known, now, progress
        self.staged = 0

    def __call__(self, found: Found) -> Summary:
        blobs: dict[str, bytes] = {}
        s = read_example(self._snapshot, found, self._ignore, self._limits, blobs, KEEP_BYTES)
        if not s.valid:
            return Summary.of(s)
        assert s.meta is not None
        version = None
        if may_publish(s, self._known):
            example_id = rows.example_id(self._repo_id, s.meta.identifier,
                                         self._known.get(s.meta.identifier))
            prefix = layout.version_prefix(self._repo_id, example_id, s.digest)
            entries = [f.as_json() for f in s.files]
            if layout.packed(entries):  # small: its files were kept from hashing
                self._uploader.add((layout.pack_key(prefix), layout.pack(
                    self._bytes(found, f, blobs) for f in s.files), "application/octet-stream"))
            else:
                for f in s.files:  # one file's bytes at a time beyond KEEP_BYTES
                    data = self._bytes(found, f, blobs)
                    self._uploader.add((layout.file_key(prefix, f.path), data,
                                        "application/octet-stream"))
                    del data
            metadata = {"repository_id": str(self._repo_id), "example_id": str(example_id),
                        "identifier": s.meta.identifier, "directory": found.directory,
                        "tag": s.meta.version, "version_raw": s.meta.version_raw,
                        "digest": s.digest, "tree_id": found.tree_id, "meta": s.meta.data,
                        "files": entries,
                        "source_revision": self._snapshot.revision,
                        "synced_at": self._now.isoformat()}
            version = (json.dumps(metadata, sort_keys=True),
                       (str(i) for i in s.issues if not i.is_error))
            self.staged += 1
            self._progress("upload", self.staged, None)
        self._staging.add(found.directory, found.fingerprint, s.meta, version)
        return Summary.of(s)

    def _bytes(self, found: Found, f: FileRecord, blobs: dict[str, bytes]) -> bytes:
        """A file's bytes for upload: kept from hashing, or read again, and then exactly what
        was hashed, or the sync stops (an S3 object or a local file changed meanwhile; the
        next sync reads it afresh)."""
        data = blobs.pop(f.path, None)
        if data is not None:
            return data
        data = self._snapshot.read(f.handle)
        if sha256(data) != f.sha256:
            where = f.path if found.directory == "." else f"{found.directory}/{f.path}"
            raise SourceUnreachable(f"{where} changed while the sync was reading it; the next "
                                    "sync reads it again")
        return data


def _report_entry(d: Decision, repository_id: uuid.UUID | None) -> ExampleReport:
    """One example's report line; without a repository (`validate`) no ids."""
    known_or_new = d.known is not None or d.status == SyncStatus.NEW
    eid = (rows.example_id(repository_id, d.identifier, d.known)
           if repository_id is not None and d.identifier and known_or_new else None)
    return ExampleReport(d.identifier, d.directory, str(eid) if eid else None, d.status,
                         d.tag, d.digest, d.errors, d.warnings)


def _into_report(decisions: list[Decision], repository_id: uuid.UUID) -> list[ExampleReport]:
    """The report's entries, sorted, replacing each decision in place (the decisions are
    done with; both at once would double the memory per example)."""
    entries: list[Any] = decisions
    for i, d in enumerate(decisions):
        entries[i] = _report_entry(d, repository_id)
    entries.sort(key=lambda e: (e.directory, e.status))
    return entries


def _complete(todo: list[Decision], uploader: _Uploader, writer: rows.Writer,
              repository_id: uuid.UUID, progress: SyncProgress,
              lap: Callable[[str], None]) -> None:
    """Once every file is stored, write the published versions' rows and store their
    metadata.json; returns when every object is stored. Files of examples planning rejected
    stay without metadata.json and rows: incomplete, never served."""
    uploader.wait()
    lap("upload")
    published = ((d, layout.version_prefix(repository_id, writer.example_id(d),
                                            d.scanned.digest))
                 for d in todo if d.scanned is not None)
    for n, (prefix, metadata) in enumerate(writer.add_versions(published), 1):
        killpoints.reach(killpoints.SYNC_BEFORE_METADATA)
        uploader.add((layout.metadata_key(prefix), metadata, "application/json"))
        progress("write", n, len(todo))
    lap("rows")
    uploader.wait()
    lap("upload")


@dataclasses.dataclass
class _Sync:
    """What every pass of one sync shares: where it reads and writes, and what it reports."""

    settings: Settings
    source: SourceSpec
    store: ObjectStore
    engine: sa.Engine
    repo: ExampleRepository
    report: SyncReport
    progress: SyncProgress


def _sync_snapshot(sync: _Sync, snapshot: Snapshot, *, tag: str | None = None) -> None:
    """In one transaction: scan one snapshot while uploading its new versions' files, plan,
    then write the published versions' rows and metadata.json.

    `tag`: the snapshot is that tag's tree, imported as versions only (no archiving, no
    report lines: one entry in `report.history`)."""
    history = tag is not None
    settings, repo, report, progress = sync.settings, sync.repo, sync.report, sync.progress
    ignore = Ignore(sync.source.ignore)
    now = datetime.now(UTC)
    uploader = _Uploader(sync.store, settings.upload_workers, UPLOAD_BUFFER)
    try:
        with database_errors_as(DatabaseUnavailable), session_scope(sync.engine) as session:
            known = rows.load_known(session, repo.id)
            report.phases.lap("load")
            staging = rows.Staging(session)
            stager = _Stager(snapshot, ignore, settings.limits, uploader, staging, repo.id,
                             known, now, progress)
            with storage_errors_as(StorageUnavailable):
                items = scan(snapshot, ignore, settings.limits, {} if history else known,
                             progress, read=stager)
                uploader.flush()
            report.phases.lap("scan")
            decisions = plan(items, known, archive=not history)
            del items, known, stager
            todo = [d for d in decisions if d.publish]
            report.phases.lap("plan")
            session.add(repo)
            writer = rows.Writer(session, repo, staging, now, history=history)
            writer.add_examples(decisions)
            with storage_errors_as(StorageUnavailable):
                _complete(todo, uploader, writer, repo.id, progress, report.phases.lap)
            published = len(todo)
            del todo
            report.uploaded_versions += published
            report.uploaded_objects += uploader.objects
            report.uploaded_bytes += uploader.size
            if tag is not None:
                report.history.append({
                    "tag": tag, "revision": snapshot.revision, "versions": published,
                    "invalid": [{"directory": d.directory, "errors": d.errors}
                                for d in decisions if d.status == SyncStatus.INVALID]})
            else:
                report.examples = _into_report(decisions, repo.id)
            del decisions
            report.finished_at = datetime.now(UTC)
            writer.finish(report)  # committed when the block ends
            killpoints.reach(killpoints.SYNC_BEFORE_ROWS)
        report.phases.lap("rows")
    finally:
        uploader.close()


def _open(source: SourceSpec, settings: Settings, namespace: str, name: str
          ) -> tuple[Snapshot, GitSource | None]:
    if source.kind == "git":
        git = GitSource(source, settings, namespace=namespace, name=name)
        git.fetch()
        return git.snapshot(), git
    if source.kind == "s3":
        return S3Snapshot(source), None
    if source.kind == "dir":
        return DirSnapshot(source), None
    raise SourceUnreachable(f"unknown source kind `{source.kind}`")


@contextmanager
def _one_sync(settings: Settings, namespace: str, name: str, wait: float,
              on_wait: Callable[[], None] | None, timeout: float) -> Iterator[sa.Engine]:
    """A database engine (statements bounded by `timeout`), holding the repository's lock
    for the block: two syncs never plan from the same state and then both insert what they
    found new (the operator and `exlib sync` may race)."""
    engine = shared_engine(settings.database_url, timeout)
    key = repository_key(namespace, name)
    try:
        with (database_errors_as(DatabaseUnavailable),
              advisory_lock(engine, LockKind.REPOSITORY, key, wait=wait, on_wait=on_wait)):
            yield engine
    except LockBusy as err:
        waited = f" and did not finish within {wait:g} s" if wait else ""
        raise SyncRunning(f"a sync of {key} is running (another `exlib sync` or "
                          f"the operator){waited}; nothing was changed") from err


def sync_repository(settings: Settings, source: SourceSpec, *, name: str,
                    namespace: str = "default", progress: SyncProgress | None = None,
                    history: str | None = None, visibility: Visibility | None = None,
                    info: rows.RepositoryInfo | None = None, wait: float = 0.0,
                    on_wait: Callable[[], None] | None = None) -> SyncReport:
    """Sync one repository into the library and return what happened to every example.

    One sync of a repository runs at a time: when another holds it, `on_wait()` is called
    and this one waits up to `wait` seconds, then raises SyncRunning.

    `visibility` is recorded on the repository, so courses in other namespaces are refused
    or allowed by the same rule wherever they are planned; None keeps what is stored (a new
    repository is private). `info` (title, description, organization) likewise.

    `history="tags:<glob>"` (Git only) first imports the tree of every matching tag as a
    version, so releases made before the library existed can be pinned.
    """
    if source.kind == "git":
        check_url(source.url)  # before the URL is stored in the repository row
    progress = progress or _no_progress
    started = datetime.now(UTC)
    phases = Phases()
    store = object_store(settings, source.timeout)
    with _one_sync(settings, namespace, name, wait, on_wait, source.timeout) as engine:
        phases.lap("lock")
        with database_errors_as(DatabaseUnavailable), session_scope(engine) as session:
            repo = rows.repository(session, namespace, name, source, visibility, info)
        progress("fetch", 0, None)
        snapshot, git = _open(source, settings, namespace, name)
        with storage_errors_as(StorageUnavailable):
            store.ensure_bucket()
        phases.lap("fetch")
        report = SyncReport(repo.id, name, namespace, snapshot.revision, started, started, [],
                            phases=phases)
        sync = _Sync(settings, source, store, engine, repo, report, progress)
        if history:
            _import_history(sync, history, git)
        _sync_snapshot(sync, snapshot)
        return report


def _import_history(sync: _Sync, history: str, git: GitSource | None) -> None:
    """Import the tree of every tag matching `history` (`tags:<glob>`) as versions; each
    tag's outcome goes to `sync.report.history`."""
    kind, _, pattern = history.partition(":")
    if kind != "tags" or not pattern:
        raise SourceUnreachable(f"history `{history}` is not understood; write `tags:<glob>`, "
                                "e.g. `tags:v*`")
    if git is None:
        raise SourceUnreachable("history import needs a Git source (`--git URL`)")
    for tag in git.tags(pattern):
        _sync_snapshot(sync, git.snapshot(tag), tag=tag)


def archive_repository(settings: Settings, *, namespace: str, name: str,
                       wait: float = 60.0) -> int:
    """The ExampleRepository (namespace, name) was deleted: archive its examples (soft).

    Sets archived_at on every live example of the repository and returns how many; the
    rows and every version stay, so courses keep the versions they pinned and deployed
    directories can still be loaded. A repository the database does not know is a no-op
    (0). A later sync under the same name brings the examples it finds back to life.
    Waits up to `wait` seconds for a running sync of it (which would bring the examples back
    to life), then raises SyncRunning; raises DatabaseUnavailable when PostgreSQL cannot be
    reached.
    """
    with (_one_sync(settings, namespace, name, wait, None, DEFAULT_TIMEOUT) as engine,
          session_scope(engine) as session):
        return rows.archive_examples(session, namespace, name, datetime.now(UTC))
