"""villages: official village lists

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:36:08.606088

The villages of a district or province as the official list names them (code: subdistrict
6 digits + หมู่ 2 digits), loaded by `fieldbot villages import`: reporting completeness counts
them all where a district has a list, not only those where someone has registered.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('villages',
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('province_code', sqlmodel.sql.sqltypes.AutoString(length=2), nullable=False),
    sa.Column('district_code', sqlmodel.sql.sqltypes.AutoString(length=4), nullable=False),
    sa.Column('subdistrict_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('village_no', sa.Integer(), nullable=False),
    sa.Column('name_th', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_villages_district_code'), ['district_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_villages_province_code'), ['province_code'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('villages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_villages_province_code'))
        batch_op.drop_index(batch_op.f('ix_villages_district_code'))

    op.drop_table('villages')
