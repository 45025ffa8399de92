"""one live publication per (clip, target, leader): a partial unique index ignoring failed and cancelled ones

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

LIVE = "status NOT IN ('failed', 'cancelled')"


def upgrade() -> None:
    # Before the index: of live duplicates already stored, keep the best one (sent or sending first, then
    # the oldest) and cancel the waiting ones, so the index can be built on a database with rows.
    rank = "(CASE {t}.status WHEN 'sent' THEN 0 WHEN 'sending' THEN 0 ELSE 1 END)"
    op.execute(
        sa.text(
            "UPDATE publications SET status = 'cancelled', due_at = NULL, "
            "last_error = 'cancelled by an upgrade: a duplicate of another live publication' "
            "WHERE status IN ('scheduled', 'pending', 'retrying', 'unknown') AND EXISTS ("
            "SELECT 1 FROM publications AS other WHERE other.id != publications.id "
            "AND other.clip_id = publications.clip_id AND other.target_id = publications.target_id "
            "AND coalesce(other.leader_id, '') = coalesce(publications.leader_id, '') "
            "AND other.status NOT IN ('failed', 'cancelled') "
            f"AND ({rank.format(t='other')} < {rank.format(t='publications')} "
            f"OR ({rank.format(t='other')} = {rank.format(t='publications')} "
            "AND (other.created_at < publications.created_at "
            "OR (other.created_at = publications.created_at AND other.id < publications.id)))))"
        )
    )
    # (autogenerate cannot reflect expression indexes on SQLite, so this one is written by hand)
    op.create_index(
        'uq_publications_once', 'publications',
        ['clip_id', 'target_id', sa.text("coalesce(leader_id, '')")],
        unique=True,
        sqlite_where=sa.text(LIVE),
        postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    op.drop_index('uq_publications_once', table_name='publications')
