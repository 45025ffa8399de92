"""The reconciler stores the clicks a crashed API process left in its buffer (only files old enough to be
abandoned: fresh ones are the live drainer's), and credits sales whose click was still buffered."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from runtime.config import Settings
from services.click_buffer import ClickBuffer, clicks_dir
from services.clicks import drain_clicks
from store.db import session_scope
from store.models import Attribution
from tests.conftest import make_settings
from tests.support.clicks import make_link, raw_click, stored_clicks
from tests.support.sales import make_clip, new_secret, order, signed
from tests.support.sales import make_link as make_leader_link
from workers.reconcile import CLICK_FILES_MIN_AGE, reconcile


def _age_all(settings: Settings, seconds: float) -> None:
    past = time.time() - seconds
    for path in clicks_dir(settings.run_dir).iterdir():
        os.utime(path, (past, past))


def test_reconcile_drains_leftover_click_files(settings: Settings) -> None:
    _, link_id = make_link(settings)
    buffer = ClickBuffer(clicks_dir(settings.run_dir))
    for _ in range(3):
        buffer.append(raw_click(link_id))
    buffer.close()  # the API stopped before its drainer's last pass
    assert reconcile(settings).clicks_stored == 0  # fresh: the live drainer's to take
    _age_all(settings, CLICK_FILES_MIN_AGE + 1)
    report = reconcile(settings)
    assert report.clicks_stored == 3 and "clicks stored 3" in report.summary()
    assert len(stored_clicks(settings)) == 3 and not list(clicks_dir(settings.run_dir).iterdir())


def test_a_sale_whose_click_was_still_buffered_is_credited_by_it_after_the_drain(tmp_path: Path) -> None:
    secret = new_secret()
    settings = make_settings(tmp_path, sales_webhook_secrets=[secret])
    with session_scope(settings.database_url) as session:
        shop = make_clip(session)
        code = make_leader_link(session, shop.clip_id, "wang").code
    app = create_app(settings)  # no lifespan: no drainer thread, the click stays in the buffer
    visit = TestClient(app, follow_redirects=False).get(f"/s/{code}")
    assert visit.status_code == 302
    (click_id,) = parse_qs(urlsplit(visit.headers["location"]).query)["lsclid"]
    paid = datetime.now(UTC).isoformat()
    body, headers = signed(secret, order("W-1", paid_at=paid, click_id=click_id, share_code=code))
    answer = TestClient(app).post("/api/sales/webhook", content=body, headers=headers).json()
    assert answer["attribution"]["method"] == "share_code"  # provisional: the click is not stored yet
    app.state.click_buffer.close()
    assert drain_clicks(settings) == 1
    report = reconcile(settings)
    assert len(report.sales_reattributed) == 1 and "sales re-attributed 1" in report.summary()
    with session_scope(settings.database_url) as session:
        row = session.scalars(select(Attribution)).one()
        assert (row.method, row.click_id, row.leader_id) == ("click", click_id, "wang")
