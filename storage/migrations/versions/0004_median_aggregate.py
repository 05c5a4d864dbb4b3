"""ignorerate_median: an exact median aggregate that PostgreSQL can run in parallel

`percentile_cont` is an ordered-set aggregate: a query that uses it is never split
across parallel workers, so the totals-only report read its cohort in one process while
a plain aggregate over the same rows runs in three. This aggregate collects the values
in each worker (`array_append`), joins the workers' arrays (`array_cat`) and takes the
same median at the end (`percentile_cont(0.5)`: the middle value, or the mean of the two
middle values). The final step sorts values already held in memory, so it gets the
memory to sort them there (64 MB: about two million values) instead of the default
4 MB, which a month of a busy organisation's leads already overflows to disk. SQLite
has no parallel query and no use for any of this.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE FUNCTION ignorerate_median_final(bigint[]) RETURNS double precision
        LANGUAGE sql IMMUTABLE PARALLEL SAFE SET work_mem = '64MB'
        AS $$ SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest($1) AS v $$
        """
    )
    op.execute(
        """
        CREATE AGGREGATE ignorerate_median(bigint) (
            SFUNC = array_append,
            STYPE = bigint[],
            COMBINEFUNC = array_cat,
            FINALFUNC = ignorerate_median_final,
            PARALLEL = SAFE
        )
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP AGGREGATE ignorerate_median(bigint)")
    op.execute("DROP FUNCTION ignorerate_median_final(bigint[])")
