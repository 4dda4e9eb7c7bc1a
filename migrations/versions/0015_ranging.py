"""ranging: store range decisions

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 06:58:14.311910
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('store_range',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('previous', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('weekly_demand', sa.Float(), nullable=False),
    sa.Column('value_stock', sa.Float(), nullable=False),
    sa.Column('value_show', sa.Float(), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("decision IN ('stock', 'show', 'none')", name='range_decision_known'),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'superseded')", name='range_status_known'),
    sa.ForeignKeyConstraint(['decided_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('store_range', schema=None) as batch_op:
        batch_op.create_index('ix_store_range_cell', ['location_id', 'product_id', 'status', 'valid_from'], unique=False)
        batch_op.create_index('ix_store_range_status', ['status', 'valid_from'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('store_range', schema=None) as batch_op:
        batch_op.drop_index('ix_store_range_status')
        batch_op.drop_index('ix_store_range_cell')

    op.drop_table('store_range')
