"""weekly emails: the outbox (one row per recipient, kind and ISO week) and the opt-outs

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 04:10:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'email_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('week', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('scope_id', sa.Integer(), nullable=True),
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=240), nullable=True),
        sa.Column('message_id', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('store', 'brand', 'planner')", name='email_kind_known'),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'skipped')",
                           name='outbox_status_known'),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'kind', 'week', name='uq_email_outbox_user_kind_week'),
    )
    op.create_index('ix_email_outbox_week_status', 'email_outbox', ['week', 'status'], unique=False)
    op.create_table(
        'email_opt_out',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('via', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
        sa.PrimaryKeyConstraint('user_id'),
    )


def downgrade() -> None:
    op.drop_table('email_opt_out')
    op.drop_index('ix_email_outbox_week_status', table_name='email_outbox')
    op.drop_table('email_outbox')
