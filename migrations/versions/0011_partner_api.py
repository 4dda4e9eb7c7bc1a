"""partner API: keys, kept responses, purchase orders to brands and their shipment notices; product versions;
the integration role

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 04:10:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin', 'planner', 'store_manager', 'store_staff', 'brand_partner')"
NEW_ROLES = "role IN ('admin', 'planner', 'store_manager', 'store_staff', 'brand_partner', 'integration')"
S = sqlmodel.sql.sqltypes.AutoString


def _roles(condition: str) -> None:
    with op.batch_alter_table('user', recreate='always' if op.get_bind().dialect.name == 'sqlite' else 'auto') as batch:
        batch.drop_constraint('role_known', type_='check')
        batch.create_check_constraint('role_known', condition)


def upgrade() -> None:
    _roles(NEW_ROLES)
    with op.batch_alter_table('product') as batch:
        batch.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    op.create_table(
        'api_key',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prefix', S(length=16), nullable=False),
        sa.Column('secret_hash', S(length=64), nullable=False),
        sa.Column('name', S(length=80), nullable=False),
        sa.Column('brand_id', sa.Integer(), nullable=True),
        sa.Column('store_id', sa.Integer(), nullable=True),
        sa.Column('scopes', S(length=16), nullable=False),
        sa.Column('language', S(length=8), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('replaced_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('(brand_id IS NULL) <> (store_id IS NULL)', name='api_key_one_tenant'),
        sa.CheckConstraint("scopes IN ('read', 'read,write')", name='api_key_scopes_known'),
        sa.CheckConstraint("language IN ('zh_Hans', 'zh_Hant', 'en')", name='api_key_language_known'),
        sa.ForeignKeyConstraint(['brand_id'], ['brand.id']),
        sa.ForeignKeyConstraint(['store_id'], ['location.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.ForeignKeyConstraint(['created_by'], ['user.id']),
        sa.ForeignKeyConstraint(['replaced_by_id'], ['api_key.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_api_key_prefix', 'api_key', ['prefix'], unique=True)
    op.create_index('ix_api_key_brand_id', 'api_key', ['brand_id'])
    op.create_index('ix_api_key_store_id', 'api_key', ['store_id'])
    op.create_table(
        'api_response',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('key', S(length=64), nullable=False),
        sa.Column('fingerprint', S(length=64), nullable=False),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'key', name='uq_api_response_user_key'),
    )
    op.create_index('ix_api_response_created_at', 'api_response', ['created_at'])
    op.create_table(
        'purchase_order',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference', S(length=32), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('brand_id', sa.Integer(), nullable=False),
        sa.Column('dc_id', sa.Integer(), nullable=False),
        sa.Column('status', S(length=12), nullable=False),
        sa.Column('arrival_week', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('open', 'answered', 'closed')", name='purchase_status_known'),
        sa.ForeignKeyConstraint(['run_id'], ['replenishment_run.id']),
        sa.ForeignKeyConstraint(['brand_id'], ['brand.id']),
        sa.ForeignKeyConstraint(['dc_id'], ['location.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('run_id', 'brand_id', 'dc_id', name='one_order_per_plan_brand_dc'),
    )
    op.create_index('ix_purchase_order_reference', 'purchase_order', ['reference'], unique=True)
    op.create_index('ix_purchase_order_run_id', 'purchase_order', ['run_id'])
    op.create_index('ix_purchase_order_brand_id', 'purchase_order', ['brand_id'])
    op.create_index('ix_purchase_order_status', 'purchase_order', ['status'])
    op.create_table(
        'purchase_order_line',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('proposal_id', sa.Integer(), nullable=True),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('status', S(length=12), nullable=False),
        sa.Column('confirmed_quantity', sa.Integer(), nullable=True),
        sa.Column('notified_quantity', sa.Integer(), server_default='0', nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('quantity > 0', name='purchase_line_positive'),
        sa.CheckConstraint("status IN ('open', 'confirmed', 'rejected')", name='purchase_line_status_known'),
        sa.CheckConstraint('confirmed_quantity IS NULL OR (confirmed_quantity >= 0 AND confirmed_quantity <= quantity)',
                           name='confirmed_within_proposed'),
        sa.CheckConstraint('notified_quantity >= 0 AND notified_quantity <= COALESCE(confirmed_quantity, 0)',
                           name='notified_within_confirmed'),
        sa.ForeignKeyConstraint(['order_id'], ['purchase_order.id']),
        sa.ForeignKeyConstraint(['product_id'], ['product.id']),
        sa.ForeignKeyConstraint(['proposal_id'], ['purchase_proposal.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('order_id', 'product_id'),
    )
    op.create_index('ix_purchase_order_line_order_id', 'purchase_order_line', ['order_id'])
    op.create_table(
        'shipment_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('brand_id', sa.Integer(), nullable=False),
        sa.Column('reference', S(length=40), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('shipment_id', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['brand_id'], ['brand.id']),
        sa.ForeignKeyConstraint(['order_id'], ['purchase_order.id']),
        sa.ForeignKeyConstraint(['shipment_id'], ['shipment.id']),
        sa.ForeignKeyConstraint(['created_by'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('brand_id', 'reference', name='uq_shipment_notice_brand_reference'),
        sa.UniqueConstraint('shipment_id'),
    )
    op.create_index('ix_shipment_notice_brand_id', 'shipment_notice', ['brand_id'])
    op.create_index('ix_shipment_notice_order_id', 'shipment_notice', ['order_id'])


def downgrade() -> None:
    op.drop_table('shipment_notice')
    op.drop_table('purchase_order_line')
    op.drop_table('purchase_order')
    op.drop_table('api_response')
    op.drop_table('api_key')
    with op.batch_alter_table('product') as batch:
        batch.drop_column('version')
    _roles(OLD_ROLES)
