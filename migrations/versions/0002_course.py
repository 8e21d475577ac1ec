"""Courses: families, courses, content kinds (seeded) and types, the content tree with ltree
paths (GiST index) and deployment state, and the deployment history.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from controller.store.db.base import Ltree

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
KINDS = (("unit", "Unit", True, False), ("assignment", "Assignment", False, True))


def _fk(column: str, table: str, referred: str, ondelete: str, **kw: object) -> sa.Column:
    return sa.Column(column, sa.Uuid, sa.ForeignKey(
        f"{referred}.id", ondelete=ondelete, name=op.f(f"fk_{table}_{column}_{referred}")), **kw)


def upgrade() -> None:
    op.create_table(
        "course_family",
        sa.Column("id", sa.Uuid, primary_key=True),
        _fk("organization_id", "course_family", "organization", "RESTRICT", nullable=False),
        sa.Column("path", Ltree, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("path", name=op.f("uq_course_family_path")),
    )
    op.create_index(op.f("ix_course_family_organization_id"), "course_family", ["organization_id"])
    op.create_table(
        "course",
        sa.Column("id", sa.Uuid, primary_key=True),
        _fk("course_family_id", "course", "course_family", "RESTRICT", nullable=False),
        sa.Column("path", Ltree, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("namespace", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("assignments_url", sa.Text, nullable=False),
        sa.Column("assignments_branch", sa.Text, nullable=False),
        sa.Column("assignments_path", sa.Text, nullable=False),
        sa.Column("assignments_commit", sa.Text),
        sa.Column("student_template_url", sa.Text),
        sa.Column("student_template_branch", sa.Text),
        sa.Column("student_template_commit", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("path", name=op.f("uq_course_path")),
    )
    op.create_index(op.f("ix_course_course_family_id"), "course", ["course_family_id"])
    kind = op.create_table(
        "course_content_kind",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("has_descendants", sa.Boolean, nullable=False),
        sa.Column("submittable", sa.Boolean, nullable=False),
    )
    op.bulk_insert(kind, [dict(zip(("id", "title", "has_descendants", "submittable"), k,
                                   strict=True)) for k in KINDS])
    op.create_table(
        "course_content_type",
        sa.Column("id", sa.Uuid, primary_key=True),
        _fk("course_id", "course_content_type", "course", "CASCADE", nullable=False),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("kind_id", sa.Text, sa.ForeignKey(
            "course_content_kind.id",
            name=op.f("fk_course_content_type_kind_id_course_content_kind")), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("color", sa.Text),
        sa.UniqueConstraint("course_id", "slug",
                            name=op.f("uq_course_content_type_course_id_slug")),
    )
    op.create_table(
        "course_content",
        sa.Column("id", sa.Uuid, primary_key=True),
        _fk("course_id", "course_content", "course", "CASCADE", nullable=False),
        sa.Column("spec_id", sa.Text, nullable=False),
        sa.Column("path", Ltree, nullable=False),
        _fk("course_content_type_id", "course_content", "course_content_type", "RESTRICT",
            nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("position", sa.Float, nullable=False),
        sa.Column("properties", pg.JSONB, nullable=False),
        _fk("example_id", "course_content", "example", "RESTRICT"),
        _fk("example_version_id", "course_content", "example_version", "RESTRICT"),
        sa.Column("version_spec", sa.Text),
        sa.Column("deploy_key", sa.Text),
        sa.Column("deployed_tree", sa.Text),
        sa.Column("deployed_commit", sa.Text),
        sa.Column("is_customized", sa.Boolean, nullable=False),
        sa.Column("deployed_at", TS),
        sa.Column("deployment_state", sa.Text),
        sa.Column("deployment_message", sa.Text),
        sa.Column("archived_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    for column in ("course_id", "example_id", "example_version_id"):
        op.create_index(op.f(f"ix_course_content_{column}"), "course_content", [column])
    op.create_index("ix_course_content_path", "course_content", ["path"], postgresql_using="gist")
    for column in ("path", "spec_id"):
        op.create_index(f"uq_course_content_course_id_{column}_live", "course_content",
                        ["course_id", column], unique=True,
                        postgresql_where=sa.text("archived_at IS NULL"))
    op.create_table(
        "deployment_history",
        sa.Column("id", sa.Uuid, primary_key=True),
        _fk("course_id", "deployment_history", "course", "CASCADE", nullable=False),
        _fk("course_content_id", "deployment_history", "course_content", "CASCADE",
            nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("from_path", sa.Text),
        _fk("example_version_id", "deployment_history", "example_version", "SET NULL"),
        sa.Column("commit", sa.Text),
        sa.Column("detail", sa.Text),
    )
    op.create_index(op.f("ix_deployment_history_course_id"), "deployment_history", ["course_id"])
    op.create_index("ix_deployment_history_content_at", "deployment_history",
                    ["course_content_id", "at"])


def downgrade() -> None:
    for table in ("deployment_history", "course_content", "course_content_type",
                  "course_content_kind", "course", "course_family"):
        op.drop_table(table)
