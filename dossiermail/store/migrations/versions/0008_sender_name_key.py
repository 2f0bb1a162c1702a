"""sender name key: indexed folded display name for quoted-header lookups by name

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 13:30:00
"""

from __future__ import annotations

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _key(name: str) -> str:
    """Same rule as ``dossiermail.parse.quoted_headers.name_key`` (copied: migrations stay frozen)."""
    folded = unicodedata.normalize("NFKD", name.replace("œ", "oe").replace("Œ", "OE"))
    plain = "".join(char for char in folded if not unicodedata.combining(char)).lower()
    return " ".join(sorted(re.sub(r"[^\w\s'-]", " ", plain).split()))[:200]


def upgrade() -> None:
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        column = sa.Column("from_name_key", sa.String(length=200), nullable=False, server_default="")
        batch_op.add_column(column)
    parsed = sa.table(
        "parsed_messages",
        sa.column("message_key", sa.String()),
        sa.column("from_name", sa.Text()),
        sa.column("from_name_key", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(parsed.c.message_key, parsed.c.from_name)).all()
    for key, name in rows:
        if name:
            connection.execute(
                parsed.update().where(parsed.c.message_key == key).values(from_name_key=_key(name))
            )
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        batch_op.alter_column("from_name_key", server_default=None)
        batch_op.create_index(
            "ix_parsed_messages_from_name_key_date", ["from_name_key", "date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_parsed_messages_from_name_key_date")
        batch_op.drop_column("from_name_key")
