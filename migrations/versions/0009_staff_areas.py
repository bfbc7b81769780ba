"""staff areas: staff roles in a table of their own, home villages repaired

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 09:00:00.000000

A person held one staff role in users.staff_role / users.staff_area, and granting it
overwrote their home province and district with the staff area, so a village head made an
officer elsewhere had their problem reports filed in the wrong district. The roles move to
staff_roles (any number per person), the home villages are put back from their subdistrict,
and the two columns go.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_roles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('area', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'role', 'area', name='uq_staff_roles_user_role_area')
    )
    with op.batch_alter_table('staff_roles', schema=None) as batch_op:
        batch_op.create_index('ix_staff_roles_role_area', ['role', 'area'], unique=False)

    # Every role held so far, granted when the user row last changed (the grant set that).
    # Admins always act on the whole country; rows made by hand may lack their area.
    op.execute(
        "INSERT INTO staff_roles (user_id, role, area, granted_at) "
        "SELECT id, staff_role, CASE WHEN staff_role = 'admin' THEN 'TH' ELSE staff_area END, "
        "updated_at FROM users "
        "WHERE staff_role IN ('officer', 'coordinator', 'admin') "
        "AND (staff_role = 'admin' OR staff_area IS NOT NULL)"
    )
    # Home villages: a subdistrict code begins with its district's and province's codes, and
    # only registration set the subdistrict, so it tells where the person really lives.
    op.execute(
        "UPDATE users SET district_code = substr(subdistrict_code, 1, 4), "
        "province_code = substr(subdistrict_code, 1, 2) "
        "WHERE subdistrict_code IS NOT NULL"
    )
    # No village at all (staff who registered with an invite): the province and district
    # could only have come from a grant.
    op.execute(
        "UPDATE users SET district_code = NULL, province_code = NULL "
        "WHERE role IS NULL AND subdistrict_code IS NULL"
    )
    # Not rebuilt on SQLite: other tables refer to users, and with foreign keys on (as every
    # connection has them) dropping the old table would fail; SQLite 3.35+ drops a column in
    # place instead.
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_staff_role'))
        batch_op.drop_index(batch_op.f('ix_users_staff_area'))
        batch_op.drop_column('staff_area')
        batch_op.drop_column('staff_role')


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staff_role', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('staff_area', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_staff_area'), ['staff_area'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_staff_role'), ['staff_role'], unique=False)

    # One role per person fits the old columns: the most recently granted one is kept. The
    # home villages stay as repaired (the old code reads its staff areas from staff_area).
    latest = (
        "(SELECT s.{column} FROM staff_roles s WHERE s.user_id = users.id "
        "ORDER BY s.granted_at DESC, s.id DESC LIMIT 1)"
    )
    op.execute(
        f"UPDATE users SET staff_role = {latest.format(column='role')}, "
        f"staff_area = {latest.format(column='area')} "
        "WHERE id IN (SELECT user_id FROM staff_roles)"
    )
    with op.batch_alter_table('staff_roles', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_roles_role_area')

    op.drop_table('staff_roles')
