"""settlement (issue 15): agreement versions, price entries, order pricing and credit holds, invoices
(unique per order), payments (unique per store and reference), monthly statements (unique per store, month
and sequence)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 04:06:02.208696
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('statement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('reported_in', sa.Date(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('agreement_versions', sa.JSON(), nullable=False),
    sa.Column('totals', sa.JSON(), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('seen_movement_id', sa.Integer(), nullable=False),
    sa.Column('seen_invoice_id', sa.Integer(), nullable=False),
    sa.Column('seen_payment_id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("model IN ('franchise', 'consignment')", name='statement_model_known'),
    sa.CheckConstraint('sequence >= 1', name='statement_sequence_positive'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('location_id', 'month', 'sequence', name='uq_statement_store_month_sequence'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.create_index('ix_statement_month', ['month'], unique=False)

    op.create_table('agreement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('wholesale_tier', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('revenue_share', sa.Numeric(precision=6, scale=4), nullable=True),
    sa.Column('shrinkage_rate', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('brand_terms', sa.JSON(), nullable=True),
    sa.Column('authorised_brands', sa.JSON(), nullable=True),
    sa.Column('deposit', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('credit_limit', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("currency IN ('CNY', 'HKD')", name='agreement_currency_known'),
    sa.CheckConstraint("model IN ('franchise', 'consignment')", name='agreement_model_known'),
    sa.CheckConstraint("status IN ('active', 'suspended', 'terminated')", name='agreement_status_known'),
    sa.CheckConstraint('credit_limit IS NULL OR credit_limit >= 0', name='credit_limit_not_negative'),
    sa.CheckConstraint('deposit >= 0', name='deposit_not_negative'),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= valid_from', name='agreement_ends_after_start'),
    sa.CheckConstraint('payment_terms_days >= 0 AND payment_terms_days <= 365', name='payment_terms_bounded'),
    sa.CheckConstraint('revenue_share IS NULL OR (revenue_share >= 0 AND revenue_share <= 1)', name='revenue_share_fraction'),
    sa.CheckConstraint('shrinkage_rate >= 0 AND shrinkage_rate <= 2', name='shrinkage_rate_bounded'),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('location_id', 'version', name='uq_agreement_store_version')
    )
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.create_index('ix_agreement_store_from', ['location_id', 'valid_from'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("currency IN ('CNY', 'HKD')", name='payment_currency_known'),
    sa.CheckConstraint('amount > 0', name='payment_positive'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['recorded_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('location_id', 'reference', name='uq_payment_store_reference')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_store_received', ['location_id', 'received_at'], unique=False)

    op.create_table('price_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('price_list', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('promotion', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("currency IN ('CNY', 'HKD')", name='price_currency_known'),
    sa.CheckConstraint('amount >= 0', name='price_not_negative'),
    sa.CheckConstraint('valid_to IS NULL OR valid_to >= valid_from', name='price_range_ordered'),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['product_id'], ['product.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('price_entry', schema=None) as batch_op:
        batch_op.create_index('ix_price_entry_lookup', ['product_id', 'price_list', 'currency', 'valid_from'], unique=False)

    op.create_table('invoice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.CheckConstraint("currency IN ('CNY', 'HKD')", name='invoice_currency_known'),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['replenishment_order.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number'),
    sa.UniqueConstraint('order_id')
    )
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_location_id'), ['location_id'], unique=False)

    op.create_table('order_pricing',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('open_balance', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('credit_limit', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('hold_reasons', sa.JSON(), nullable=False),
    sa.Column('held', sa.Boolean(), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('priced_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], ),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], ),
    sa.ForeignKeyConstraint(['order_id'], ['replenishment_order.id'], ),
    sa.PrimaryKeyConstraint('order_id')
    )
    with op.batch_alter_table('order_pricing', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_pricing_location_id'), ['location_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('order_pricing', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_pricing_location_id'))

    op.drop_table('order_pricing')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_location_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_issued_at'))

    op.drop_table('invoice')
    with op.batch_alter_table('price_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_price_entry_lookup')

    op.drop_table('price_entry')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_store_received')

    op.drop_table('payment')
    with op.batch_alter_table('agreement', schema=None) as batch_op:
        batch_op.drop_index('ix_agreement_store_from')

    op.drop_table('agreement')
    with op.batch_alter_table('statement', schema=None) as batch_op:
        batch_op.drop_index('ix_statement_month')

    op.drop_table('statement')
