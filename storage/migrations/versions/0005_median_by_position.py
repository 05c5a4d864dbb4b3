"""ignorerate_median's last step picks the middle values by position

0004's final step ran `percentile_cont(0.5)` over the collected values: it casts each to
double precision and sorts those. Sorting the bigints themselves and reading the middle
one (odd count) or the mean of the middle two (even count) gives the same median and
took 29 ms instead of 37 ms for 170,000 values (psql, `\\timing`, 2026-11-25); on the
1M-lead benchmark that is about a twentieth of `/ignorerate last-month` on PostgreSQL.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BY_POSITION = """
CREATE OR REPLACE FUNCTION ignorerate_median_final(bigint[]) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET work_mem = '64MB'
AS $$
    SELECT avg(v)::double precision
    FROM (
        SELECT v FROM unnest($1) AS v ORDER BY v
        OFFSET (cardinality($1) - 1) / 2 LIMIT 2 - cardinality($1) % 2
    ) AS middle
$$
"""

BY_PERCENTILE = """
CREATE OR REPLACE FUNCTION ignorerate_median_final(bigint[]) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET work_mem = '64MB'
AS $$ SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v) FROM unnest($1) AS v $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BY_POSITION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BY_PERCENTILE)
