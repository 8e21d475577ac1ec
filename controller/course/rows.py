"""Course rows in PostgreSQL: read them as planner `Content`, write a pass's result.

An adapter: it maps between rows and planner values and writes what the plan says, in one
transaction (the caller's session). No decisions are taken here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from controller.course.errors import SpecError, SpecProblem
from controller.course.plan import Content, Plan
from controller.course.spec import CourseSpec
from controller.meta.names import version_label
from controller.store.db.base import utcnow
from controller.store.db.course import (
    Course,
    CourseContent,
    CourseContentType,
    CourseFamily,
    DeploymentHistory,
)
from controller.store.db.library import Example, ExampleVersion, Organization

#: Planner field -> column, where the names differ; `None`: derived, not stored.
_COLUMNS: dict[str, str | None] = {
    "version_id": "example_version_id", "state": "deployment_state",
    "message": "deployment_message", "type": None, "kind": None, "identifier": None,
    "tag": None, "digest": None, "archived": None, "pending_tag": None,
}
_UUID_FIELDS = {"id", "example_id", "version_id", "pending_version_id"}


def find_course(session: Session, spec: CourseSpec, namespace: str, name: str
                ) -> Course | None:
    """The CourseStructure's course (docs/courses.md): the row at the spec's path, else its
    live course at an earlier path, which `save_course` moves (ids stay). A SpecError when
    the path holds another CourseStructure's course, or an archived earlier course of this
    one while it has a live course elsewhere."""
    at_path = course_by_path(session, spec.path)
    if at_path is not None and (at_path.namespace, at_path.name) != (namespace, name):
        raise SpecError([SpecProblem("course", "path", (
            f"course {spec.path} is managed by CourseStructure {at_path.namespace}/"
            f"{at_path.name}; course paths are unique, so choose another path (or delete "
            "that CourseStructure first)"))])
    live = session.scalar(sa.select(Course).where(
        Course.namespace == namespace, Course.name == name, Course.archived_at.is_(None)))
    if live is None or live is at_path:
        return at_path
    if at_path is not None:
        raise SpecError([SpecProblem("course", "path", (
            f"course {spec.path} is an earlier course of CourseStructure {namespace}/{name}, "
            f"archived when it was deleted; this CourseStructure's course is {live.path}. "
            f"Keep the path {live.path} or choose a path no course has used"))])
    return live


def course_by_path(session: Session, path: str) -> Course | None:
    """The live course row at `path`, or None."""
    return session.scalar(sa.select(Course).where(Course.path == path))


def load_contents(session: Session, course_id: uuid.UUID | None, *,
                  archived: bool = True) -> list[Content]:
    """Every content row of the course (archived ones too, newest archive first)."""
    if course_id is None:
        return []
    pending = aliased(ExampleVersion)
    q = (sa.select(CourseContent, CourseContentType.slug, CourseContentType.kind_id,
                   Example.identifier, ExampleVersion.tag, ExampleVersion.digest,
                   pending.tag, pending.digest)
         .join(CourseContentType, CourseContentType.id == CourseContent.course_content_type_id)
         .outerjoin(Example, Example.id == CourseContent.example_id)
         .outerjoin(ExampleVersion, ExampleVersion.id == CourseContent.example_version_id)
         .outerjoin(pending, pending.id == CourseContent.pending_version_id)
         .where(CourseContent.course_id == course_id)
         .order_by(CourseContent.archived_at.desc().nulls_first(), CourseContent.path))
    if not archived:
        q = q.where(CourseContent.archived_at.is_(None))
    return [Content(
        id=str(r.id), spec_id=r.spec_id, path=r.path, type=slug, kind=kind, title=r.title,
        position=r.position, properties=r.properties or {},
        example_id=_text(r.example_id), identifier=identifier,
        version_id=_text(r.example_version_id), tag=tag, digest=digest,
        version_spec=r.version_spec, deploy_key=r.deploy_key, deployed_tree=r.deployed_tree,
        deployed_commit=r.deployed_commit, is_customized=r.is_customized,
        state=r.deployment_state, message=r.deployment_message,
        archived=r.archived_at is not None,
        pending_version_id=_text(r.pending_version_id),
        pending_tag=version_label(pending_tag, pending_digest) if pending_digest else None,
        pending_key=r.pending_key, update_branch=r.update_branch,
        update_commit=r.update_commit, update_tree=r.update_tree,
        pending_tree=r.pending_tree, update_request_url=r.update_request_url)
        for r, slug, kind, identifier, tag, digest, pending_tag, pending_digest
        in session.execute(q)]


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _ensure(session: Session, model: type[Any], path: str, **values: Any) -> Any:
    row = session.scalar(sa.select(model).where(model.path == path))
    if row is None:
        row = model(id=uuid.uuid4(), path=path, **values)
        session.add(row)
        session.flush()
    for key, value in values.items():
        if value is not None and getattr(row, key) != value:
            setattr(row, key, value)
    return row


def save_course(session: Session, spec: CourseSpec, namespace: str, name: str) -> Course:
    """Organization, family, course and content types as the spec says (changed fields only).

    A course found at an earlier path is moved to the spec's path, keeping its id and its
    contents' ids; an archived one (its CourseStructure was deleted) is live again.
    """
    found = find_course(session, spec, namespace, name)
    if found is not None:
        found.path = spec.path
        found.archived_at = None
    org = _ensure(session, Organization, spec.organization_path, title=spec.organization_title)
    family = _ensure(session, CourseFamily, spec.family_path, organization_id=org.id,
                     title=spec.family_title)
    st = spec.student_template
    course = _ensure(
        session, Course, spec.path, course_family_id=family.id, title=spec.title,
        namespace=namespace, name=name, assignments_url=spec.assignments.url,
        assignments_branch=spec.assignments.branch, assignments_path=spec.assignments.path,
        student_template_url=st.url if st else None,
        student_template_branch=st.branch if st else None)
    types = {t.slug: t for t in session.scalars(
        sa.select(CourseContentType).filter_by(course_id=course.id))}
    for ct in spec.content_types:
        row = types.get(ct.slug)
        if row is None:
            session.add(CourseContentType(id=uuid.uuid4(), course_id=course.id, slug=ct.slug,
                                          kind_id=ct.kind, title=ct.title, color=ct.color))
        else:
            for key, value in (("kind_id", ct.kind), ("title", ct.title), ("color", ct.color)):
                if getattr(row, key) != value:
                    setattr(row, key, value)
    session.flush()
    return course


def record_template_commit(session: Session, course_id: str, commit: str) -> None:
    """The student template commit a pass pushed, on its course row (found by id)."""
    session.execute(sa.update(Course).where(Course.id == uuid.UUID(course_id))
                    .values(student_template_commit=commit))


def _column_values(changed: dict[str, Any], type_ids: dict[str, uuid.UUID],
                   now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changed.items():
        if key == "type":
            out["course_content_type_id"] = type_ids[value]
        if key == "archived":
            out["archived_at"] = now if value else None
        column = _COLUMNS.get(key, key)
        if column is None:
            continue
        out[column] = uuid.UUID(value) if key in _UUID_FIELDS and value else value
    return out


def save_plan(session: Session, course: Course, plan: Plan, commit: str | None) -> None:
    """Write the plan's rows and history; rows whose directory was written get `commit`."""
    now = utcnow()
    type_ids = {t.slug: t.id for t in session.scalars(
        sa.select(CourseContentType).filter_by(course_id=course.id))}
    existing = {str(r.id): r for r in session.scalars(
        sa.select(CourseContent).filter_by(course_id=course.id))}
    archives = [w for w in plan.rows if w.after.archived]
    moving = [w for w in plan.rows if w.before is not None and w.before.path != w.after.path]
    updates = [w for w in plan.rows if w.after.id in existing and not w.after.archived]
    inserts = [w for w in plan.rows if w.after.id not in existing]
    # Partial unique indexes cannot be deferred and a flush orders UPDATEs by key, so free
    # paths step by step: archive, park moving rows on a unique path, update, insert.
    for phase in (archives, moving, updates, inserts):
        for w in phase:
            if phase is moving:
                existing[w.after.id].path = f"exlib_moving_{uuid.UUID(w.after.id).hex}"
                continue
            values = _column_values(w.changed(), type_ids, now)
            if w.deployed:
                values.update(deployed_commit=commit, deployed_at=now)
            if phase is inserts:
                session.add(CourseContent(course_id=course.id, **values))
            else:
                for key, value in values.items():
                    setattr(existing[w.after.id], key, value)
        session.flush()
    written = {w.after.id: w.after for w in plan.rows}
    session.add_all(_history(course.id, plan, written, commit, now))
    if commit is not None:
        course.assignments_commit = commit


def _history(course_id: uuid.UUID, plan: Plan, written: dict[str, Content],
             commit: str | None, now: datetime) -> Iterable[DeploymentHistory]:
    for action in plan.actions:
        row = written.get(action.row_id)
        if row is None:
            continue
        yield DeploymentHistory(
            id=uuid.uuid4(), course_id=course_id, course_content_id=uuid.UUID(action.row_id),
            at=now, action=str(action.op), path=action.path, from_path=action.from_path,
            example_version_id=uuid.UUID(row.version_id) if row.version_id else None,
            commit=commit if action.changes_directory else None, detail=action.detail or None)


def save_request_urls(session: Session, urls: dict[str, str | None]) -> None:
    """Record the merge request URL of each content that got, or lost, one (row id -> URL)."""
    for row_id, url in urls.items():
        session.execute(sa.update(CourseContent).where(CourseContent.id == uuid.UUID(row_id))
                        .values(update_request_url=url))
