"""sender and date index: a sender's mail within a date window reads only that window

``StoreIndex.messages_from`` (the participant-window and quoted-header look-ups) asks for one
sender's mail within minutes or days. With an index on ``from_email`` alone its cost grew with
everything that sender ever wrote (a gestionnaire, a supplier writing daily); ``(from_email, date)``
reads only the window, and still serves equality look-ups by sender.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 16:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        batch_op.create_index("ix_parsed_messages_from_email_date", ["from_email", "date"], unique=False)
        batch_op.drop_index("ix_parsed_messages_from_email")


def downgrade() -> None:
    with op.batch_alter_table("parsed_messages", schema=None) as batch_op:
        batch_op.create_index("ix_parsed_messages_from_email", ["from_email"], unique=False)
        batch_op.drop_index("ix_parsed_messages_from_email_date")
