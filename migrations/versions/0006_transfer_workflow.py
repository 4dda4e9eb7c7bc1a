"""transfer requests shipped, declined or cancelled: the shipment, who acted and when, the reason

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 16:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transfer_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shipment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('acted_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decline_reason', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=True))
        batch_op.create_foreign_key('fk_transfer_request_shipment_id', 'shipment', ['shipment_id'], ['id'])
        batch_op.create_foreign_key('fk_transfer_request_acted_by', 'user', ['acted_by'], ['id'])
        batch_op.create_unique_constraint('uq_transfer_request_shipment_id', ['shipment_id'])
        batch_op.create_check_constraint(
            'transfer_status_known', "status IN ('requested', 'shipped', 'declined', 'cancelled')")


def downgrade() -> None:
    with op.batch_alter_table('transfer_request', schema=None) as batch_op:
        batch_op.drop_constraint('transfer_status_known', type_='check')
        batch_op.drop_constraint('uq_transfer_request_shipment_id', type_='unique')
        batch_op.drop_constraint('fk_transfer_request_acted_by', type_='foreignkey')
        batch_op.drop_constraint('fk_transfer_request_shipment_id', type_='foreignkey')
        batch_op.drop_column('decline_reason')
        batch_op.drop_column('acted_at')
        batch_op.drop_column('acted_by')
        batch_op.drop_column('shipment_id')
