"""count by serial: the serials a count found missing or back, kept on its line

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25 16:10:19.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('stock_count_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('serials', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('stock_count_line', schema=None) as batch_op:
        batch_op.drop_column('serials')
