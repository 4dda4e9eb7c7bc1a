"""ranging: store range decisions, range settings, range lines of a plan, policy calibrations

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
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('previous', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('weekly_demand', sa.Float(), nullable=False),
    sa.Column('value_stock', sa.Float(), nullable=False),
    sa.Column('value_show', sa.Float(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("decision IN ('stock', 'show', 'none')", name='range_decision_known'),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected', 'superseded')", name='range_status_known'),
    sa.ForeignKeyConstraint(['decided_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('location_id', 'product_id', 'week', name='one_range_proposal_per_cell_and_week')
    )
    with op.batch_alter_table('store_range', schema=None) as batch_op:
        batch_op.create_index('ix_store_range_cell', ['location_id', 'product_id', 'status', 'valid_from'], unique=False)
        batch_op.create_index('ix_store_range_status', ['status', 'valid_from'], unique=False)
        batch_op.create_index('ix_store_range_week', ['week', 'status', 'location_id', 'product_id'], unique=False)

    op.create_table('range_setting',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('range_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.CheckConstraint("kind IN ('display', 'return', 'markdown')", name='range_line_kind_known'),
    sa.CheckConstraint('quantity > 0', name='range_line_positive'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['replenishment_run.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'location_id', 'product_id', 'kind', name='one_range_line_per_cell_and_kind')
    )
    with op.batch_alter_table('range_line', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_range_line_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_range_line_run_id'), ['run_id'], unique=False)

    op.create_table('policy_calibration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target', sa.Float(), nullable=False),
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('scope_key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('parameter', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('achieved', sa.Float(), nullable=False),
    sa.Column('policy', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("scope IN ('network', 'tier', 'brand')", name='calibration_scope_known'),
    sa.CheckConstraint('target > 0 AND target < 1', name='calibration_target_share'),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('policy_calibration', schema=None) as batch_op:
        batch_op.create_index('ix_policy_calibration_scope', ['scope', 'scope_key', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('policy_calibration', schema=None) as batch_op:
        batch_op.drop_index('ix_policy_calibration_scope')
    op.drop_table('policy_calibration')
    with op.batch_alter_table('range_line', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_range_line_run_id'))
        batch_op.drop_index(batch_op.f('ix_range_line_location_id'))
    op.drop_table('range_line')
    op.drop_table('range_setting')
    with op.batch_alter_table('store_range', schema=None) as batch_op:
        batch_op.drop_index('ix_store_range_week')
        batch_op.drop_index('ix_store_range_status')
        batch_op.drop_index('ix_store_range_cell')

    op.drop_table('store_range')
