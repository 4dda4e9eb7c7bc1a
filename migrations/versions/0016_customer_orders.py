"""customer orders (the endless aisle): the order of a SKU for a customer and its history

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 07:10:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_order',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('deposit', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('promised_date', sa.Date(), nullable=False),
    sa.Column('fulfilment', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('customer_ref', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=True),
    sa.Column('source_kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('source_location_id', sa.Integer(), nullable=True),
    sa.Column('reserved_at_source', sa.Integer(), nullable=False),
    sa.Column('reserved_here', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=True),
    sa.Column('shipment_id', sa.Integer(), nullable=True),
    sa.Column('serials', sa.JSON(), nullable=True),
    sa.Column('sale_movement_id', sa.Integer(), nullable=True),
    sa.Column('refund', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=True),
    sa.Column('placed_by', sa.Integer(), nullable=True),
    sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("fulfilment IN ('pickup', 'delivery')", name='customer_order_fulfilment_known'),
    sa.CheckConstraint("state IN ('placed', 'sourced', 'shipped', 'arrived', 'handed_over', 'cancelled')", name='customer_order_state_known'),
    sa.CheckConstraint('deposit >= 0', name='customer_order_deposit_not_negative'),
    sa.CheckConstraint('quantity >= 1 AND quantity <= 5', name='customer_order_quantity_bounded'),
    sa.ForeignKeyConstraint(['placed_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.ForeignKeyConstraint(['sale_movement_id'], ['movement.id'], ),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id'], ),
    sa.ForeignKeyConstraint(['source_location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['store_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfer_request.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.create_index('ix_customer_order_source_state', ['source_location_id', 'state'], unique=False)
        batch_op.create_index('ix_customer_order_store_state', ['store_id', 'state'], unique=False)

    op.create_table('customer_order_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('from_state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('to_state', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['customer_order.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_order_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_order_event_order_id'), ['order_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_order_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_order_event_order_id'))

    op.drop_table('customer_order_event')
    with op.batch_alter_table('customer_order', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_order_store_state')
        batch_op.drop_index('ix_customer_order_source_state')

    op.drop_table('customer_order')
