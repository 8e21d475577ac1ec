"""Updates of deployed examples: the version a kept or conflicting update would move to, and
the update branch of a conflicting merge (docs/updates.md).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TEXT_COLUMNS = ("pending_key", "update_branch", "update_commit", "update_tree")


def upgrade() -> None:
    op.add_column("course_content", sa.Column(
        "pending_version_id", sa.Uuid, sa.ForeignKey(
            "example_version.id", ondelete="RESTRICT",
            name=op.f("fk_course_content_pending_version_id_example_version"))))
    op.create_index(op.f("ix_course_content_pending_version_id"), "course_content",
                    ["pending_version_id"])
    for column in TEXT_COLUMNS:
        op.add_column("course_content", sa.Column(column, sa.Text))


def downgrade() -> None:
    for column in TEXT_COLUMNS:
        op.drop_column("course_content", column)
    op.drop_index(op.f("ix_course_content_pending_version_id"), "course_content")
    op.drop_column("course_content", "pending_version_id")
