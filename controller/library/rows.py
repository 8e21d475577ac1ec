"""Reading the library's state for planning and writing a sync's decisions, in batches.

Three queries load everything planning needs for a repository (examples, version tags and
digests, the latest versions' dependencies and warnings); one transaction writes the result,
streamed in batches (`Writer`) so memory does not grow with the number of new versions.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, aliased

from controller.library.plan import Decision, Known, KnownVersion
from controller.library.report import SyncReport, SyncStatus
from controller.library.source import SourceSpec
from controller.meta import Dependency, ExampleMeta
from controller.store.db.library import (
    Example,
    ExampleDependency,
    ExampleRepository,
    ExampleVersion,
    Organization,
    SyncResult,
    TextArray,
)
from controller.tenancy import Visibility

KEEP_SYNC_RESULTS = 20


@dataclass(frozen=True)
class RepositoryInfo:
    """What an ExampleRepository says about itself for people browsing the library
    (`exlib examples list`): its spec's `title`, `description` and `organization` (an
    organization path such as `tugraz`). None: the spec does not say."""

    title: str | None = None
    description: str | None = None
    organization: str | None = None


def repository(session: Session, namespace: str, name: str, source: SourceSpec,
               visibility: Visibility | None = None,
               info: RepositoryInfo | None = None) -> ExampleRepository:
    """The repository row for (namespace, name), created (private) on first sync.

    `visibility` None keeps what is stored, so an `exlib sync` without `--visibility` never
    opens up, nor closes, a repository whose visibility its ExampleRepository set; `info`
    None keeps the stored title, description and organization the same way.
    """
    row = session.scalar(sa.select(ExampleRepository).filter_by(namespace=namespace, name=name))
    if row is None:
        row = ExampleRepository(id=uuid.uuid4(), namespace=namespace, name=name,
                                source_kind=source.kind, source_url=source.describe(),
                                visibility=Visibility().kind, allowed_namespaces=[])
        session.add(row)
    row.source_kind, row.source_url = source.kind, source.describe()
    row.ref, row.path = source.ref, source.path or None
    if visibility is not None:
        row.visibility, row.allowed_namespaces = visibility.kind, list(visibility.allowed)
    if info is not None:
        row.title, row.description = info.title, info.description
        row.organization_id = (_organization_id(session, info.organization)
                               if info.organization else None)
    session.flush()
    return row


def _organization_id(session: Session, path: str) -> uuid.UUID:
    """The organization row at `path`, created when missing (its title is left to the
    courses that name one); concurrent syncs naming a new organization make one row."""
    session.execute(pg_insert(Organization).values(id=uuid.uuid4(), path=path)
                    .on_conflict_do_nothing(index_elements=[Organization.path]))
    return session.scalars(sa.select(Organization.id).where(Organization.path == path)).one()


def load_known(session: Session, repository_id: uuid.UUID) -> dict[str, Known]:
    """Every example of the repository as the planner needs it, with its versions."""
    examples = session.execute(
        sa.select(Example.id, Example.identifier, Example.directory, Example.source_fingerprint,
                  Example.archived_at, Example.latest_version_id)
        .where(Example.repository_id == repository_id)).all()
    versions: dict[uuid.UUID, list[KnownVersion]] = {}
    for vid, eid, tag, digest in session.execute(
            sa.select(ExampleVersion.id, ExampleVersion.example_id, ExampleVersion.tag,
                      ExampleVersion.digest)
            .join(Example, Example.id == ExampleVersion.example_id)
            .where(Example.repository_id == repository_id)):
        versions.setdefault(eid, []).append(KnownVersion(vid, tag, digest))
    target = aliased(Example)
    deps: dict[uuid.UUID, list[Dependency]] = {}
    for vid, ident, constraint in session.execute(
            sa.select(ExampleDependency.example_version_id, target.identifier,
                      ExampleDependency.constraint)
            .join(Example, Example.latest_version_id == ExampleDependency.example_version_id)
            .join(target, target.id == ExampleDependency.depends_id)
            .where(Example.repository_id == repository_id)):
        deps.setdefault(vid, []).append(Dependency(ident, constraint))
    warnings = dict(session.execute(
        sa.select(ExampleVersion.id, ExampleVersion.warnings)
        .join(Example, Example.latest_version_id == ExampleVersion.id)
        .where(Example.repository_id == repository_id, ExampleVersion.warnings != [])).all())
    known = {}
    for eid, ident, directory, fp, archived_at, latest_id in examples:
        vs = tuple(versions.get(eid, ()))
        latest = next((v for v in vs if v.id == latest_id), None)
        known[ident] = Known(eid, ident, directory, fp, archived_at is not None, latest, vs,
                             tuple(deps.get(latest_id, ())),
                             tuple(warnings.get(latest_id, ())))
    return known


BATCH = 1000  # rows per INSERT / UPDATE statement


#: Per-version state that waits for planning, kept in the sync's transaction instead of in
#: memory, so memory does not grow with the number of new versions: metadata.json exactly as
#: it will be stored, and the version row's fields that are not in it.
_TEMP = sa.MetaData()
_STAGED = sa.Table(
    "sync_staged", _TEMP,
    sa.Column("directory", sa.Text, primary_key=True),
    sa.Column("metadata", sa.Text, nullable=False),
    sa.Column("student_submission_files", TextArray, nullable=False),
    sa.Column("additional_files", TextArray, nullable=False),
    sa.Column("test_files", TextArray, nullable=False),
    sa.Column("student_templates", TextArray, nullable=False),
    sa.Column("warnings", TextArray, nullable=False),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
#: The staged versions planning published: where they are stored, under which ids.
_PUBLISHED = sa.Table(
    "sync_published", _TEMP,
    sa.Column("directory", sa.Text, primary_key=True),
    sa.Column("version_id", sa.Uuid, nullable=False),
    sa.Column("example_id", sa.Uuid, nullable=False),
    sa.Column("storage_prefix", sa.Text, nullable=False),
    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")

# Each metadata.json is parsed once (a materialised CTE), not once per field taken from it.
_INSERT_VERSIONS = sa.text("""
WITH parsed AS MATERIALIZED (
    SELECT p.version_id, p.example_id, p.storage_prefix, s.metadata::jsonb AS m,
           s.student_submission_files, s.additional_files, s.test_files,
           s.student_templates, s.warnings
    FROM sync_published p JOIN sync_staged s USING (directory))
INSERT INTO example_version (id, example_id, tag, version_raw, digest, tree_id,
    storage_prefix, meta, files, student_submission_files, additional_files, test_files,
    student_templates, warnings, source_revision, created_at)
SELECT version_id, example_id, m->>'tag', m->>'version_raw', m->>'digest', m->>'tree_id',
    storage_prefix, m->'meta', m->'files', student_submission_files, additional_files,
    test_files, student_templates, to_jsonb(warnings), m->>'source_revision', :now
FROM parsed""")


class Staging:
    """Staged versions of one pass, in temporary tables of the caller's transaction (dropped
    when it ends): `add` while scanning, `mark` what planning kept, then `publish`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._rows: list[dict[str, Any]] = []
        self._published: list[dict[str, Any]] = []
        conn = session.connection()
        _STAGED.create(conn)
        _PUBLISHED.create(conn)

    def add(self, directory: str, metadata: str, meta: ExampleMeta,
            warnings: Iterable[str]) -> None:
        """A version that may be published: its metadata.json text and its row's fields."""
        self._rows.append({"directory": directory, "metadata": metadata,
                           "student_submission_files": list(meta.student_submission_files),
                           "additional_files": list(meta.additional_files),
                           "test_files": list(meta.test_files),
                           "student_templates": list(meta.student_templates),
                           "warnings": list(warnings)})
        if len(self._rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows in one statement (memory stays flat in examples)."""
        if self._rows:
            self._session.execute(sa.insert(_STAGED), self._rows)
            self._rows = []

    def mark(self, directory: str, version_id: uuid.UUID, example_id: uuid.UUID,
             prefix: str) -> None:
        """Planning published the version staged for `directory`: its ids and prefix."""
        self._published.append({"directory": directory, "version_id": version_id,
                                "example_id": example_id, "storage_prefix": prefix})
        if len(self._published) >= BATCH:
            self._session.execute(sa.insert(_PUBLISHED), self._published)
            self._published = []

    def publish(self, now: datetime) -> Iterator[tuple[str, bytes]]:
        """Write the rows of the marked versions; yields (storage prefix, metadata.json
        bytes) of each, to store."""
        self.flush()
        if self._published:
            self._session.execute(sa.insert(_PUBLISHED), self._published)
            self._published = []
        self._session.execute(_INSERT_VERSIONS, {"now": now})
        result = self._session.execute(
            sa.select(_PUBLISHED.c.storage_prefix, _STAGED.c.metadata)
            .join_from(_PUBLISHED, _STAGED, _PUBLISHED.c.directory == _STAGED.c.directory),
            execution_options={"yield_per": BATCH})
        for prefix, metadata in result:
            yield prefix, metadata.encode()


class Writer:
    """Writes one pass's decisions inside the caller's transaction, in batches.

    `insert_examples` first (versions reference their example), then `add_versions` for the
    published versions staged while scanning (`Staging`), then `finish`: example updates and
    archivals, latest versions, the repository's revision and the sync result. Nothing is
    visible to readers before the transaction commits, after every object is stored.
    """

    def __init__(self, session: Session, repo: ExampleRepository, ids: Mapping[str, uuid.UUID],
                 now: datetime, *, history: bool = False) -> None:
        self._session = session
        self._repo = repo
        self._ids = ids
        self._now = now
        self._history = history
        self._new_versions: dict[str, uuid.UUID] = {}  # identifier -> version written now

    def _fields(self, d: Decision) -> dict[str, Any]:
        meta = d.scanned.meta if d.scanned is not None else None
        assert meta is not None
        return {"directory": d.directory, "title": meta.title or None,
                "description": meta.description or None, "language": meta.language,
                "tags": list(meta.tags), "updated_at": self._now}

    @staticmethod
    def _live(d: Decision) -> bool:
        return d.status not in (SyncStatus.INVALID, SyncStatus.ARCHIVED) and d.scanned is not None \
            and d.identifier is not None

    def insert_examples(self, decisions: Iterable[Decision]) -> None:
        """Rows of the examples seen for the first time (their latest version comes later)."""
        rows: list[dict[str, Any]] = []
        for d in decisions:
            if not self._live(d) or d.known is not None:
                continue
            assert d.identifier is not None and d.scanned is not None
            row = {"id": self._ids[d.identifier], "repository_id": self._repo.id,
                   "identifier": d.identifier, "created_at": self._now, **self._fields(d)}
            if self._history:
                row["archived_at"] = self._now  # only in history: pinnable, not listed
            else:
                row["source_fingerprint"] = d.scanned.found.fingerprint
            rows.append(row)
            if len(rows) >= BATCH:
                self._session.execute(sa.insert(Example.__table__), rows)
                rows = []
        if rows:
            self._session.execute(sa.insert(Example.__table__), rows)

    def example_id(self, d: Decision) -> uuid.UUID:
        """The row id of a decided example (known once its row was written)."""
        assert d.identifier is not None
        return self._ids[d.identifier]

    def add_versions(self, staging: Staging, published: Iterable[tuple[Decision, str]]
                     ) -> Iterator[tuple[str, bytes]]:
        """Rows of the published versions `(decision, storage prefix)`, staged while scanning;
        yields (storage prefix, metadata.json bytes) of each, to store."""
        deps: list[dict[str, Any]] = []  # written after the versions they belong to
        for d, prefix in published:
            assert d.identifier is not None and d.scanned is not None and d.scanned.meta
            version_id, example_id = uuid.uuid4(), self.example_id(d)
            self._new_versions[d.identifier] = version_id
            staging.mark(d.directory, version_id, example_id, prefix)
            deps += [{"id": uuid.uuid4(), "example_version_id": version_id,
                      "example_id": example_id, "depends_id": self._ids[dep.identifier],
                      "constraint": dep.constraint} for dep in d.scanned.meta.dependencies]
        yield from staging.publish(self._now)
        for start in range(0, len(deps), BATCH):
            self._session.execute(sa.insert(ExampleDependency.__table__), deps[start:start + BATCH])

    def finish(self, decisions: Iterable[Decision], report: SyncReport) -> None:
        """Everything after the versions; sets `report.versions` (versions stored in total)."""
        updates, first = self._example_changes(decisions)
        self._set_first_versions(first)
        self._update_examples(updates)
        report.versions = count_versions(self._session, self._repo.id)
        if not self._history:
            self._record_result(report)

    def _example_changes(self, decisions: Iterable[Decision]
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Updates of known examples (archived, or their fields and latest version), and
        the first version of each new example (`{eid, vid}`)."""
        now = self._now
        updates: list[dict[str, Any]] = []
        first: list[dict[str, Any]] = []
        for d in decisions:
            if d.status == SyncStatus.ARCHIVED:
                assert d.known is not None
                updates.append({"id": d.known.id, "archived_at": now, "updated_at": now})
                continue
            if not self._live(d) or self._history:  # history only adds versions
                continue
            assert d.identifier is not None and d.scanned is not None
            version_id = self._new_versions.get(d.identifier)
            if version_id is None and d.known is not None:
                existing = d.known.version(digest=d.scanned.digest)
                version_id = existing.id if existing else None
            if d.known is None:
                if version_id is not None:
                    first.append({"eid": self._ids[d.identifier], "vid": version_id})
            else:
                updates.append({"id": d.known.id, **self._fields(d),
                                "latest_version_id": version_id, "archived_at": None,
                                "source_fingerprint": d.scanned.found.fingerprint})
        return updates, first

    def _set_first_versions(self, first: list[dict[str, Any]]) -> None:
        """New examples' latest_version_id, in one UPDATE ... FROM VALUES per BATCH."""
        for start in range(0, len(first), BATCH):
            data = sa.values(sa.column("eid", sa.Uuid), sa.column("vid", sa.Uuid),
                             name="latest").data([(r["eid"], r["vid"])
                                                  for r in first[start:start + BATCH]])
            self._session.execute(
                sa.update(Example).where(Example.id == data.c.eid)
                .values(latest_version_id=data.c.vid)
                .execution_options(synchronize_session=False))

    def _update_examples(self, updates: list[dict[str, Any]]) -> None:
        """Known examples' updates: one executemany per shape of update."""
        groups: dict[frozenset[str], list[dict[str, Any]]] = {}
        for u in updates:
            groups.setdefault(frozenset(u), []).append(u)
        for rows in groups.values():
            for start in range(0, len(rows), BATCH):
                self._session.execute(sa.update(Example), rows[start:start + BATCH])

    def _record_result(self, report: SyncReport) -> None:
        """The repository's last synced revision, and this sync's result (the newest
        KEEP_SYNC_RESULTS are kept)."""
        repo = self._repo
        repo.last_synced_revision, repo.last_synced_at = report.revision, self._now
        self._session.add(SyncResult(
            id=uuid.uuid4(), repository_id=repo.id, revision=report.revision,
            started_at=report.started_at, finished_at=report.finished_at,
            counts=report.counts,
            examples=[asdict(e) for e in report.examples if e.errors or e.warnings]))
        old = sa.select(SyncResult.id).where(SyncResult.repository_id == repo.id) \
            .order_by(SyncResult.finished_at.desc()).offset(KEEP_SYNC_RESULTS - 1)
        self._session.execute(sa.delete(SyncResult).where(SyncResult.id.in_(old)))


def count_versions(session: Session, repository_id: uuid.UUID) -> int:
    """How many versions of the repository's examples are stored (archived ones included)."""
    return session.scalar(
        sa.select(sa.func.count()).select_from(ExampleVersion)
        .join(Example, Example.id == ExampleVersion.example_id)
        .where(Example.repository_id == repository_id)) or 0


def archive_examples(session: Session, namespace: str, name: str, now: datetime) -> int:
    """Set archived_at on the live examples of repository (namespace, name); rows and versions
    stay. Returns how many were archived (0 when the repository is unknown)."""
    repo_id = sa.select(ExampleRepository.id).filter_by(namespace=namespace, name=name) \
        .scalar_subquery()
    result = session.execute(
        sa.update(Example)
        .where(Example.repository_id == repo_id, Example.archived_at.is_(None))
        .values(archived_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0
