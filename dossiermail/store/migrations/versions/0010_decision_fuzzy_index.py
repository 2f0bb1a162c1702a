"""decision-side fuzzy index: a building's current assignments by subject block and date

``StoreIndex.open_dossiers`` (the fuzzy-subject look-up) started from
``ix_parsed_messages_subject_block_date``, which holds every building's messages: at 10,000 open
dossiers over 20 buildings it read twenty times the rows it kept. The decision row now carries a
copy of its message's subject block and date, and a partial index on the current assignments,
``(building_id, subject_block, message_date)``, lets the look-up read only the asked building.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WHERE = "superseded_at IS NULL AND outcome = 'assigned'"


def upgrade() -> None:
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_block", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("message_date", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE routing_decisions SET"
        " subject_block = (SELECT p.subject_block FROM parsed_messages p"
        " WHERE p.message_key = routing_decisions.message_key),"
        " message_date = (SELECT p.date FROM parsed_messages p"
        " WHERE p.message_key = routing_decisions.message_key)"
    )
    op.create_index(
        "ix_routing_decisions_fuzzy",
        "routing_decisions",
        ["building_id", "subject_block", "message_date"],
        unique=False,
        sqlite_where=sa.text(WHERE),
        postgresql_where=sa.text(WHERE),
    )


def downgrade() -> None:
    op.drop_index("ix_routing_decisions_fuzzy", table_name="routing_decisions")
    with op.batch_alter_table("routing_decisions", schema=None) as batch_op:
        batch_op.drop_column("message_date")
        batch_op.drop_column("subject_block")
