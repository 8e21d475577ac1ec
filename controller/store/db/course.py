"""Course tables (DESIGN §5): families, courses, content kinds and types, the content tree
(Ltree paths) with per-content deployment state, and the deployment audit trail.
Rows only; the rules live in controller.course."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from controller.store.db.base import Base, Ltree, Timestamp, utcnow, uuid_pk


class CourseFamily(Base):
    """A group of courses (`course_family`): one level of the ltree path below the organization."""

    __tablename__ = "course_family"

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="RESTRICT"), index=True)
    path: Mapped[str] = mapped_column(Ltree, unique=True)  # organization.family
    title: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Course(Base):
    """A course and where it deploys; (namespace, name) is the CourseStructure managing it,
    which has one live course (migration 0004): a changed path moves the row. `archived_at`
    is set when the CourseStructure is deleted."""

    __tablename__ = "course"
    __table_args__ = (
        sa.Index("uq_course_namespace_name_live", "namespace", "name", unique=True,
                 postgresql_where=sa.text("archived_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    course_family_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("course_family.id", ondelete="RESTRICT"), index=True)
    path: Mapped[str] = mapped_column(Ltree, unique=True)  # organization.family.course
    title: Mapped[str] = mapped_column(sa.Text)
    namespace: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.Text)
    assignments_url: Mapped[str] = mapped_column(sa.Text)
    assignments_branch: Mapped[str] = mapped_column(sa.Text)
    assignments_path: Mapped[str] = mapped_column(sa.Text, default="")
    assignments_commit: Mapped[str | None] = mapped_column(sa.Text)
    student_template_url: Mapped[str | None] = mapped_column(sa.Text)
    student_template_branch: Mapped[str | None] = mapped_column(sa.Text)
    student_template_commit: Mapped[str | None] = mapped_column(sa.Text)
    archived_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class CourseContentKind(Base):
    """`unit` (has descendants) and `assignment` (submittable), seeded by migration 0002."""

    __tablename__ = "course_content_kind"

    id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    title: Mapped[str] = mapped_column(sa.Text)
    has_descendants: Mapped[bool] = mapped_column(sa.Boolean)
    submittable: Mapped[bool] = mapped_column(sa.Boolean)


class CourseContentType(Base):
    """A content type of one course (`course_content_type`), as the spec's contentTypes say."""

    __tablename__ = "course_content_type"
    __table_args__ = (sa.UniqueConstraint("course_id", "slug"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    course_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(sa.Text)
    kind_id: Mapped[str] = mapped_column(sa.ForeignKey("course_content_kind.id"))
    title: Mapped[str | None] = mapped_column(sa.Text)
    color: Mapped[str | None] = mapped_column(sa.Text)


class CourseContent(Base):
    """One node of a course tree. Archived, never deleted: submissions hang off its id."""

    __tablename__ = "course_content"
    __table_args__ = (
        sa.Index("ix_course_content_path", "path", postgresql_using="gist"),
        sa.Index("uq_course_content_course_id_path_live", "course_id", "path", unique=True,
                 postgresql_where=sa.text("archived_at IS NULL")),
        sa.Index("uq_course_content_course_id_spec_id_live", "course_id", "spec_id",
                 unique=True, postgresql_where=sa.text("archived_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    course_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    spec_id: Mapped[str] = mapped_column(sa.Text)  # the node's stable `id` in the spec
    path: Mapped[str] = mapped_column(Ltree)
    course_content_type_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("course_content_type.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[float] = mapped_column(sa.Float)
    properties: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    example_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("example.id", ondelete="RESTRICT"), index=True)
    example_version_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("example_version.id", ondelete="RESTRICT"), index=True)
    version_spec: Mapped[str | None] = mapped_column(sa.Text)  # as written; None = pinned
    deploy_key: Mapped[str | None] = mapped_column(sa.Text)
    deployed_tree: Mapped[str | None] = mapped_column(sa.Text)
    deployed_commit: Mapped[str | None] = mapped_column(sa.Text)
    is_customized: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    deployed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    deployment_state: Mapped[str | None] = mapped_column(sa.Text)
    deployment_message: Mapped[str | None] = mapped_column(sa.Text)
    # An update not applied (keep, or a conflicting merge; migration 0003): the version it
    # would move to and its deploy key; for a conflict, the update branch and the commit and
    # directory tree exlib pushed there (to recognise the branch once merged).
    pending_version_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("example_version.id", ondelete="RESTRICT"), index=True)
    pending_key: Mapped[str | None] = mapped_column(sa.Text)
    update_branch: Mapped[str | None] = mapped_column(sa.Text)
    update_commit: Mapped[str | None] = mapped_column(sa.Text)
    update_tree: Mapped[str | None] = mapped_column(sa.Text)
    # The pending version's own tree, so a merged branch is recognised even once a newer
    # version is wanted (migration 0005).
    pending_tree: Mapped[str | None] = mapped_column(sa.Text)
    # The merge request (GitLab) / pull request (Gitea) of the update branch, with
    # spec.provider (migration 0007); kept until the request is closed or merged.
    update_request_url: Mapped[str | None] = mapped_column(sa.Text)
    archived_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class DeploymentHistory(Base):
    """One audit row per change a pass made to a content (row or directory)."""

    __tablename__ = "deployment_history"
    __table_args__ = (sa.Index("ix_deployment_history_content_at", "course_content_id", "at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    course_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    course_content_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("course_content.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    action: Mapped[str] = mapped_column(sa.Text)
    path: Mapped[str] = mapped_column(sa.Text)
    from_path: Mapped[str | None] = mapped_column(sa.Text)
    example_version_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("example_version.id", ondelete="SET NULL"))
    commit: Mapped[str | None] = mapped_column(sa.Text)
    detail: Mapped[str | None] = mapped_column(sa.Text)
