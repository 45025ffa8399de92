"""distribution: channel targets, publications, remembered uploads, caption templates; clip review
fields, a variant's render lock, leaders' communities, a coupon's expiry

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 22:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('caption_templates',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', name=op.f('pk_caption_templates'))
    )
    op.create_table('channel_media',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('media_key', sa.String(length=300), nullable=False),
    sa.Column('remote_id', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_media')),
    sa.UniqueConstraint('account', 'media_key', name='uq_channel_media_account_key')
    )
    op.create_table('channel_targets',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('leader_id', sa.String(length=64), nullable=True),
    sa.Column('config', sa.JSON(), nullable=False),
    sa.Column('secrets', sa.Text(), nullable=True),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_channel_targets_leader_id_leaders'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_targets'))
    )
    with op.batch_alter_table('channel_targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_targets_leader_id'), ['leader_id'], unique=False)

    op.create_table('publications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('clip_id', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=32), nullable=False),
    sa.Column('leader_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('external_id', sa.String(length=200), nullable=True),
    sa.Column('external_url', sa.Text(), nullable=True),
    sa.Column('form', sa.String(length=16), nullable=True),
    sa.Column('caption', sa.Text(), nullable=True),
    sa.Column('job_id', sa.String(length=32), nullable=True),
    sa.Column('sending_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_publications_clip_id_clips'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_publications_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_publications_leader_id_leaders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['target_id'], ['channel_targets.id'], name=op.f('fk_publications_target_id_channel_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_publications_idempotency_key'))
    )
    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_publications_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_leader_id'), ['leader_id'], unique=False)
        batch_op.create_index('ix_publications_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_publications_target_id'), ['target_id'], unique=False)

    with op.batch_alter_table('clip_variants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_clip_variants_job_id_jobs'), 'jobs', ['job_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_status', sa.String(length=16), server_default='draft', nullable=False))
        batch_op.add_column(sa.Column('title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('caption', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('hashtags', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=32), nullable=True))

    with op.batch_alter_table('leaders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('communities', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))

    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coupon_expires', sa.DateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_column('coupon_expires')

    with op.batch_alter_table('leaders', schema=None) as batch_op:
        batch_op.drop_column('communities')

    with op.batch_alter_table('clips', schema=None) as batch_op:
        batch_op.drop_column('approved_by')
        batch_op.drop_column('approved_at')
        batch_op.drop_column('hashtags')
        batch_op.drop_column('caption')
        batch_op.drop_column('title')
        batch_op.drop_column('review_status')

    with op.batch_alter_table('clip_variants', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_clip_variants_job_id_jobs'), type_='foreignkey')
        batch_op.drop_column('job_id')

    with op.batch_alter_table('publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_publications_target_id'))
        batch_op.drop_index('ix_publications_status_due')
        batch_op.drop_index(batch_op.f('ix_publications_leader_id'))
        batch_op.drop_index(batch_op.f('ix_publications_clip_id'))

    op.drop_table('publications')
    with op.batch_alter_table('channel_targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_targets_leader_id'))

    op.drop_table('channel_targets')
    op.drop_table('channel_media')
    op.drop_table('caption_templates')
