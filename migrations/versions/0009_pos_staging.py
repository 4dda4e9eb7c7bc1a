"""POS files staged server-side between preview and confirmation; the fingerprints of imported till rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 01:40:00.000000
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pos_staged_file',
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('file_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.Column('uploader_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['store_id'], ['location.id'], ),
        sa.ForeignKeyConstraint(['uploader_id'], ['user.id'], ),
        sa.PrimaryKeyConstraint('store_id', 'file_sha256'),
    )
    with op.batch_alter_table('pos_staged_file', schema=None) as batch_op:
        batch_op.create_index('ix_pos_staged_file_created_at', ['created_at'], unique=False)
    op.create_table(
        'pos_import_row',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('store_id', sa.Integer(), nullable=False),
        sa.Column('row_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('row_number', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['import_id'], ['pos_import.id'], ),
        sa.ForeignKeyConstraint(['store_id'], ['location.id'], ),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('store_id', 'row_key', name='uq_pos_import_row_store_key'),
    )
    with op.batch_alter_table('pos_import_row', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pos_import_row_import_id'), ['import_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pos_import_row', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pos_import_row_import_id'))
    op.drop_table('pos_import_row')
    with op.batch_alter_table('pos_staged_file', schema=None) as batch_op:
        batch_op.drop_index('ix_pos_staged_file_created_at')
    op.drop_table('pos_staged_file')
