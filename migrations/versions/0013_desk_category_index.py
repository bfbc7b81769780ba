"""desk: an index for the case list filtered by category and dates

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:20:00

At 100,000 cases, SQLite read a category's cases over a span of dates through the case list's
wide index (whose leading columns are kind and status) and took 400 ms at p95; this index seeks
them directly (docs/benchmarks.md).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reports_desk_category", ["kind", "problem_category", "created_at"], unique=False
        )
    op.execute("ANALYZE reports")


def downgrade() -> None:
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("ix_reports_desk_category")
