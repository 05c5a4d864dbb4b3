"""nudges: the next nudge of each lead, round-robin cursor, outbox redeliveries

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(
            sa.Column("next_nudge_at", storage.types.UtcTimestamp(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("nudge_stage", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("nudge_cycle", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("cycle_started_at", storage.types.UtcTimestamp(timezone=True), nullable=True)
        )
        batch.create_index("ix_leads_next_nudge_at", ["next_nudge_at"], unique=False)
        batch.create_index("ix_leads_owner_id_due_at", ["owner_id", "due_at"], unique=False)
        batch.create_index("ix_leads_team_id_due_at", ["team_id", "due_at"], unique=False)
    with op.batch_alter_table("teams") as batch:
        batch.add_column(
            sa.Column("reassign_cursor", sa.Integer(), server_default="-1", nullable=False)
        )
    with op.batch_alter_table("nudges") as batch:
        batch.add_column(
            sa.Column("rep_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch.create_foreign_key("fk_nudges_rep_id_reps", "reps", ["rep_id"], ["id"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(
            sa.Column("redeliveries", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("redeliveries")
    with op.batch_alter_table("nudges") as batch:
        batch.drop_constraint("fk_nudges_rep_id_reps", type_="foreignkey")
        batch.drop_column("rep_id")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("reassign_cursor")
    with op.batch_alter_table("leads") as batch:
        batch.drop_index("ix_leads_team_id_due_at")
        batch.drop_index("ix_leads_owner_id_due_at")
        batch.drop_index("ix_leads_next_nudge_at")
        batch.drop_column("cycle_started_at")
        batch.drop_column("nudge_cycle")
        batch.drop_column("nudge_stage")
        batch.drop_column("next_nudge_at")
