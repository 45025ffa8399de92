"""highlights.dismissed: a deleted automatic highlight stays as a tombstone

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('highlights', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.execute(sa.text('DELETE FROM highlights WHERE dismissed'))
    with op.batch_alter_table('highlights', schema=None) as batch_op:
        batch_op.drop_column('dismissed')
