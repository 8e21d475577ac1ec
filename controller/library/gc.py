"""`exlib gc`: remove library objects no version row references (docs/library-sync.md).

A sync uploads a version's files before it writes the version's row, so objects without a
row are normal while a sync runs; they stay for good when the sync was interrupted, or when
planning rejected the example after its files were uploaded (duplicate identifier, broken
dependency). Such objects are collected when

- their version prefix (`repositories/<repository>/<example>/<digest>/`) is not the
  `storage_prefix` of any version row, and
- they are older than the grace period (last-modified as the object store reports it).

Safe against a sync running at the same time: the repository row is written before a sync
uploads anything, and a sync holds its repository's advisory lock (`store.db.locks`) from
start to end. The deletion of a repository's objects happens under that lock, after reading
its version rows again, so an object a finished sync re-uploaded and recorded is kept, and
no sync uploads while it runs. When a sync holds the lock for longer than `wait`, that
repository is skipped (and reported). Objects of a repository the database does not know
cannot be written by any sync (a new repository gets a new id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from controller.config import Settings
from controller.library import layout
from controller.library.errors import DatabaseUnavailable, StorageUnavailable
from controller.store.db import database_errors_as, session_scope, shared_engine
from controller.store.db.library import ExampleRepository, ExampleVersion
from controller.store.db.locks import LockBusy, LockKind, advisory_lock, repository_key
from controller.store.objects import ObjectInfo, ObjectStore, object_store, storage_errors_as

DEFAULT_GRACE = 24 * 3600.0
DEFAULT_WAIT = 10.0


def collectable(objects: Iterable[ObjectInfo], referenced: set[str], cutoff: datetime
                ) -> Iterator[tuple[ObjectInfo, bool]]:
    """Each unreferenced object of the library's layout, with whether it is older than
    `cutoff` (an object whose age is unknown counts as young)."""
    for obj in objects:
        prefix = layout.prefix_of(obj.key)
        if prefix is None or prefix in referenced:
            continue
        yield obj, obj.modified is not None and obj.modified < cutoff


@dataclass
class Collected:
    """What gc did (or, dry, would do) under one repository id."""

    repository_id: str
    repository: str | None  # namespace/name; None: no such repository in the database
    versions: set[str] = field(default_factory=set)  # unreferenced version prefixes removed
    objects: int = 0
    bytes: int = 0
    young: int = 0  # unreferenced objects kept: younger than the grace period
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The `exlib gc -o json` form of one repository."""
        return {"repositoryId": self.repository_id, "repository": self.repository,
                "versions": len(self.versions), "objects": self.objects, "bytes": self.bytes,
                "young": self.young, "skipped": self.skipped}


@dataclass
class GcReport:
    """What one `exlib gc` did (or, dry, would do), per repository id found in the bucket."""

    dry_run: bool
    grace: float
    scanned: int = 0
    repositories: list[Collected] = field(default_factory=list)

    @property
    def objects(self) -> int:
        """Objects removed (or that would be) in all."""
        return sum(c.objects for c in self.repositories)

    @property
    def bytes(self) -> int:
        """Bytes removed (or that would be) in all."""
        return sum(c.bytes for c in self.repositories)

    def to_dict(self) -> dict[str, Any]:
        """The `exlib gc -o json` form."""
        return {"dryRun": self.dry_run, "graceSeconds": self.grace, "scanned": self.scanned,
                "removed": {"objects": self.objects, "bytes": self.bytes,
                            "versions": sum(len(c.versions) for c in self.repositories)},
                "repositories": [c.to_dict() for c in self.repositories]}


def collect_garbage(settings: Settings, *, grace: float = DEFAULT_GRACE, dry_run: bool = False,
                    wait: float = DEFAULT_WAIT, now: datetime | None = None,
                    on_wait: Callable[[str], None] | None = None) -> GcReport:
    """List the library's objects, then remove the unreferenced ones older than `grace`
    seconds, repository by repository under its sync lock (see the module docstring).
    `on_wait(repository)` is called when a sync holds a repository's lock (gc then waits up
    to `wait` seconds for it).

    Raises StorageUnavailable or DatabaseUnavailable when a server cannot be used.
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=grace)
    store = object_store(settings)
    engine = shared_engine(settings.database_url)
    report = GcReport(dry_run, grace)
    with database_errors_as(DatabaseUnavailable), session_scope(engine) as session:
        referenced = set(session.scalars(sa.select(ExampleVersion.storage_prefix)))
    found: dict[str, Collected] = {}
    doomed: dict[str, list[ObjectInfo]] = {}
    with storage_errors_as(StorageUnavailable):
        listing = _counted(store.list(layout.ROOT), report)
        for obj, old in collectable(listing, referenced, cutoff):
            repo_id = obj.key.split("/", 2)[1]
            entry = found.setdefault(repo_id, Collected(repo_id, None))
            if old:
                doomed.setdefault(repo_id, []).append(obj)
            else:
                entry.young += 1
    for repo_id, entry in sorted(found.items()):
        _collect(engine, store, entry, doomed.get(repo_id, []), dry_run, wait, on_wait)
        report.repositories.append(entry)
    return report


def _counted(objects: Iterable[ObjectInfo], report: GcReport) -> Iterator[ObjectInfo]:
    for obj in objects:
        report.scanned += 1
        yield obj


def _repository(engine: sa.Engine, repo_id: str) -> ExampleRepository | None:
    try:
        key = uuid.UUID(repo_id)
    except ValueError:
        return None  # not an id exlib made: no sync writes there
    with database_errors_as(DatabaseUnavailable), session_scope(engine) as session:
        return session.get(ExampleRepository, key)


def _collect(engine: sa.Engine, store: ObjectStore, entry: Collected,
             candidates: list[ObjectInfo], dry_run: bool, wait: float,
             on_wait: Callable[[str], None] | None) -> None:
    """Remove `candidates` still unreferenced, holding the repository's sync lock."""
    repo = _repository(engine, entry.repository_id)
    lock: AbstractContextManager[None] = nullcontext()
    if repo is not None:
        name = entry.repository = repository_key(repo.namespace, repo.name)
        lock = advisory_lock(engine, LockKind.REPOSITORY, name, wait=wait,
                             on_wait=None if on_wait is None else lambda: on_wait(name))
    if not candidates:
        return
    try:
        with database_errors_as(DatabaseUnavailable), lock:
            with session_scope(engine) as session:
                fresh = set(session.scalars(sa.select(ExampleVersion.storage_prefix).where(
                    ExampleVersion.storage_prefix.startswith(
                        f"{layout.ROOT}{entry.repository_id}/", autoescape=True))))
            gone = [o for o in candidates if layout.prefix_of(o.key) not in fresh]
            if not dry_run:
                with storage_errors_as(StorageUnavailable):
                    store.delete_many([o.key for o in gone])
    except LockBusy:
        entry.skipped = (f"a sync of {entry.repository} is running; nothing removed here, "
                         "run gc again later")
        return
    entry.versions = {p for o in gone if (p := layout.prefix_of(o.key))}
    entry.objects = len(gone)
    entry.bytes = sum(o.size for o in gone)
