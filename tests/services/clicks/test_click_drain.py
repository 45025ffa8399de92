"""The click buffer and its drainer: nothing lost (crash, shutdown, database down), each click stored once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from runtime.config import Settings
from services import click_buffer
from services.click_buffer import ClickBuffer, clicks_dir
from services.clicks import ClickDrainer, drain_clicks
from tests.support.clicks import make_link, raw_click, stored_clicks

ROOT = Path(__file__).resolve().parents[3]


def _files(settings: Settings) -> list[str]:
    directory = clicks_dir(settings.run_dir)
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_a_killed_writer_loses_nothing(settings: Settings) -> None:
    """A process appends N clicks and is SIGKILLed without closing: a later drainer stores all N."""
    _, link_id = make_link(settings)
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from services.click_buffer import ClickBuffer\n"
        "from tests.support.clicks import raw_click\n"
        "buffer = ClickBuffer(Path(sys.argv[1]), rotate_seconds=3600)\n"
        "for n in range(250):\n"
        "    buffer.append(raw_click(sys.argv[2], ip=f'10.0.{n // 200}.{n % 200}'))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    directory = clicks_dir(settings.run_dir)
    done = subprocess.run([sys.executable, "-c", script, str(directory), link_id], cwd=ROOT, check=False)
    assert done.returncode == -9
    (part,) = directory.glob("*.part")
    assert drain_clicks(settings) == 0  # too fresh to call abandoned: its writer might still be alive
    _age(part, 10)
    assert drain_clicks(settings) == 250
    rows = stored_clicks(settings)
    assert len(rows) == 250 and len({r.id for r in rows}) == 250 and not _files(settings)
    assert all(r.unique_visit and not r.bot and r.kind == "click" for r in rows)  # 250 different visitors


def test_a_live_writers_file_is_left_alone_however_old(settings: Settings) -> None:
    _, link_id = make_link(settings)
    buffer = ClickBuffer(clicks_dir(settings.run_dir), rotate_seconds=3600)
    buffer.append(raw_click(link_id))
    (part,) = clicks_dir(settings.run_dir).glob("*.part")
    _age(part, 600)
    assert drain_clicks(settings) == 0 and part.exists()  # its flock is held
    buffer.close()  # shutdown: closed and drainable at once
    assert [name.endswith(".jsonl") for name in _files(settings)] == [True]
    assert drain_clicks(settings) == 1 and not _files(settings)


def test_files_rotate_by_age_and_size(settings: Settings) -> None:
    _, link_id = make_link(settings)
    now = [0.0]
    buffer = ClickBuffer(clicks_dir(settings.run_dir), rotate_seconds=1.0, rotate_bytes=10_000, clock=lambda: now[0])
    buffer.append(raw_click(link_id))
    assert [n.endswith(".part") for n in _files(settings)] == [True]
    buffer.rotate()
    assert [n.endswith(".part") for n in _files(settings)] == [True]  # not due yet
    now[0] = 1.5
    buffer.rotate()  # the idle drainer closes it
    assert [n.endswith(".jsonl") for n in _files(settings)] == [True]
    for _ in range(60):  # ~200 bytes a line: rotates by size every ~50 lines
        buffer.append(raw_click(link_id))
    buffer.close()
    assert len(_files(settings)) >= 2 and drain_clicks(settings) == 61


def test_the_database_down_keeps_the_clicks_for_later(settings: Settings) -> None:
    _, link_id = make_link(settings)
    buffer = ClickBuffer(clicks_dir(settings.run_dir))
    for _ in range(20):
        buffer.append(raw_click(link_id))
    buffer.close()
    down = settings.model_copy(update={"database_url": f"sqlite:///{settings.media_root}/missing/dir/x.db"})
    with pytest.raises(SQLAlchemyError):
        drain_clicks(down)
    assert [n.endswith(".jsonl") for n in _files(settings)] == [True]  # given back, not deleted
    drainer = ClickDrainer(down, ClickBuffer(clicks_dir(settings.run_dir)))
    assert drainer.tick() == 0  # the background drainer logs and retries
    assert drain_clicks(settings) == 20 and len(stored_clicks(settings)) == 20 and not _files(settings)


def test_racing_drainers_store_each_click_once(settings: Settings) -> None:
    _, link_id = make_link(settings)
    expected = 0
    for _ in range(8):
        buffer = ClickBuffer(clicks_dir(settings.run_dir))
        for _ in range(40):
            buffer.append(raw_click(link_id))
            expected += 1
        buffer.close()
    totals: list[int] = []

    def drain() -> None:
        inserted = 0
        for _ in range(50):
            try:
                inserted += drain_clicks(settings)
            except SQLAlchemyError:  # SQLite's writer lock: files were given back, try again
                time.sleep(0.05)
            if not _files(settings):
                break
        totals.append(inserted)

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rows = stored_clicks(settings)
    assert sum(totals) == expected == len(rows) == len({r.id for r in rows}) and not _files(settings)


def test_a_dead_drainers_claim_is_retaken_and_stored_ids_are_skipped(settings: Settings) -> None:
    _, link_id = make_link(settings)
    buffer = ClickBuffer(clicks_dir(settings.run_dir))
    records = [raw_click(link_id) for _ in range(5)]
    for record in records:
        buffer.append(record)
    buffer.close()
    (ready,) = clicks_dir(settings.run_dir).glob("*.jsonl")
    copy = ready.read_bytes()
    (claimed,) = click_buffer.claim_files(clicks_dir(settings.run_dir))  # a drainer takes it ... and dies
    assert drain_clicks(settings) == 0  # a fresh claim is someone's work in progress
    _age(claimed, 120)
    assert drain_clicks(settings) == 5
    (clicks_dir(settings.run_dir) / "0000000000000-1-replay.jsonl").write_bytes(copy + b'{"torn line\n')
    assert drain_clicks(settings) == 0  # replayed ids are skipped, the torn line too
    assert len(stored_clicks(settings)) == 5 and not _files(settings)


def test_unique_visits_span_drains_and_links(settings: Settings) -> None:
    _, first = make_link(settings)
    _, second = make_link(settings, target="https://shop.example.com/p/2")
    start = time.time() - 7200
    visits = [(first, 0), (first, 1800), (second, 1900), (first, 3700)]  # seconds after start
    for link_id, offset in visits:
        buffer = ClickBuffer(clicks_dir(settings.run_dir))
        buffer.append(raw_click(link_id, at=start + offset))
        buffer.append(raw_click(link_id, at=start + offset + 1, m="HEAD"))  # a bot: never unique
        buffer.close()
        drain_clicks(settings)  # one drain each: the rule reads earlier drains from the database
    rows = [r for r in stored_clicks(settings) if not r.bot]
    assert [(r.link_id == first, r.unique_visit) for r in rows] == [
        (True, True),
        (True, False),
        (False, True),
        (True, True),
    ]
    assert all(not r.unique_visit for r in stored_clicks(settings) if r.bot)


def test_drains_into_postgres_once(tmp_path: Path, postgres_url: str) -> None:
    from tests.conftest import make_settings

    settings = make_settings(tmp_path, database_url=postgres_url)
    _, link_id = make_link(settings)
    buffer = ClickBuffer(clicks_dir(settings.run_dir))
    records = [raw_click(link_id), raw_click(link_id, m="HEAD"), raw_click(link_id, ua="TelegramBot (like TwitterBot)")]
    for record in records:
        buffer.append(record)
    buffer.close()
    (ready,) = clicks_dir(settings.run_dir).glob("*.jsonl")
    copy = ready.read_bytes()
    assert drain_clicks(settings) == 3
    (clicks_dir(settings.run_dir) / "0000000000000-1-again.jsonl").write_bytes(copy)
    assert drain_clicks(settings) == 0
    rows = stored_clicks(settings)
    assert sorted((r.bot, r.bot_reason, r.unique_visit) for r in rows) == [
        (False, None, True),
        (True, "head", False),
        (True, "preview:telegram", False),
    ]
