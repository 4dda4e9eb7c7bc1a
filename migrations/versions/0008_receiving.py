"""receipts bounded by what was shipped: surplus held for approval, serials that arrived

shipment_line gets:
- surplus: units counted on arrival beyond the shipped quantity; never posted as stock by the receipt;
- surplus_status: NULL (no surplus), 'held' (waits for a store manager, planner or admin), 'accepted'
  (posted as a transfer_in by `deliveries.decide_surplus`), 'refused' (stays a discrepancy), or 'posted'
  (an over-receipt made before this revision, which went into stock when it was received);
- received_serials: the serials scanned on arrival, the ones that went into stock;
- checks: received_quantity never above quantity, surplus never negative.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 01:40:00.000000
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shipment_line', schema=None) as batch_op:
        batch_op.add_column(sa.Column('surplus', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('surplus_status', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('received_serials', sa.JSON(), nullable=True))
    # Over-receipts made before this revision were posted as stock: keep them, recorded as such.
    op.execute("UPDATE shipment_line SET surplus = received_quantity - quantity, surplus_status = 'posted', "
               "received_quantity = quantity WHERE received_quantity > quantity")
    with op.batch_alter_table('shipment_line', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'received_within_shipped', 'received_quantity IS NULL OR (received_quantity >= 0 '
            'AND received_quantity <= quantity)')
        batch_op.create_check_constraint('surplus_not_negative', 'surplus >= 0')


def downgrade() -> None:
    with op.batch_alter_table('shipment_line', schema=None) as batch_op:
        batch_op.drop_constraint('surplus_not_negative', type_='check')
        batch_op.drop_constraint('received_within_shipped', type_='check')
    op.execute("UPDATE shipment_line SET received_quantity = received_quantity + surplus "
               "WHERE surplus_status IN ('posted', 'accepted')")
    with op.batch_alter_table('shipment_line', schema=None) as batch_op:
        batch_op.drop_column('received_serials')
        batch_op.drop_column('surplus_status')
        batch_op.drop_column('surplus')
