"""publications audit and dossier lots (owned by the extranet publishing work)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """``dossier_lots`` (lots an admin tied to a dossier) and ``publications`` (the publish audit)."""
    op.create_table(
        "dossier_lots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_id", sa.Integer(), nullable=False),
        sa.Column("lot", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_id"],
            ["dossiers.id"],
            name=op.f("fk_dossier_lots_dossier_id_dossiers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dossier_lots")),
        sa.UniqueConstraint("dossier_id", "lot", name=op.f("uq_dossier_lots_dossier_id")),
    )
    with op.batch_alter_table("dossier_lots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dossier_lots_dossier_id"), ["dossier_id"], unique=False)
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=32), nullable=False),
        sa.Column("dossiers", sa.JSON(), nullable=False),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("redactor_version", sa.String(length=64), nullable=False),
        sa.Column("pages_written", sa.Integer(), nullable=False),
        sa.Column("pages_removed", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
    )
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publications_building"), ["building"], unique=False)


def downgrade() -> None:
    """Drop both tables."""
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publications_building"))
    op.drop_table("publications")
    with op.batch_alter_table("dossier_lots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dossier_lots_dossier_id"))
    op.drop_table("dossier_lots")
