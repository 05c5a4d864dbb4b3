"""PostgreSQL: the index of a team's leads by handoff time carries what the reports read

`ix_leads_team_id_handed_off_at` (team, handoff time) is what every cohort's range is
read by, but each lead it finds was then read from the table, one page per lead where the
leads were not stored in handoff order (an import of history, a CRM backfill). The index
now carries, beside its keys, the columns `storage.reports` reads of a lead: for the
totals the deadline, the first action's time and kind and the exclusion; for the
breakdowns and the rejection reasons the id, source, campaign, first owner and the time
of the first reassignment. A period's totals and breakdowns are then index-only scans.

At a million leads imported in random order (the benchmarks' generated data), one team's
month of totals went from 270 ms to 30 ms, its breakdown by rep, source and campaign from
about 250 ms to 120 ms, the dashboard's overview (42 totals) from 5.4 s to 0.35 s and a
team's page from 1.9 s to about 0.4 s (docs/benchmarks.md, the dashboard). The index
grows from 30 to 107 MB at that size; it replaces the old one, so a write still maintains
one index there.

SQLite has no INCLUDE; its index is unchanged.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NAME = "ix_leads_team_id_handed_off_at"
COVERED = [
    # the totals (`totals_query_postgresql`)
    "due_at",
    "first_action_at",
    "excluded_at",
    "first_action_kind",
    # the breakdowns and rejection reasons (`_per_lead`, `_owner_at`, `rejection_reasons`)
    "id",
    "source",
    "campaign",
    "initial_owner_id",
    "reassigned_at",
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="leads")
    op.create_index(
        NAME, "leads", ["team_id", "handed_off_at"], unique=False, postgresql_include=COVERED
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="leads")
    op.create_index(NAME, "leads", ["team_id", "handed_off_at"], unique=False)
