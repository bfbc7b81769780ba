"""privacy: optional uses, last seen day, one-time data copies, what a job did

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 12:50:00

Users may withdraw from reminders and broadcasts apart from deleting everything; the day they
last wrote drives retention; `data_copies` holds the hashes of one-time links to a person's own
copy of their data; `job_runs.note` records what a run did (the retention job's counts).
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (a batch would copy `users`, which other tables' keys point at).
    op.add_column('users', sa.Column('reminders_ok', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('users', sa.Column('broadcasts_ok', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('users', sa.Column('seen_on', sa.Date(), nullable=True))
    op.add_column('job_runs', sa.Column('note', sa.Text(), nullable=True))
    op.create_table('data_copies',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    with op.batch_alter_table('data_copies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_copies_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('data_copies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_copies_user_id'))
    op.drop_table('data_copies')
    op.drop_column('job_runs', 'note')
    op.drop_column('users', 'seen_on')
    op.drop_column('users', 'broadcasts_ok')
    op.drop_column('users', 'reminders_ok')
