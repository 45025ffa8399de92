"""leaders: a table of community leaders; leader keys, variants and share links reference it

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 20:00:00.000000
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'leaders',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=True),
        sa.Column('wechat', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('recruiter_id', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['recruiter_id'], ['leaders.id'], name=op.f('fk_leaders_recruiter_id_leaders'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_leaders')),
    )
    # Leaders named by existing variants and share links become rows, so the new foreign keys hold.
    bind = op.get_bind()
    known: dict[str, str] = {}
    for leader_id, name in bind.execute(sa.text('SELECT leader_id, leader_name FROM clip_variants')):
        known.setdefault(leader_id, name)
    for (leader_id,) in bind.execute(sa.text('SELECT leader_id FROM share_links WHERE leader_id IS NOT NULL')):
        known.setdefault(leader_id, leader_id)
    now = datetime.now(UTC)
    leaders = sa.table('leaders', sa.column('id'), sa.column('name'), sa.column('status'),
                       sa.column('created_at', sa.DateTime(timezone=True)),
                       sa.column('updated_at', sa.DateTime(timezone=True)))
    if known:
        op.bulk_insert(leaders, [{'id': k, 'name': v, 'status': 'active', 'created_at': now, 'updated_at': now}
                                 for k, v in known.items()])
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leader_id', sa.String(length=64), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_api_keys_leader_id_leaders'), 'leaders', ['leader_id'], ['id'],
                                    ondelete='CASCADE')
    with op.batch_alter_table('clip_variants', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_clip_variants_leader_id_leaders'), 'leaders', ['leader_id'], ['id'])
    _recreating_binding_index(
        lambda batch_op: batch_op.create_foreign_key(
            batch_op.f('fk_share_links_leader_id_leaders'), 'leaders', ['leader_id'], ['id']
        )
    )


def _recreating_binding_index(change) -> None:
    """Alter share_links; SQLite's batch mode rebuilds the table and cannot carry the expression index over."""
    op.drop_index('uq_share_links_binding', table_name='share_links')
    with op.batch_alter_table('share_links', schema=None) as batch_op:
        change(batch_op)
    op.create_index(
        'uq_share_links_binding', 'share_links',
        ['clip_id', sa.text("coalesce(leader_id, '')"), sa.text("coalesce(channel, '')")], unique=True,
    )


def downgrade() -> None:
    _recreating_binding_index(
        lambda batch_op: batch_op.drop_constraint(batch_op.f('fk_share_links_leader_id_leaders'), type_='foreignkey')
    )
    with op.batch_alter_table('clip_variants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_clip_variants_leader_id_leaders'), type_='foreignkey')
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_api_keys_leader_id_leaders'), type_='foreignkey')
        batch_op.drop_column('leader_id')
    op.drop_table('leaders')
