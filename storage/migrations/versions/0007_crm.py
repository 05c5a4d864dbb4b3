"""CRM sync: cursors per object, API budgets, merge aliases, records written back

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UtcTimestamp

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "crm_cursors",
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("object", sa.String(40), nullable=False),
        sa.Column("cursor_at", UtcTimestamp(timezone=True), nullable=True),
        sa.Column("last_run_at", UtcTimestamp(timezone=True), nullable=True),
        sa.Column("last_success_at", UtcTimestamp(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", UtcTimestamp(timezone=True), nullable=True),
        sa.Column("errors", sa.Integer(), server_default="0", nullable=False),
        sa.Column("records", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("source", "object", name=op.f("pk_crm_cursors")),
    )
    op.create_table(
        "crm_budgets",
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("max", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", UtcTimestamp(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_crm_budgets")),
    )
    op.create_table(
        "crm_aliases",
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("crm_id", sa.String(200), nullable=False),
        sa.Column("lead_id", Id, nullable=False),
        sa.Column("created_at", UtcTimestamp(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_crm_aliases_lead_id_leads")
        ),
        sa.PrimaryKeyConstraint("source", "crm_id", name=op.f("pk_crm_aliases")),
    )
    op.create_table(
        "crm_written",
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("crm_id", sa.String(200), nullable=False),
        sa.Column("action_id", Id, nullable=True),
        sa.Column("created_at", UtcTimestamp(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"], ["actions.id"], name=op.f("fk_crm_written_action_id_actions")
        ),
        sa.PrimaryKeyConstraint("source", "crm_id", name=op.f("pk_crm_written")),
    )


def downgrade() -> None:
    for table in ("crm_written", "crm_aliases", "crm_budgets", "crm_cursors"):
        op.drop_table(table)
