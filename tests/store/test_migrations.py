"""Migrations apply from empty on SQLite and on PostgreSQL, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from store.db import current_revision, get_engine, head_revision, table_names, upgrade
from store.models import Base

EXPECTED_TABLES = {
    "recordings",
    "products",
    "timeline_segments",
    "chat_events",
    "stream_orders",
    "transcript_cues",
    "jobs",
    "api_keys",
    "uploads",
    "side_data_imports",
}


def _assert_migrated(url: str) -> None:
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision(url)
    assert set(table_names(url)) >= EXPECTED_TABLES
    with get_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    upgrade(url)  # a second upgrade is a no-op
    assert current_revision(url) == head_revision(url)


def test_migrations_apply_from_empty_on_sqlite(tmp_path: Path) -> None:
    _assert_migrated(f"sqlite:///{tmp_path / 'fresh.db'}")


@pytest.mark.postgres
def test_migrations_apply_from_empty_on_postgres(postgres_url: str) -> None:
    _assert_migrated(postgres_url)


def test_upgrading_a_database_with_rows_keeps_every_reference(tmp_path: Path) -> None:
    """0006 rebuilds tables on SQLite; rows that point at them must keep their references, and the leaders
    named by existing variants and links become rows."""
    from sqlalchemy import text

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    now = "2026-11-11 12:00:00"
    statements = [
        f"INSERT INTO recordings (id, title, source, original_filename, size_bytes, status, timezone, created_at, "
        f"updated_at) VALUES ('r1', 't', 'upload', 'a.mp4', 1, 'ready', 'Asia/Shanghai', '{now}', '{now}')",
        f"INSERT INTO api_keys (id, name, role, prefix, key_hash, created_at) "
        f"VALUES ('k1', 'c', 'content', 'p1', 'h', '{now}')",
        f'INSERT INTO uploads (id, filename, "offset", length, api_key_id, upload_metadata, created_at, expires_at) '
        f"VALUES ('u1', 'a.mp4', 0, 10, 'k1', '{{}}', '{now}', '{now}')",
        f'INSERT INTO clips (id, recording_id, preset, mode, start, "end", options, status, created_at, updated_at) '
        f"VALUES ('c1', 'r1', 'douyin', 'accurate', 0, 10, '{{}}', 'ready', '{now}', '{now}')",
        f"INSERT INTO clip_variants (id, clip_id, leader_id, leader_name, created_at, updated_at) "
        f"VALUES ('v1', 'c1', 'lily', 'Lily', '{now}', '{now}')",
        f"INSERT INTO share_links (id, code, clip_id, variant_id, leader_id, target_url, created_at) "
        f"VALUES ('s1', 'abcdefghjk', 'c1', 'v1', 'lily', 'https://shop.example/1', '{now}')",
    ]
    with get_engine(url).begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    upgrade(url)
    with get_engine(url).connect() as conn:
        assert conn.execute(text("SELECT api_key_id FROM uploads")).scalar() == "k1"
        assert conn.execute(text("SELECT variant_id, leader_id FROM share_links")).one() == ("v1", "lily")
        assert conn.execute(text("SELECT id, name FROM leaders")).all() == [("lily", "Lily")]
