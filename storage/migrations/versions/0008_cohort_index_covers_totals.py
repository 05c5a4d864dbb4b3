"""PostgreSQL: the index of a team's leads by handoff time carries what the totals read

`ix_leads_team_id_handed_off_at` (team, handoff time) is what every cohort's range is
read by, but each lead it finds was then read from the table, one page per lead where the
leads were not stored in handoff order (an import of history, a CRM backfill). The index
now carries, beside its keys, the columns the totals read (`storage.reports`'
`totals_query_postgresql`: the deadline, the first action's time and kind, the
exclusion), so a period's totals are an index-only scan. At a million leads imported in
random order (bench/out's data), one team's month went from 270 ms to 30 ms, and the
dashboard's overview (42 such totals) from 5.4 s to about 0.4 s (docs/benchmarks.md, the
dashboard). The index grows from 30 to 65 MB at that size; it replaces the old one, so a
write still maintains one index there.

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
COVERED = ["due_at", "first_action_at", "excluded_at", "first_action_kind"]


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
