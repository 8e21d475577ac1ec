"""Library: ltree extension, organizations, example repositories, examples, versions,
dependencies and sync results.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from controller.store.db.base import Ltree

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
TEXTS = pg.ARRAY(sa.Text)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS ltree")
    op.create_table(
        "organization",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("path", Ltree(), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("path", name=op.f("uq_organization_path")),
    )
    op.create_table(
        "example_repository",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("namespace", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("source_kind", sa.Text, nullable=False),
        sa.Column("source_url", sa.Text, nullable=False),
        sa.Column("ref", sa.Text),
        sa.Column("path", sa.Text),
        sa.Column("visibility", sa.Text, nullable=False),
        sa.Column("organization_id", sa.Uuid,
                  sa.ForeignKey("organization.id", ondelete="SET NULL",
                                name=op.f("fk_example_repository_organization_id_organization"))),
        sa.Column("last_synced_revision", sa.Text),
        sa.Column("last_synced_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("namespace", "name", name=op.f("uq_example_repository_namespace_name")),
    )
    op.create_table(
        "example",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("repository_id", sa.Uuid,
                  sa.ForeignKey("example_repository.id", ondelete="CASCADE",
                                name=op.f("fk_example_repository_id_example_repository")),
                  nullable=False),
        sa.Column("identifier", sa.Text, nullable=False),
        sa.Column("directory", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("language", sa.Text),
        sa.Column("tags", TEXTS, nullable=False),
        sa.Column("latest_version_id", sa.Uuid),
        sa.Column("source_fingerprint", sa.Text),
        sa.Column("archived_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("repository_id", "identifier",
                            name=op.f("uq_example_repository_id_identifier")),
    )
    op.create_index(op.f("ix_example_repository_id"), "example", ["repository_id"])
    op.create_index("ix_example_tags", "example", ["tags"], postgresql_using="gin")
    op.create_table(
        "example_version",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("example_id", sa.Uuid,
                  sa.ForeignKey("example.id", ondelete="CASCADE",
                                name=op.f("fk_example_version_example_id_example")),
                  nullable=False),
        sa.Column("tag", sa.Text),
        sa.Column("version_raw", sa.Text),
        sa.Column("digest", sa.Text, nullable=False),
        sa.Column("tree_id", sa.Text),
        sa.Column("storage_prefix", sa.Text, nullable=False),
        sa.Column("meta", pg.JSONB, nullable=False),
        sa.Column("files", pg.JSONB, nullable=False),
        sa.Column("student_submission_files", TEXTS, nullable=False),
        sa.Column("additional_files", TEXTS, nullable=False),
        sa.Column("test_files", TEXTS, nullable=False),
        sa.Column("student_templates", TEXTS, nullable=False),
        sa.Column("warnings", pg.JSONB, nullable=False),
        sa.Column("source_revision", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("example_id", "digest",
                            name=op.f("uq_example_version_example_id_digest")),
        sa.UniqueConstraint("example_id", "tag", name=op.f("uq_example_version_example_id_tag")),
    )
    op.create_index(op.f("ix_example_version_example_id"), "example_version", ["example_id"])
    op.create_foreign_key(op.f("fk_example_latest_version_id_example_version"), "example",
                          "example_version", ["latest_version_id"], ["id"], ondelete="SET NULL")
    op.create_table(
        "example_dependency",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("example_version_id", sa.Uuid,
                  sa.ForeignKey("example_version.id", ondelete="CASCADE",
                                name=op.f("fk_example_dependency_example_version_id_example_version")),
                  nullable=False),
        sa.Column("example_id", sa.Uuid,
                  sa.ForeignKey("example.id", ondelete="CASCADE",
                                name=op.f("fk_example_dependency_example_id_example")),
                  nullable=False),
        sa.Column("depends_id", sa.Uuid,
                  sa.ForeignKey("example.id", ondelete="RESTRICT",
                                name=op.f("fk_example_dependency_depends_id_example")),
                  nullable=False),
        sa.Column("constraint", sa.Text),
        sa.UniqueConstraint("example_version_id", "depends_id",
                            name=op.f("uq_example_dependency_example_version_id_depends_id")),
    )
    op.create_index(op.f("ix_example_dependency_example_id"), "example_dependency", ["example_id"])
    op.create_index(op.f("ix_example_dependency_depends_id"), "example_dependency", ["depends_id"])
    op.create_table(
        "sync_result",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("repository_id", sa.Uuid,
                  sa.ForeignKey("example_repository.id", ondelete="CASCADE",
                                name=op.f("fk_sync_result_repository_id_example_repository")),
                  nullable=False),
        sa.Column("revision", sa.Text),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("counts", pg.JSONB, nullable=False),
        sa.Column("examples", pg.JSONB, nullable=False),
    )
    op.create_index("ix_sync_result_repository_finished", "sync_result",
                    ["repository_id", "finished_at"])


def downgrade() -> None:
    for table in ("sync_result", "example_dependency"):
        op.drop_table(table)
    op.drop_constraint(op.f("fk_example_latest_version_id_example_version"), "example",
                       type_="foreignkey")
    for table in ("example_version", "example", "example_repository", "organization"):
        op.drop_table(table)
