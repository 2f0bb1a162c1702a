"""job steps: the per-step outbox of the workers, with attempts, leases and dead letters

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``job_steps``."""
    op.create_table(
        "job_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_steps")),
        sa.UniqueConstraint("step", "subject", name=op.f("uq_job_steps_step")),
    )
    with op.batch_alter_table("job_steps", schema=None) as batch_op:
        batch_op.create_index("ix_job_steps_state_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(
            "ix_job_steps_unsent",
            ["id"],
            unique=False,
            sqlite_where=sa.text("enqueued_at IS NULL"),
            postgresql_where=sa.text("enqueued_at IS NULL"),
        )


def downgrade() -> None:
    """Drop ``job_steps``."""
    with op.batch_alter_table("job_steps", schema=None) as batch_op:
        batch_op.drop_index("ix_job_steps_unsent")
        batch_op.drop_index("ix_job_steps_state_due")
    op.drop_table("job_steps")
