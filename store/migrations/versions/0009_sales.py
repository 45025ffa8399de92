"""sales tracking: the click log, shop sales with lines, events and attribution, customer bindings, webhook
receipts; commission rates, the append-only ledger, payout batches; weight presets learned from sales

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('commission_rates',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('basis_points', sa.Integer(), nullable=True),
    sa.Column('amount_per_unit', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_rates')),
    sa.UniqueConstraint('scope', 'key', 'level', name='uq_commission_rates_scope_key_level')
    )
    op.create_table('payout_batches',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('minimum', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_batches'))
    )
    op.create_table('sales',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('order_id', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('refund_amount', sa.BigInteger(), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('click_id', sa.String(length=32), nullable=True),
    sa.Column('share_code', sa.String(length=16), nullable=True),
    sa.Column('customer_id', sa.String(length=128), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales')),
    sa.UniqueConstraint('order_id', name=op.f('uq_sales_order_id'))
    )
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sales_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sales_paid_at'), ['paid_at'], unique=False)

    op.create_table('webhook_receipts',
    sa.Column('webhook_id', sa.String(length=200), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('webhook_id', name=op.f('pk_webhook_receipts'))
    )
    op.create_table('weight_presets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('based_on_sales', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_weight_presets'))
    )
    op.create_table('ledger_entries',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('leader_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=8), nullable=False),
    sa.Column('sale_id', sa.String(length=32), nullable=True),
    sa.Column('batch_id', sa.String(length=32), nullable=True),
    sa.Column('refers_to', sa.BigInteger(), nullable=True),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['payout_batches.id'], name=op.f('fk_ledger_entries_batch_id_payout_batches'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_ledger_entries_leader_id_leaders'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_ledger_entries_sale_id_sales'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_entries'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index('ix_ledger_entries_leader', ['leader_id', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_sale_id'), ['sale_id'], unique=False)

    op.create_table('sale_events',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('sale_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('refund_amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_sale_events_sale_id_sales'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_events'))
    )
    with op.batch_alter_table('sale_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_events_sale_id'), ['sale_id'], unique=False)

    op.create_table('sale_lines',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('sale_id', sa.String(length=32), nullable=False),
    sa.Column('sku', sa.String(length=128), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_sale_lines_sale_id_sales'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_lines'))
    )
    with op.batch_alter_table('sale_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sale_lines_sale_id'), ['sale_id'], unique=False)

    op.create_table('attributions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('sale_id', sa.String(length=32), nullable=False),
    sa.Column('link_id', sa.String(length=32), nullable=True),
    sa.Column('clip_id', sa.String(length=32), nullable=True),
    sa.Column('leader_id', sa.String(length=64), nullable=True),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('recording_id', sa.String(length=32), nullable=True),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('click_id', sa.String(length=32), nullable=True),
    sa.Column('attributed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['clip_id'], ['clips.id'], name=op.f('fk_attributions_clip_id_clips'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_attributions_leader_id_leaders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['link_id'], ['share_links.id'], name=op.f('fk_attributions_link_id_share_links'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sale_id'], ['sales.id'], name=op.f('fk_attributions_sale_id_sales'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attributions')),
    sa.UniqueConstraint('sale_id', name='uq_attributions_sale')
    )
    with op.batch_alter_table('attributions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attributions_clip_id'), ['clip_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attributions_leader_id'), ['leader_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attributions_link_id'), ['link_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attributions_recording_id'), ['recording_id'], unique=False)

    op.create_table('clicks',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('link_id', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=False),
    sa.Column('identity', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.Text(), nullable=True),
    sa.Column('referer', sa.Text(), nullable=True),
    sa.Column('in_app', sa.String(length=16), nullable=True),
    sa.Column('bot', sa.Boolean(), nullable=False),
    sa.Column('bot_reason', sa.String(length=64), nullable=True),
    sa.Column('unique_visit', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['link_id'], ['share_links.id'], name=op.f('fk_clicks_link_id_share_links'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clicks'))
    )
    with op.batch_alter_table('clicks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clicks_at'), ['at'], unique=False)
        batch_op.create_index('ix_clicks_identity_link_at', ['identity', 'link_id', 'at'], unique=False)
        batch_op.create_index('ix_clicks_link_at', ['link_id', 'at'], unique=False)

    op.create_table('customer_bindings',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=128), nullable=False),
    sa.Column('leader_id', sa.String(length=64), nullable=False),
    sa.Column('link_id', sa.String(length=32), nullable=True),
    sa.Column('bound_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['leader_id'], ['leaders.id'], name=op.f('fk_customer_bindings_leader_id_leaders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['link_id'], ['share_links.id'], name=op.f('fk_customer_bindings_link_id_share_links'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_bindings'))
    )
    with op.batch_alter_table('customer_bindings', schema=None) as batch_op:
        batch_op.create_index('ix_customer_bindings_customer', ['customer_id', 'bound_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('customer_bindings', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_bindings_customer')

    op.drop_table('customer_bindings')
    with op.batch_alter_table('clicks', schema=None) as batch_op:
        batch_op.drop_index('ix_clicks_link_at')
        batch_op.drop_index('ix_clicks_identity_link_at')
        batch_op.drop_index(batch_op.f('ix_clicks_at'))

    op.drop_table('clicks')
    with op.batch_alter_table('attributions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attributions_recording_id'))
        batch_op.drop_index(batch_op.f('ix_attributions_link_id'))
        batch_op.drop_index(batch_op.f('ix_attributions_leader_id'))
        batch_op.drop_index(batch_op.f('ix_attributions_clip_id'))

    op.drop_table('attributions')
    with op.batch_alter_table('sale_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_lines_sale_id'))

    op.drop_table('sale_lines')
    with op.batch_alter_table('sale_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sale_events_sale_id'))

    op.drop_table('sale_events')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_sale_id'))
        batch_op.drop_index('ix_ledger_entries_leader')
        batch_op.drop_index(batch_op.f('ix_ledger_entries_batch_id'))

    op.drop_table('ledger_entries')
    op.drop_table('weight_presets')
    op.drop_table('webhook_receipts')
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sales_paid_at'))
        batch_op.drop_index(batch_op.f('ix_sales_customer_id'))

    op.drop_table('sales')
    op.drop_table('payout_batches')
    op.drop_table('commission_rates')
