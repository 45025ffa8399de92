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
