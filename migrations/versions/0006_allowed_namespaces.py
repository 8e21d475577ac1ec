"""Repository visibility complete in the database: the namespaces a `restricted` repository
also serves, so `exlib plan/apply` decides like the operator (controller.tenancy).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("example_repository", sa.Column(
        "allowed_namespaces", pg.ARRAY(sa.Text), nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.drop_column("example_repository", "allowed_namespaces")
