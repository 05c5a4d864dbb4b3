"""slack bot: snooze deadline on actions, rep time zone and display name from Slack

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("actions") as batch:
        batch.add_column(
            sa.Column("until", storage.types.UtcTimestamp(timezone=True), nullable=True)
        )
    with op.batch_alter_table("reps") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reps") as batch:
        batch.drop_column("timezone")
    with op.batch_alter_table("actions") as batch:
        batch.drop_column("until")
