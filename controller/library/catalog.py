"""Queries behind `exlib examples list|search|show`: find examples, show versions and
dependencies. Read-only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from controller.meta import version_key
from controller.store.db.library import (
    Example,
    ExampleDependency,
    ExampleRepository,
    ExampleVersion,
    Organization,
)

#: The repository's columns every listing shows (what its ExampleRepository says about it).
_REPOSITORY = (ExampleRepository.name.label("repository"),
               ExampleRepository.title.label("repository_title"),
               ExampleRepository.description.label("repository_description"),
               Organization.path.label("organization"))


def _repository(row: sa.Row) -> dict[str, Any]:
    return {"repository": row.repository, "repository_title": row.repository_title,
            "repository_description": row.repository_description,
            "organization": row.organization}


def search(session: Session, *, tags: Sequence[str] = (), language: str | None = None,
           text: str | None = None, repository: str | None = None,
           archived: bool = False) -> list[dict[str, Any]]:
    """Examples having all `tags`, the language, and `text` in identifier/title/description."""
    q = (sa.select(Example, *_REPOSITORY, ExampleVersion.tag, ExampleVersion.digest)
         .join(ExampleRepository, ExampleRepository.id == Example.repository_id)
         .outerjoin(Organization, Organization.id == ExampleRepository.organization_id)
         .outerjoin(ExampleVersion, ExampleVersion.id == Example.latest_version_id)
         .order_by(ExampleRepository.name, Example.identifier))
    if tags:
        q = q.where(Example.tags.contains([t.lower() for t in tags]))
    if language:
        q = q.where(sa.func.lower(Example.language) == language.lower())
    if text:
        like = f"%{text}%"
        q = q.where(sa.or_(Example.identifier.ilike(like), Example.title.ilike(like),
                           Example.description.ilike(like)))
    if repository:
        q = q.where(ExampleRepository.name == repository)
    if not archived:
        q = q.where(Example.archived_at.is_(None))
    out = []
    for r in session.execute(q):
        e = r.Example
        out.append({"id": str(e.id), "identifier": e.identifier, **_repository(r),
                    "directory": e.directory, "title": e.title, "language": e.language,
                    "tags": e.tags, "version": r.tag, "digest": r.digest,
                    "archived": e.archived_at is not None})
    return out


def show(session: Session, identifier: str, repository: str | None = None
         ) -> list[dict[str, Any]]:
    """Every example with this identifier (one per repository unless `repository` is given),
    with its versions (newest first), dependencies and dependents."""
    q = (sa.select(Example, *_REPOSITORY)
         .join(ExampleRepository, ExampleRepository.id == Example.repository_id)
         .outerjoin(Organization, Organization.id == ExampleRepository.organization_id)
         .where(Example.identifier == identifier))
    if repository:
        q = q.where(ExampleRepository.name == repository)
    out = []
    for r in session.execute(q):
        e = r.Example
        versions = session.scalars(
            sa.select(ExampleVersion).filter_by(example_id=e.id)).all()
        ordered = sorted(versions, reverse=True, key=lambda v: (
            (1, version_key(v.tag)) if v.tag else (0, ()), v.created_at))
        target, source = aliased(Example), aliased(Example)
        deps = session.execute(
            sa.select(target.identifier, target.id, ExampleDependency.constraint)
            .join(target, target.id == ExampleDependency.depends_id)
            .where(ExampleDependency.example_version_id == e.latest_version_id)).all()
        dependents = session.execute(
            sa.select(source.identifier, source.id, ExampleDependency.constraint)
            .join(source, source.latest_version_id == ExampleDependency.example_version_id)
            .where(ExampleDependency.depends_id == e.id)).all()
        out.append({
            "id": str(e.id), "identifier": e.identifier, **_repository(r),
            "directory": e.directory, "title": e.title, "description": e.description,
            "language": e.language, "tags": e.tags,
            "archived_at": e.archived_at.isoformat() if e.archived_at else None,
            "versions": [{"tag": v.tag, "version": v.version_raw, "digest": v.digest,
                          "created_at": v.created_at.isoformat(),
                          "latest": v.id == e.latest_version_id} for v in ordered],
            "dependencies": [{"identifier": i, "id": str(x), "constraint": c}
                             for i, x, c in deps],
            "dependents": [{"identifier": i, "id": str(x), "constraint": c}
                           for i, x, c in dependents],
        })
    return out
