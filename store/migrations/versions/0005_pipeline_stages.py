"""pipeline stages: jobs.parent_id and jobs.key

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parent_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('key', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_jobs_parent_id'), ['parent_id'], unique=False)
        batch_op.create_unique_constraint('uq_jobs_parent_key', ['parent_id', 'key'])
        batch_op.create_foreign_key(
            batch_op.f('fk_jobs_parent_id_jobs'), 'jobs', ['parent_id'], ['id'], ondelete='CASCADE'
        )


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_jobs_parent_id_jobs'), type_='foreignkey')
        batch_op.drop_constraint('uq_jobs_parent_key', type_='unique')
        batch_op.drop_index(batch_op.f('ix_jobs_parent_id'))
        batch_op.drop_column('key')
        batch_op.drop_column('parent_id')
