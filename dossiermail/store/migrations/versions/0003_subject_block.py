"""subject block: indexed blocking key for fuzzy-subject candidate lookup

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _block(normalized_subject: str) -> str:
    """Same rule as ``dossiermail.threading.context.subject_block`` (copied: migrations stay frozen)."""
    words = normalized_subject.split()
    long_words = [w for w in words if len(w) >= 3]
    first = long_words[0] if long_words else (words[0] if words else "")
    return first[:32]


def upgrade() -> None:
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        column = sa.Column("subject_block", sa.String(length=32), nullable=False, server_default="")
        batch_op.add_column(column)
    parsed = sa.table(
        "parsed_messages",
        sa.column("message_key", sa.String()),
        sa.column("normalized_subject", sa.Text()),
        sa.column("subject_block", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(parsed.c.message_key, parsed.c.normalized_subject)).all()
    for key, subject in rows:
        connection.execute(
            parsed.update().where(parsed.c.message_key == key).values(subject_block=_block(subject or ""))
        )
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        batch_op.alter_column("subject_block", server_default=None)
        batch_op.create_index(
            "ix_parsed_messages_subject_block_date", ["subject_block", "date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_parsed_messages_subject_block_date")
        batch_op.drop_column("subject_block")
