"""The reports' queries run on SQLite and on PostgreSQL (its GROUP BY is stricter)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config import Settings
from tests.conftest import make_settings


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))
