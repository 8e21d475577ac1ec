"""Reading the library's state for planning and writing a sync's decisions, in batches.

Three queries load everything planning needs for a repository (examples, version tags and
digests, the latest versions' dependencies and warnings); one transaction writes the result,
streamed in batches (`Writer`) so memory does not grow with the number of new versions.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
    """Every example of the repository as the planner needs it, with its versions.

    Rows are streamed (a server-side cursor), so no result set of the whole repository is
    held beside the planner's records."""
    stream = {"yield_per": BATCH}
    in_repo = Example.repository_id == repository_id
    versions: dict[uuid.UUID, list[KnownVersion]] = {}
    for eid, tag, digest in session.execute(
            sa.select(ExampleVersion.example_id, ExampleVersion.tag, ExampleVersion.digest)
            .join(Example, Example.id == ExampleVersion.example_id).where(in_repo),
            execution_options=stream):
        versions.setdefault(eid, []).append(KnownVersion(tag and sys.intern(tag), digest))
    target = aliased(Example)
    deps: dict[uuid.UUID, list[Dependency]] = {}
    for eid, ident, constraint in session.execute(
            sa.select(Example.id, target.identifier, ExampleDependency.constraint)
            .join(ExampleDependency,
                  Example.latest_version_id == ExampleDependency.example_version_id)
            .join(target, target.id == ExampleDependency.depends_id).where(in_repo)):
        deps.setdefault(eid, []).append(Dependency(ident, constraint))
    warnings = dict(session.execute(
        sa.select(Example.id, ExampleVersion.warnings)
        .join(ExampleVersion, Example.latest_version_id == ExampleVersion.id)
        .where(in_repo, ExampleVersion.warnings != [])).all())
    latest = aliased(ExampleVersion)
    known = {}
    for eid, ident, directory, fp, archived, latest_digest in session.execute(
            sa.select(Example.id, Example.identifier, Example.directory,
                      Example.source_fingerprint, Example.archived_at.is_not(None),
                      latest.digest)
            .outerjoin(latest, latest.id == Example.latest_version_id).where(in_repo),
            execution_options=stream):
        vs = tuple(versions.pop(eid, ()))
        known[ident] = Known(eid, ident, directory, fp, archived,
                             next((v for v in vs if v.digest == latest_digest), None), vs,
                             tuple(deps.get(eid, ())), tuple(warnings.get(eid, ())))
    return known


BATCH = 1000  # rows per INSERT / UPDATE statement


_TEMP = sa.MetaData()


def _temporary(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """A table of the sync's transaction, one row per example directory, dropped when the
    transaction ends."""
    return sa.Table(name, _TEMP, sa.Column("directory", sa.Text, primary_key=True), *columns,
                    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


#: What a read example's rows need, kept in the sync's transaction instead of in memory, so
#: memory does not grow with the number of examples: every valid example's fields (its
#: example row is inserted or updated from them), and for one that may become a new version
#: its metadata.json exactly as it will be stored and the version row's other fields.
_STAGED = _temporary(
    "sync_staged",
    sa.Column("fingerprint", sa.Text),
    sa.Column("title", sa.Text),
    sa.Column("description", sa.Text),
    sa.Column("language", sa.Text),
    sa.Column("tags", TextArray, nullable=False),
    sa.Column("metadata", sa.Text),
    sa.Column("student_submission_files", TextArray),
    sa.Column("additional_files", TextArray),
    sa.Column("test_files", TextArray),
    sa.Column("student_templates", TextArray),
    sa.Column("warnings", TextArray))
#: The staged versions planning published: where they are stored, under which ids.
_PUBLISHED = _temporary(
    "sync_published",
    sa.Column("version_id", sa.Uuid, nullable=False),
    sa.Column("example_id", sa.Uuid, nullable=False),
    sa.Column("storage_prefix", sa.Text, nullable=False))
#: The examples read by this pass that stay live: their rows are inserted (`new`) and
#: updated (fields, latest version) from here.
_LIVE = _temporary(
    "sync_live",
    sa.Column("example_id", sa.Uuid, nullable=False),
    sa.Column("identifier", sa.Text, nullable=False),
    sa.Column("digest", sa.Text, nullable=False),
    sa.Column("new", sa.Boolean, nullable=False))

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

_INSERT_EXAMPLES = """
INSERT INTO example (id, repository_id, identifier, created_at, updated_at, directory, title,
    description, language, tags, {extra})
SELECT l.example_id, :repository_id, l.identifier, :now, :now, s.directory, s.title,
    s.description, s.language, s.tags, {extra_values}
FROM sync_live l JOIN sync_staged s USING (directory)
WHERE l.new"""
_INSERT_NEW = sa.text(_INSERT_EXAMPLES.format(extra="source_fingerprint",
                                              extra_values="s.fingerprint"))
_INSERT_HISTORY = sa.text(_INSERT_EXAMPLES.format(extra="archived_at", extra_values=":now"))

# The latest version is the one published now or, when the content is not new, the stored
# version with the same digest (an example reverted to earlier content).
_UPDATE_LIVE = sa.text("""
UPDATE example e
SET directory = s.directory, title = s.title, description = s.description,
    language = s.language, tags = s.tags, updated_at = :now,
    source_fingerprint = s.fingerprint, archived_at = NULL,
    latest_version_id = COALESCE(p.version_id, v.id)
FROM sync_live l
JOIN sync_staged s USING (directory)
LEFT JOIN sync_published p USING (directory)
LEFT JOIN example_version v ON v.example_id = l.example_id AND v.digest = l.digest
WHERE e.id = l.example_id""")

_INSERT_DEPENDENCY = sa.text("""
INSERT INTO example_dependency (id, example_version_id, example_id, depends_id, "constraint")
SELECT :id, :version_id, :example_id, e.id, :constraint
FROM example e WHERE e.repository_id = :repository_id AND e.identifier = :identifier""")


class _Rows:
    """Rows for one table of the transaction, written BATCH at a time."""

    def __init__(self, session: Session, table: sa.Table) -> None:
        self._session, self._table = session, table
        self._rows: list[dict[str, Any]] = []

    def add(self, row: dict[str, Any]) -> None:
        self._rows.append(row)
        if len(self._rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows in one statement (memory stays flat in examples)."""
        if self._rows:
            self._session.execute(sa.insert(self._table), self._rows)
            self._rows = []


class Staging:
    """What a pass read, in temporary tables of the caller's transaction (dropped when it
    ends): `add` while scanning, `mark` what planning published, then `publish`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        conn = session.connection()
        for table in (_STAGED, _PUBLISHED, _LIVE):
            table.create(conn)
        self._staged = _Rows(session, _STAGED)
        self._published = _Rows(session, _PUBLISHED)
        self.live = _Rows(session, _LIVE)

    def add(self, directory: str, fingerprint: str | None, meta: ExampleMeta,
            version: tuple[str, Iterable[str]] | None) -> None:
        """A valid example's row fields; with `version` (its metadata.json text and
        warnings), also a version that may be published."""
        metadata, warnings = version or (None, ())
        row = {"directory": directory, "fingerprint": fingerprint,
               "title": meta.title or None, "description": meta.description or None,
               "language": meta.language, "tags": list(meta.tags), "metadata": metadata,
               "student_submission_files": None, "additional_files": None,
               "test_files": None, "student_templates": None, "warnings": None}
        if version is not None:
            row.update(student_submission_files=list(meta.student_submission_files),
                       additional_files=list(meta.additional_files),
                       test_files=list(meta.test_files),
                       student_templates=list(meta.student_templates),
                       warnings=list(warnings))
        self._staged.add(row)

    def flush(self) -> None:
        """Write what is buffered (before the rows are read back)."""
        self._staged.flush()
        self.live.flush()

    def mark(self, directory: str, version_id: uuid.UUID, example_id: uuid.UUID,
             prefix: str) -> None:
        """Planning published the version staged for `directory`: its ids and prefix."""
        self._published.add({"directory": directory, "version_id": version_id,
                             "example_id": example_id, "storage_prefix": prefix})

    def publish(self, now: datetime) -> Iterator[tuple[str, bytes]]:
        """Write the rows of the marked versions; yields (storage prefix, metadata.json
        bytes) of each, to store."""
        self.flush()
        self._published.flush()
        self._session.execute(_INSERT_VERSIONS, {"now": now})
        result = self._session.execute(
            sa.select(_PUBLISHED.c.storage_prefix, _STAGED.c.metadata)
            .join_from(_PUBLISHED, _STAGED, _PUBLISHED.c.directory == _STAGED.c.directory),
            execution_options={"yield_per": BATCH})
        for prefix, metadata in result:
            yield prefix, metadata.encode()


def example_id(repository_id: uuid.UUID, identifier: str, known: Known | None) -> uuid.UUID:
    """An example's row id: the stored one, or for a new example one derived from
    (repository, identifier), so a sync interrupted before its database write reuses the
    same storage prefix next time."""
    return known.id if known is not None else uuid.uuid5(repository_id, identifier)


class Writer:
    """Writes one pass's decisions inside the caller's transaction, set by set.

    `add_examples` first (versions reference their example), then `add_versions` for the
    published versions staged while scanning (`Staging`), then `finish`: example updates and
    archivals, latest versions, the repository's revision and the sync result. Nothing is
    visible to readers before the transaction commits, after every object is stored.
    """

    def __init__(self, session: Session, repo: ExampleRepository, staging: Staging,
                 now: datetime, *, history: bool = False) -> None:
        self._session = session
        self._repo = repo
        self._staging = staging
        self._now = now
        self._history = history
        self._archived: list[uuid.UUID] = []

    @staticmethod
    def _live(d: Decision) -> bool:
        return d.status not in (SyncStatus.INVALID, SyncStatus.ARCHIVED) and d.scanned is not None \
            and d.identifier is not None

    def example_id(self, d: Decision) -> uuid.UUID:
        """The row id of a decided example."""
        assert d.identifier is not None
        return example_id(self._repo.id, d.identifier, d.known)

    def add_examples(self, decisions: Iterable[Decision]) -> None:
        """Rows of the examples read for the first time (their latest version comes later);
        notes the live examples read and the archived ones for `finish`."""
        for d in decisions:
            if d.status == SyncStatus.ARCHIVED:
                assert d.known is not None
                self._archived.append(d.known.id)
            elif self._live(d):
                assert d.identifier is not None and d.scanned is not None
                self._staging.live.add({"directory": d.directory, "example_id": self.example_id(d),
                                        "identifier": d.identifier, "digest": d.scanned.digest,
                                        "new": d.known is None})
        self._staging.flush()
        self._session.execute(_INSERT_HISTORY if self._history else _INSERT_NEW,
                              {"repository_id": self._repo.id, "now": self._now})

    def add_versions(self, published: Iterable[tuple[Decision, str]]
                     ) -> Iterator[tuple[str, bytes]]:
        """Rows of the published versions `(decision, storage prefix)`, staged while scanning;
        yields (storage prefix, metadata.json bytes) of each, to store."""
        deps: list[dict[str, Any]] = []  # written after the versions they belong to
        for d, prefix in published:
            assert d.scanned is not None
            version_id, example_id = uuid.uuid4(), self.example_id(d)
            self._staging.mark(d.directory, version_id, example_id, prefix)
            deps += [{"id": uuid.uuid4(), "version_id": version_id, "example_id": example_id,
                      "repository_id": self._repo.id, "identifier": dep.identifier,
                      "constraint": dep.constraint} for dep in d.scanned.dependencies]
        yield from self._staging.publish(self._now)
        for start in range(0, len(deps), BATCH):
            self._session.execute(_INSERT_DEPENDENCY, deps[start:start + BATCH])

    def finish(self, report: SyncReport) -> None:
        """Everything after the versions; sets `report.versions` (versions stored in total)."""
        now = self._now
        for start in range(0, len(self._archived), BATCH):
            self._session.execute(
                sa.update(Example).where(Example.id.in_(self._archived[start:start + BATCH]))
                .values(archived_at=now, updated_at=now)
                .execution_options(synchronize_session=False))
        if not self._history:  # history only adds versions
            self._session.execute(_UPDATE_LIVE, {"now": now})
        report.versions = count_versions(self._session, self._repo.id)
        if not self._history:
            self._record_result(report)

    def _record_result(self, report: SyncReport) -> None:
        """The repository's last synced revision, and this sync's result (the newest
        KEEP_SYNC_RESULTS are kept)."""
        repo = self._repo
        repo.last_synced_revision, repo.last_synced_at = report.revision, self._now
        self._session.add(SyncResult(
            id=uuid.uuid4(), repository_id=repo.id, revision=report.revision,
            started_at=report.started_at, finished_at=report.finished_at,
            counts=report.counts,
            examples=[e.to_dict() for e in report.examples if e.errors or e.warnings]))
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
