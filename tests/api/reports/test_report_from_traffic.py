"""The acceptance mix, end to end: real requests to ``/s/{code}`` (phones, scans, WeChat's in-app browser,
group-chat preview bots, HEADs, no user agent), drained by the click log, give exactly these counts in
``GET /api/reports``: bots shown apart, never counted as scans or clicks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from services.clicks import drain_clicks
from store.db import session_scope
from tests.conftest import make_settings
from tests.support.sales import make_clip, make_link

SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
)
WECHAT = SAFARI + " MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
VISITS = [  # (method, query, user agent)
    ("GET", "", SAFARI),
    ("GET", "", SAFARI),  # the same visitor again within the hour: a click, not a new unique visitor
    ("GET", "?qr=1", ANDROID),
    ("GET", "", WECHAT),  # the landing page, a human
    ("GET", "?qr=1", WECHAT),
    ("GET", "", "Mozilla/5.0 (compatible; DingTalkBot-LinkService/1.0)"),
    ("GET", "", "TelegramBot (like TwitterBot)"),
    ("HEAD", "", SAFARI),
    ("HEAD", "", SAFARI),
    ("HEAD", "", SAFARI),
    ("GET", "", ""),
]


def test_a_scripted_mix_gives_exactly_the_expected_report(tmp_path: Path, issue_key: Callable[..., str]) -> None:
    settings: Settings = make_settings(tmp_path)
    app = create_app(settings)
    with TestClient(app) as client:
        with session_scope(settings.database_url) as session:
            code = make_link(session, make_clip(session).clip_id, "ann").code
        for method, query, agent in VISITS:
            headers = {"user-agent": agent}  # an empty one too (the test client would send its own)
            answer = client.request(method, f"/s/{code}{query}", headers=headers, follow_redirects=False)
            assert answer.status_code in (200, 302), (method, agent, answer.status_code)
        app.state.click_buffer.close()
        drain_clicks(settings)
        merchant = {"Authorization": f"Bearer {issue_key('merchant')}"}
        rows = client.get("/api/reports", params={"group_by": "leader"}, headers=merchant).json()
    rows = rows["rows"] if isinstance(rows, dict) else rows
    (ann,) = [row for row in rows if row["key"] == "ann"]
    assert (ann["scans"], ann["clicks"], ann["unique_visitors"], ann["bot_hits"]) == (2, 3, 3, 6)
    assert ann["orders"] == 0 and ann["conversion"] == 0
