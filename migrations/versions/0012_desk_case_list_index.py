"""desk: an index for the desk's list of cases

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00

The desk's case list filters problem reports by status, urgency, category, province, district,
dates and reference, counts them and sorts them by status and urgency. With this index both the
count and the sort read the index alone (not the reports' rows), and the page's 25 rows are
fetched by id afterwards (bench/desk.py, docs/benchmarks.md). Adds `updated_at` for the
"overdue" filter.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = ['kind', 'status', 'urgency', 'problem_category', 'province_code', 'district_code',
           'created_at', 'updated_at', 'reference']  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_desk_list", COLUMNS, unique=False)
    # Fresh statistics, so that an officer's list keeps using the district's index (a few
    # hundred rows) rather than scanning the new one from end to end.
    op.execute("ANALYZE reports")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_desk_list")
