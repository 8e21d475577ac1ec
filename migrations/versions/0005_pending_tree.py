"""The pending version's own deployed tree on a conflicting content, so an update branch
merged by hand is recognised even after a newer version appeared (docs/updates.md).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("course_content", sa.Column("pending_tree", sa.Text))


def downgrade() -> None:
    op.drop_column("course_content", "pending_tree")
