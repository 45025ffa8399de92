"""Unique visits stay one per hour per visitor and link when two drainers store interleaved files of the
same visitor, in either order or at the same time (PostgreSQL: an advisory lock around each chunk)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from runtime.config import Settings
from services import click_buffer, clicks
from services.click_buffer import ClickBuffer, clicks_dir
from services.clicks import drain_clicks, drain_file
from tests.conftest import make_settings
from tests.support.clicks import make_link, raw_click, stored_clicks

HOUR = timedelta(hours=1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))


def write_file(settings: Settings, link_id: str, offsets: list[int], start: float) -> None:
    buffer = ClickBuffer(clicks_dir(settings.run_dir), rotate_seconds=3600)
    for minutes in offsets:
        buffer.append(raw_click(link_id, at=start + minutes * 60))
    buffer.close()


def assert_one_unique_per_hour(settings: Settings, visits: int, hours: int, *, exact: bool = True) -> None:
    """At most one unique visit in any hour, and every visit within an hour of one (``exact``: ``hours``
    of them, as one drainer storing the visits in time order would mark)."""
    rows = stored_clicks(settings)
    assert len(rows) == visits
    uniques = [r.at for r in rows if r.unique_visit]
    assert (len(uniques) == hours) if exact else (0 < len(uniques) <= hours), uniques
    assert all(later - earlier >= HOUR for earlier, later in pairwise(uniques))
    assert all(any(abs(r.at - u) < HOUR for u in uniques) for r in rows)  # every visit is covered by one


def test_a_later_file_stored_first_does_not_double_count(
    db_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One visitor every 10 minutes for 3 hours; the odd visits' file is stored before the even ones', by
    drainers in two processes (each with its own memo of recent unique visits)."""
    _, link_id = make_link(db_settings)
    monkeypatch.setattr(clicks, "_memo", clicks.UniqueMemo())
    start = time.time() - 5 * 3600
    write_file(db_settings, link_id, list(range(10, 180, 20)), start)
    assert drain_clicks(db_settings) == 9  # the first drainer took the later visits' file
    monkeypatch.setattr(clicks, "_memo", clicks.UniqueMemo())  # the other process knows nothing of it
    write_file(db_settings, link_id, list(range(0, 180, 20)), start)
    assert drain_clicks(db_settings) == 9  # the second one the earlier visits'
    assert_one_unique_per_hour(db_settings, visits=18, hours=3)


def test_two_drainers_at_once_count_one_unique_per_hour(
    tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path, database_url=postgres_url)
    _, link_id = make_link(settings)
    start = time.time() - 5 * 3600
    for first in range(8):  # 8 files, each a visit every 8 minutes from its own offset: 180 minutes
        write_file(settings, link_id, list(range(first, 180, 8)), start)
    files = click_buffer.claim_files(clicks_dir(settings.run_dir))
    assert len(files) == 8
    barrier = threading.Barrier(2)
    monkeypatch.setattr(clicks, "_memo", clicks.UniqueMemo())

    def drainer(mine: list[Path]) -> None:
        barrier.wait()
        for path in mine:
            drain_file(settings, path)

    threads = [threading.Thread(target=drainer, args=(files[n::2],)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert_one_unique_per_hour(settings, visits=180, hours=3, exact=False)  # the order varies
