"""The web URL of the merge request handing an update branch to the lecturer (spec.provider;
docs/updates.md).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("course_content", sa.Column("update_request_url", sa.Text))


def downgrade() -> None:
    op.drop_column("course_content", "update_request_url")
