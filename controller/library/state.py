"""Reading the library's state for planning and writing a sync's decisions, in batches.

Three queries load everything planning needs for a repository (examples, version tags and
digests, the latest versions' dependencies and warnings); one transaction writes the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from controller.library.plan import Decision, Known, KnownVersion
from controller.library.report import SyncReport
from controller.library.source import SourceSpec
from controller.meta import Dependency
from controller.store.db.library import (
    Example,
    ExampleDependency,
    ExampleRepository,
    ExampleVersion,
    SyncResult,
)

KEEP_SYNC_RESULTS = 20


def repository(session: Session, namespace: str, name: str, source: SourceSpec
               ) -> ExampleRepository:
    """The repository row for (namespace, name), created on first sync."""
    row = session.scalar(sa.select(ExampleRepository).filter_by(namespace=namespace, name=name))
    if row is None:
        row = ExampleRepository(id=uuid.uuid4(), namespace=namespace, name=name,
                                source_kind=source.kind, source_url=source.describe(),
                                visibility="private")
        session.add(row)
    row.source_kind, row.source_url = source.kind, source.describe()
    row.ref, row.path = source.ref, source.path or None
    session.flush()
    return row


def load_known(session: Session, repository_id: uuid.UUID) -> dict[str, Known]:
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


def version_row(d: Decision, example_id: uuid.UUID, version_id: uuid.UUID, prefix: str,
                revision: str, now: datetime) -> dict[str, Any]:
    s = d.scanned
    assert s is not None and s.meta is not None
    m = s.meta
    return {"id": version_id, "example_id": example_id, "tag": m.version,
            "version_raw": m.version_raw, "digest": s.digest, "tree_id": s.found.tree_id,
            "storage_prefix": prefix, "meta": m.data,
            "files": [f.as_json() for f in s.files],
            "student_submission_files": list(m.student_submission_files),
            "additional_files": list(m.additional_files), "test_files": list(m.test_files),
            "student_templates": list(m.student_templates), "warnings": d.warnings,
            "source_revision": revision, "created_at": now}


def write(session: Session, repo: ExampleRepository, decisions: Iterable[Decision],
          ids: Mapping[str, uuid.UUID], versions: Mapping[str, dict[str, Any]],
          report: SyncReport, *, history: bool = False) -> None:
    """Apply decisions: new examples, new versions, their dependencies, example updates and
    archivals, the repository's revision and the sync result. `versions` maps identifier to
    the new version row; `ids` maps every live identifier to its example id."""
    now = report.finished_at
    new_examples, updates, deps = [], [], []
    for d in decisions:
        if d.status == "archived":
            assert d.known is not None
            updates.append({"id": d.known.id, "archived_at": now, "updated_at": now})
            continue
        if d.status == "invalid" or d.scanned is None or d.identifier is None:
            continue
        meta = d.scanned.meta
        assert meta is not None
        example_id = ids[d.identifier]
        row = versions.get(d.identifier)
        version_id = row["id"] if row else None
        if version_id is None and d.known is not None:
            existing = d.known.version(digest=d.scanned.digest)
            version_id = existing.id if existing else None
        fields = {"directory": d.directory, "title": meta.title or None,
                  "description": meta.description or None, "language": meta.language,
                  "tags": list(meta.tags), "updated_at": now}
        if history:
            if d.known is None:
                new_examples.append({"id": example_id, "repository_id": repo.id,
                                     "identifier": d.identifier, "created_at": now,
                                     "archived_at": now, **fields})
        else:
            fields |= {"latest_version_id": version_id, "archived_at": None,
                       "source_fingerprint": d.scanned.found.fingerprint}
            if d.known is None:
                new_examples.append({"id": example_id, "repository_id": repo.id,
                                     "identifier": d.identifier, "created_at": now, **fields})
            else:
                updates.append({"id": example_id, **fields})
        if row is not None:
            deps += [{"id": uuid.uuid4(), "example_version_id": row["id"],
                      "example_id": example_id, "depends_id": ids[dep.identifier],
                      "constraint": dep.constraint} for dep in meta.dependencies]
    latest = [u.pop("latest_version_id") if "latest_version_id" in u else None
              for u in new_examples]
    if new_examples:
        session.execute(sa.insert(Example), new_examples)
    if versions:
        session.execute(sa.insert(ExampleVersion), list(versions.values()))
    pending = [{"id": e["id"], "latest_version_id": v} for e, v in zip(new_examples, latest,
                                                                        strict=True) if v]
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for u in updates + pending:  # one executemany per shape of update
        groups.setdefault(frozenset(u), []).append(u)
    for rows in groups.values():
        session.execute(sa.update(Example), rows)
    if deps:
        session.execute(sa.insert(ExampleDependency), deps)
    if history:
        return
    repo.last_synced_revision, repo.last_synced_at = report.revision, now
    session.add(SyncResult(
        id=uuid.uuid4(), repository_id=repo.id, revision=report.revision,
        started_at=report.started_at, finished_at=now, counts=report.counts,
        examples=[e.__dict__ for e in report.examples if e.errors or e.warnings]))
    old = sa.select(SyncResult.id).where(SyncResult.repository_id == repo.id) \
        .order_by(SyncResult.finished_at.desc()).offset(KEEP_SYNC_RESULTS - 1)
    session.execute(sa.delete(SyncResult).where(SyncResult.id.in_(old)))
