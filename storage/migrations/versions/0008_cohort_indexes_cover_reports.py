"""PostgreSQL: the indexes of a team's leads by handoff time carry what the reports read

`ix_leads_team_id_handed_off_at` (team, handoff time) is what every cohort's range is
read by, but each lead it finds was then read from the table, one page per lead where the
leads were not stored in handoff order (an import of history, a CRM backfill). Now:

- `ix_leads_team_id_handed_off_at` carries, beside its keys, what the totals read
  (`storage.reports.totals_query_postgresql`: the deadline, the first action's time and
  kind, the exclusion): a period's totals are an index-only scan;
- `ix_leads_team_breakdown`, the same keys, carries those and what the breakdowns and
  the rejection reasons read too (the id, source, campaign, first owner, first
  reassignment): a breakdown by rep, source and campaign is an index-only scan.

Why two: with only the wider one, the 42 totals of the dashboard's overview took 0.70 s
where they take 0.30 s with the narrower one (psql, one statement, a million leads): the
parallel plan gained nothing over the wider index. At a million leads imported in random
order (the benchmarks' generated data), one team's month of totals went from 270 ms to
30 ms, the overview's 42 totals from 5.4 s to 0.3-0.45 s and a team's page from 1.9 s to
about 0.33 s (docs/benchmarks.md, the dashboard). Both indexes take 65 and 107 MB at that
size, where the old one took 30 MB; each write to the leads keeps one more index.

SQLite has no INCLUDE: its indexes are unchanged (the model builds
`ix_leads_team_breakdown` on PostgreSQL only, where it is more than a copy of the first).

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
BREAKDOWN = "ix_leads_team_breakdown"
KEYS = ["team_id", "handed_off_at"]
# the totals (`totals_query_postgresql`)
TOTALS = ["due_at", "first_action_at", "excluded_at", "first_action_kind"]
# the breakdowns and rejection reasons (`_per_lead`, `_owner_at`, `rejection_reasons`)
ROWS = [*TOTALS, "id", "source", "campaign", "initial_owner_id", "reassigned_at"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="leads")
    op.create_index(NAME, "leads", KEYS, unique=False, postgresql_include=TOTALS)
    op.create_index(BREAKDOWN, "leads", KEYS, unique=False, postgresql_include=ROWS)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(BREAKDOWN, table_name="leads")
    op.drop_index(NAME, table_name="leads")
    op.create_index(NAME, "leads", KEYS, unique=False)
