"""One live course per CourseStructure: `course.archived_at` (set when the CourseStructure is
deleted) and a unique index on the owner (namespace, name) of live courses, so a changed
`spec.course.path` moves the course instead of starting a second one (docs/courses.md).

A database that already holds several live courses for one CourseStructure (made before this
migration by a path change) keeps the most recently updated one live; the others are
archived like the course of a deleted CourseStructure, their contents with them.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INDEX = "uq_course_namespace_name_live"

_SUPERSEDED = """
    SELECT id FROM (
        SELECT id, row_number() OVER (PARTITION BY namespace, name
                                      ORDER BY updated_at DESC, created_at DESC) AS n
        FROM course) ranked
    WHERE n > 1
"""


def upgrade() -> None:
    op.add_column("course", sa.Column("archived_at", sa.DateTime(timezone=True)))
    op.execute(f"UPDATE course_content SET archived_at = now(), deployment_state = 'Archived', "
               f"deployment_message = NULL WHERE archived_at IS NULL "
               f"AND course_id IN ({_SUPERSEDED})")
    op.execute(f"UPDATE course SET archived_at = now() WHERE id IN ({_SUPERSEDED})")
    op.create_index(INDEX, "course", ["namespace", "name"], unique=True,
                    postgresql_where=sa.text("archived_at IS NULL"))


def downgrade() -> None:
    op.drop_index(INDEX, "course")
    op.drop_column("course", "archived_at")
