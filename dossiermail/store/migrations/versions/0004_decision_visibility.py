"""decision visibility: "public" or "internal" (internal messages never leave the syndic audience)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        column = sa.Column("visibility", sa.String(length=16), nullable=False, server_default="public")
        batch_op.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_column("visibility")
