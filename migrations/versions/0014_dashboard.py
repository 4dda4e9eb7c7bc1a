"""dashboard: weekly figures, forecast accuracy by brand, planners decisions on proposals

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 04:49:49.005696
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dashboard_week',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('segment', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=True),
    sa.Column('location_id', sa.Integer(), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('sold_units', sa.Integer(), nullable=False),
    sa.Column('sold_cost', sa.Float(), nullable=False),
    sa.Column('demand_units', sa.Integer(), nullable=False),
    sa.Column('opening_units', sa.Integer(), nullable=False),
    sa.Column('received_units', sa.Integer(), nullable=False),
    sa.Column('closing_units', sa.Integer(), nullable=False),
    sa.Column('closing_cost', sa.Float(), nullable=False),
    sa.Column('stockout_weeks', sa.Integer(), nullable=False),
    sa.Column('aged_units', sa.Integer(), nullable=False),
    sa.Column('aged_cost', sa.Float(), nullable=False),
    sa.Column('cells', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dashboard_week', schema=None) as batch_op:
        batch_op.create_index('ix_dashboard_week_segment', ['segment', 'brand_id', 'label', 'week'], unique=False)
        batch_op.create_index('ix_dashboard_week_store', ['location_id', 'week'], unique=False)

    op.create_table('dashboard_accuracy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('brand_id', sa.Integer(), nullable=False),
    sa.Column('forecast_units', sa.Float(), nullable=False),
    sa.Column('actual_units', sa.Integer(), nullable=False),
    sa.Column('abs_error', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['forecast_run.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('dashboard_accuracy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dashboard_accuracy_run_id'), ['run_id'], unique=False)

    op.create_table('plan_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('decision', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('transfer_request_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('approved', 'rejected')", name='plan_decision_known'),
    sa.CheckConstraint("kind IN ('transfer', 'purchase')", name='plan_decision_kind_known'),
    sa.ForeignKeyConstraint(['decided_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['transfer_request_id'], ['transfer_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'proposal_id', name='one_decision_per_proposal')
    )


def downgrade() -> None:
    op.drop_table('plan_decision')
    with op.batch_alter_table('dashboard_accuracy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dashboard_accuracy_run_id'))

    op.drop_table('dashboard_accuracy')
    with op.batch_alter_table('dashboard_week', schema=None) as batch_op:
        batch_op.drop_index('ix_dashboard_week_store')
        batch_op.drop_index('ix_dashboard_week_segment')

    op.drop_table('dashboard_week')
