"""``liveslice clicks drain``: the separate drainer ``liveslice serve`` runs. An API with
``LIVESLICE_CLICK_DRAIN=separate`` only buffers and rotates; the drainer process stores every click,
once, and a SIGTERM makes it store what is left before it exits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from services.click_buffer import clicks_dir
from store.db import upgrade
from tests.support.clicks import make_link, stored_clicks


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env["LIVESLICE_MEDIA_ROOT"] = str(tmp_path / "media")
    return env


def test_the_api_buffers_and_the_drainer_process_stores_every_click(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, media_root=tmp_path / "media", click_drain="separate")  # type: ignore[call-arg]
    upgrade(settings.database_url)
    code, _link = make_link(settings)
    with TestClient(create_app(settings)) as client:
        for n in range(12):
            headers = {"user-agent": "Mozilla/5.0 (iPhone) Safari/604.1" if n % 3 else "TelegramBot (like TwitterBot)"}
            assert client.get(f"/s/{code}", headers=headers, follow_redirects=False).status_code == 302
        deadline = time.monotonic() + 10  # the API's thread closes its file on time (about a second)
        while not list(clicks_dir(settings.run_dir).glob("*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(clicks_dir(settings.run_dir).glob("*.jsonl"))  # closed, ready for a drainer
        assert stored_clicks(settings) == []  # it stores nothing itself
        drainer = subprocess.Popen(
            [sys.executable, "-m", "liveslice", "clicks", "drain", "--follow", "--every", "0.2"],
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while len(stored_clicks(settings)) < 12 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(stored_clicks(settings)) == 12
        client.get(f"/s/{code}", follow_redirects=False)  # one more, still in the API's open file
    # the API stopped (its file closed); SIGTERM: the drainer stores what is left, then exits
    drainer.send_signal(signal.SIGTERM)
    assert drainer.wait(timeout=60) == 0, drainer.stderr.read() if drainer.stderr else ""
    clicks = stored_clicks(settings)
    assert len(clicks) == 13 and len({c.id for c in clicks}) == 13
    assert sum(c.bot for c in clicks) == 4  # the Telegram preview fetcher, flagged, not dropped
