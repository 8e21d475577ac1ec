"""Library tables (DESIGN §5): repositories, examples, immutable versions, dependencies,
organizations and stored sync results. Rows only; the rules live in controller.library."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from controller.store.db.base import Base, Ltree, Timestamp, utcnow, uuid_pk

TextArray = ARRAY(sa.Text)


class Organization(Base):
    """An organization (`organization`): the first label of every course path."""

    __tablename__ = "organization"

    id: Mapped[uuid.UUID] = uuid_pk()
    path: Mapped[str] = mapped_column(Ltree, unique=True)
    title: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class ExampleRepository(Base):
    """One synced source (ExampleRepository resource or `exlib sync --name`)."""

    __tablename__ = "example_repository"
    __table_args__ = (sa.UniqueConstraint("namespace", "name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    namespace: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    source_kind: Mapped[str] = mapped_column(sa.Text)  # git | s3 | dir
    source_url: Mapped[str] = mapped_column(sa.Text)
    ref: Mapped[str | None] = mapped_column(sa.Text)
    path: Mapped[str | None] = mapped_column(sa.Text)
    visibility: Mapped[str] = mapped_column(sa.Text, default="private")
    #: Namespaces a `restricted` repository also serves (controller.tenancy.use_problem).
    allowed_namespaces: Mapped[list[str]] = mapped_column(
        TextArray, default=list, server_default=sa.text("'{}'"))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("organization.id", ondelete="SET NULL"))
    last_synced_revision: Mapped[str | None] = mapped_column(sa.Text)
    last_synced_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Example(Base):
    """An example's stable identity: (repository, identifier) -> id, forever."""

    __tablename__ = "example"
    __table_args__ = (
        sa.UniqueConstraint("repository_id", "identifier"),
        sa.Index("ix_example_tags", "tags", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    repository_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("example_repository.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(sa.Text)
    directory: Mapped[str] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    description: Mapped[str | None] = mapped_column(sa.Text)
    language: Mapped[str | None] = mapped_column(sa.Text)
    tags: Mapped[list[str]] = mapped_column(TextArray, default=list)
    latest_version_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("example_version.id", use_alter=True, ondelete="SET NULL"))
    #: Cheap identity of the source directory the latest version came from (Git tree id or
    #: S3 etag index, plus directory and ignore rules): equal means "unchanged, read nothing".
    source_fingerprint: Mapped[str | None] = mapped_column(sa.Text)
    archived_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)

    latest_version: Mapped[ExampleVersion | None] = relationship(
        foreign_keys=[latest_version_id], post_update=True)
    repository: Mapped[ExampleRepository] = relationship()


class ExampleVersion(Base):
    """One immutable published content of an example; objects live under storage_prefix."""

    __tablename__ = "example_version"
    __table_args__ = (
        sa.UniqueConstraint("example_id", "digest"),
        sa.UniqueConstraint("example_id", "tag"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    example_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("example.id", ondelete="CASCADE"), index=True)
    tag: Mapped[str | None] = mapped_column(sa.Text)  # normalised semver, None = untagged
    version_raw: Mapped[str | None] = mapped_column(sa.Text)  # as written in meta.yaml
    digest: Mapped[str] = mapped_column(sa.Text)  # hex sha256, see controller.library.digest
    tree_id: Mapped[str | None] = mapped_column(sa.Text)
    storage_prefix: Mapped[str] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSONB)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # [{path, mode, size, sha256}]
    student_submission_files: Mapped[list[str]] = mapped_column(TextArray, default=list)
    additional_files: Mapped[list[str]] = mapped_column(TextArray, default=list)
    test_files: Mapped[list[str]] = mapped_column(TextArray, default=list)
    student_templates: Mapped[list[str]] = mapped_column(TextArray, default=list)
    warnings: Mapped[list[str]] = mapped_column(JSONB, default=list)
    source_revision: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)

    example: Mapped[Example] = relationship(foreign_keys=[example_id])


class ExampleDependency(Base):
    """A version's `testDependencies` entry, resolved to the depended-on example's id."""

    __tablename__ = "example_dependency"
    __table_args__ = (sa.UniqueConstraint("example_version_id", "depends_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    example_version_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("example_version.id", ondelete="CASCADE"))
    example_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("example.id", ondelete="CASCADE"), index=True)
    depends_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("example.id", ondelete="RESTRICT"), index=True)
    constraint: Mapped[str | None] = mapped_column(sa.Text)  # as written; None = any version


class SyncResult(Base):
    """Outcome of one sync pass: counts plus every example with errors or warnings."""

    __tablename__ = "sync_result"
    __table_args__ = (sa.Index("ix_sync_result_repository_finished", "repository_id",
                               "finished_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    repository_id: Mapped[uuid.UUID] = mapped_column(
        sa.ForeignKey("example_repository.id", ondelete="CASCADE"))
    revision: Mapped[str | None] = mapped_column(sa.Text)
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    finished_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    counts: Mapped[dict[str, int]] = mapped_column(JSONB)
    examples: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
