"""The sales dashboard page (server-drawn SVG funnel and GMV chart, top clips, leaderboard, CSV links, the
tuning section and its save button) and the leader's own numbers in the portal."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from store.db import session_scope
from store.models import WeightPreset
from tests.services.tuning.test_tuning import synthetic_shop
from tests.support import sales_data as data

RANGE = {"from": "2024-05-09", "to": "2024-05-11", "tz": "Asia/Shanghai"}


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def shop(settings: Settings) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        return data.shop(session)


def _browser(client: TestClient, secret: str) -> TestClient:
    client.cookies.set("liveslice_key", secret)
    client.cookies.set("lang", "en")
    return client


def test_the_dashboard_shows_the_range(client: TestClient, shop: dict[str, str], issue_key: Callable[..., str]) -> None:
    page = _browser(client, issue_key("merchant")).get("/dashboard", params=RANGE)
    assert page.status_code == 200, page.text
    html = page.text
    assert html.count("<svg") == 2 and "script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    funnel = re.search(r'<svg[^>]*class="funnel".*?</svg>', html, re.S)
    assert funnel is not None
    steps = dict(re.findall(r'data-step="(\w+)" data-value="(\d+)"', funnel.group(0)))
    assert steps == {"scans": "3", "clicks": "11", "unique_visitors": "13", "orders": "3", "bot_hits": "3"}
    bars = dict(re.findall(r'data-date="([\d-]+)" data-value="(\d+)"', html))
    assert bars == {"2024-05-09": "0", "2024-05-10": "19900", "2024-05-11": "0"}
    assert 'id="top-clips"' in html and "Tea clip" in html and 'id="leaderboard"' in html and "安团长" in html
    assert "/api/reports.csv?from=2024-05-09&amp;to=2024-05-11&amp;tz=Asia%2FShanghai&amp;group_by=clip" in html
    assert 'id="not-enough"' in html  # no highlight sales yet: no suggestion
    assert 'href="/dashboard"' in html  # the nav link


def test_roles_and_bad_ranges(client: TestClient, shop: dict[str, str], issue_key: Callable[..., str]) -> None:
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    for role in ("leader", "content"):
        assert _browser(client, issue_key(role)).get("/dashboard").status_code == 403
    bad = _browser(client, issue_key("admin")).get("/dashboard", params={**RANGE, "tz": "Nowhere/City"})
    assert bad.status_code == 422 and "unknown time zone" in bad.text


def test_saving_the_suggestion_as_a_preset(
    client: TestClient, settings: Settings, issue_key: Callable[..., str]
) -> None:
    browser = _browser(client, issue_key("merchant"))
    refused = browser.post("/dashboard/weight-presets", data={"name": "early", "base": "sales"})
    assert refused.status_code == 409 and "at least 20" in refused.text
    with session_scope(settings.database_url) as session:
        synthetic_shop(session)
    page = browser.get("/dashboard")
    assert 'id="apply-preset"' in page.text and 'data-signal="orders"' in page.text
    saved = browser.post("/dashboard/weight-presets", data={"name": "learned", "base": "sales"}, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/dashboard?saved=learned#tuning"
    with session_scope(settings.database_url) as session:
        row = session.get(WeightPreset, "learned")
        assert row is not None and row.based_on_sales == 30 and row.weights["orders"] > 0.35
    assert "learned" in browser.get("/dashboard?saved=learned").text
    taken = browser.post("/dashboard/weight-presets", data={"name": "learned", "base": "sales"})
    assert taken.status_code == 422 and "exists already" in taken.text
    cross = browser.post("/dashboard/weight-presets", data={"name": "x"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status_code == 403


def test_a_leader_sees_their_numbers_in_the_portal(
    client: TestClient, settings: Settings, issue_key: Callable[..., str]
) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC) - timedelta(hours=1)
    with session_scope(settings.database_url) as session:
        data.leader(session, "ann", "安团长")
        data.leader(session, "bo", "Bo")
        mine = data.link(session, data.clip(session, data.recording(session)), "ann", "wecom")
        theirs = data.link(session, data.clip(session, data.recording(session)), "bo")
        data.clicks(session, mine, now, count=4)
        data.clicks(session, mine, now, kind="scan", count=2)
        data.clicks(session, mine, now, bot="preview:wecom", count=3)
        data.sale(session, mine, now, lines=[("TEA", 1, 12345)])
        data.clicks(session, theirs, now, count=50)
        data.sale(session, theirs, now, lines=[("TEA", 1, 99999)])
    client.cookies.set("liveslice_key", issue_key("leader", leader_id="ann"))
    html = client.get("/portal").text
    block = html.split('id="my-sales"', 1)[1].split("</section>", 1)[0]
    stats = dict(re.findall(r'data-stat="(\w+)">([^<]*)<', block))
    assert stats == {"scans": "2", "clicks": "4", "orders": "1", "gmv": "123.45 CNY"}
