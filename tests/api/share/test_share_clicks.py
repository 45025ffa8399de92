"""``/s/{code}`` logs every request: a scripted mix of people, scans, WeChat visits, preview bots and
HEADs gives exactly the expected counts; WeChat gets a landing page; the cache lets a disabled link go."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.exc import SQLAlchemyError

from api.auth_gate import needs_key
from api.main import create_app
from runtime.config import Settings
from services.clicks import drain_clicks
from services.share_cache import MISSING, LinkCache, split_target
from store import share_links
from store.db import session_scope
from store.models import Clip, ShareLink
from tests.support.clicks import BUY, make_link, stored_clicks

SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1"
CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Mobile Safari/537.36"
)
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 MicroMessenger/8.0.40"
)
WECOM = (
    "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 Chrome/109.0 Mobile Safari/537.36 "
    "wxwork/4.1.16 MicroMessenger/7.0.1"
)


def _visitor(app: FastAPI, ip: str) -> TestClient:
    """A client from ``ip`` (no lifespan: the test drains by hand)."""
    return TestClient(app, follow_redirects=False, client=(ip, 40000))


def test_a_scripted_mix_gives_exactly_the_expected_counts(settings: Settings, issue_key: Callable[..., str]) -> None:
    code, _ = make_link(settings)
    app = create_app(settings)
    path = f"/s/{code}"

    def hit(ip: str, agent: str | None, *, method: str = "GET", scan: bool = False) -> int:
        headers = {"user-agent": agent} if agent is not None else {}
        client = _visitor(app, ip)
        if agent is None:
            client.headers.pop("user-agent", None)
        return client.request(method, path + ("?qr=1" if scan else ""), headers=headers).status_code

    # people: Alice clicks twice and scans once (one unique visit); Bob scans;
    # Carol clicks in WeChat; Dan scans in WeCom
    assert [hit("203.0.113.1", SAFARI), hit("203.0.113.1", SAFARI), hit("203.0.113.1", SAFARI, scan=True)] == [302] * 3
    assert hit("203.0.113.2", CHROME, scan=True) == 302
    assert hit("203.0.113.3", WECHAT) == 200  # the landing page
    assert hit("203.0.113.4", WECOM, scan=True) == 200
    # group-chat preview fetchers, X's preview (one GET as Twitterbot, three HEADs as a browser), a bare script
    for agent in (
        "DingTalkBot-LinkService/1.0",
        "Mozilla/5.0 (compatible; Lark-Bot)",
        "TelegramBot (like TwitterBot)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Go-http-client/1.1",
    ):
        assert hit("198.51.100.9", agent) == 302
    assert hit("199.16.156.1", "Twitterbot/1.0") == 302
    assert [hit("199.16.156.2", SAFARI, method="HEAD") for _ in range(3)] == [302] * 3
    assert hit("198.51.100.10", None) == 302
    assert hit("203.0.113.3", WECHAT, method="HEAD") == 302  # a HEAD never gets the page

    app.state.click_buffer.close()  # as at shutdown (else the drainer takes it once it is a second old)
    assert drain_clicks(settings) == 17
    rows = stored_clicks(settings)
    humans = [r for r in rows if not r.bot]
    assert Counter(r.kind for r in humans) == {"scan": 3, "click": 3}
    assert sum(r.unique_visit for r in humans) == 4 and not any(r.unique_visit for r in rows if r.bot)
    assert Counter(r.in_app for r in humans if r.in_app) == {"wechat": 1, "wecom": 1}
    assert Counter(r.bot_reason for r in rows if r.bot) == {
        "preview:dingtalk": 1,
        "preview:feishu": 1,
        "preview:telegram": 1,
        "preview:slack": 1,
        "preview:go": 1,
        "preview:twitter": 1,
        "head": 4,
        "no-agent": 1,
    }
    assert all(len(r.identity) == 64 and "203.0.113" not in r.identity for r in rows)

    merchant = {"Authorization": f"Bearer {issue_key('merchant')}"}
    with TestClient(app) as api:
        body = api.get(f"/api/links/{code}/clicks", headers=merchant).json()
        assert body["counts"] == {"scans": 3, "clicks": 3, "unique_visitors": 4, "bot_hits": 11}
        assert len(body["clicks"]) == 6 and not any(c["bot"] for c in body["clicks"])
        everything = api.get(f"/api/links/{code}/clicks?include_bots=1&limit=100", headers=merchant).json()
        assert len(everything["clicks"]) == 17 and "identity" not in everything["clicks"][0]
        leader = {"Authorization": f"Bearer {issue_key('leader')}"}
        assert api.get(f"/api/links/{code}/clicks", headers=leader).status_code == 404  # not their link
        assert api.get(f"/api/links/{code}/clicks").status_code == 401


def test_wechat_gets_a_landing_page_with_the_escaped_product_and_the_tracked_button(settings: Settings) -> None:
    product = {"name": '<script>alert("x")</script>蜂蜜 500g', "price": "39.9", "currency": "CNY"}
    code, link_id = make_link(settings, product=product)
    with session_scope(settings.database_url) as session:
        link = session.get(ShareLink, link_id)
        assert link is not None
        clip = session.get(Clip, link.clip_id)
        assert clip is not None
        clip.cover_key = "clips/c1/cover.jpg"
    app = create_app(settings)
    response = _visitor(app, "203.0.113.3").get(f"/s/{code}", headers={"user-agent": WECHAT})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<script>" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;蜂蜜 500g" in page
    assert "¥39.90" in page and "点击右上角 ··· 在浏览器打开" in page
    (button,) = re.findall(r'class="buy" href="([^"]+)"', page)
    button = button.replace("&amp;", "&")
    assert button.startswith(BUY + "&lsclid=")
    (cover,) = re.findall(r'<img class="cover" src="([^"]+)"', page)
    assert cover.startswith("/m/")
    assert "https://" not in page.replace(BUY, "")  # nothing from a CDN
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    app.state.click_buffer.close()
    assert drain_clicks(settings) == 1
    (row,) = stored_clicks(settings)
    assert button.endswith(row.id) and row.in_app == "wechat" and not row.bot


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://shop.example.com/p/1", "https://shop.example.com/p/1?lsclid=ID"),
        ("https://shop.example.com/p/1?a=1&b=", "https://shop.example.com/p/1?a=1&b=&lsclid=ID"),
        ("https://shop.example.com/p/1?lsclid=old&a=1#top", "https://shop.example.com/p/1?a=1&lsclid=ID#top"),
        (
            "https://shop.example.com/商品/1?名=蜂蜜",
            "https://shop.example.com/%E5%95%86%E5%93%81/1?%E5%90%8D=%E8%9C%82%E8%9C%9C&lsclid=ID",
        ),
    ],
)
def test_the_click_id_joins_the_stored_targets_own_query(target: str, expected: str) -> None:
    head, tail = split_target(target)
    assert f"{head}ID{tail}" == expected


@pytest.mark.parametrize(
    "suffix", ["?qr=1&lsclid=evil", "?next=//evil.example", "?qr=1#//evil.example", "?url=https%3A%2F%2Fevil.example"]
)
def test_the_location_is_the_stored_target_whatever_the_request_adds(settings: Settings, suffix: str) -> None:
    code, _ = make_link(settings, target="https://shop.example.com/p/9?x=1")
    response = _visitor(create_app(settings), "203.0.113.1").get(f"/s/{code}{suffix}", headers={"user-agent": SAFARI})
    location = response.headers["location"]
    assert response.status_code == 302 and re.fullmatch(
        r"https://shop\.example\.com/p/9\?x=1&lsclid=[\w-]{16}", location
    )


def test_a_disabled_link_stops_after_the_cache_ttl(settings: Settings) -> None:
    code, _ = make_link(settings)
    now = [1000.0]
    app = create_app(settings)
    app.state.share_links = LinkCache(settings.database_url, ttl=30, clock=lambda: now[0])
    client = _visitor(app, "203.0.113.1")
    assert client.get(f"/s/{code}").status_code == 302
    with session_scope(settings.database_url) as session:
        assert share_links.disable_link(session, code=code)
    now[0] += 29
    assert client.get(f"/s/{code}").status_code == 302  # still cached in this process
    now[0] += 2
    assert client.get(f"/s/{code}").status_code == 404
    app.state.click_buffer.close()
    assert drain_clicks(settings) == 2  # the 404 logged nothing


def test_redirects_go_on_and_clicks_wait_while_the_database_is_down(settings: Settings) -> None:
    code, _ = make_link(settings)
    app = create_app(settings)
    client = _visitor(app, "203.0.113.1")
    assert client.get(f"/s/{code}").status_code == 302  # warms the cache
    cache: LinkCache = app.state.share_links
    cache.database_url = f"sqlite:///{settings.media_root}/missing/dir/x.db"  # the database is gone
    down = settings.model_copy(update={"database_url": cache.database_url})
    for _ in range(30):
        assert client.get(f"/s/{code}", headers={"user-agent": SAFARI}).status_code == 302
    app.state.click_buffer.close()
    with pytest.raises(SQLAlchemyError):
        drain_clicks(down)
    assert drain_clicks(settings) == 31 and len(stored_clicks(settings)) == 31


def test_the_lifespan_drains_in_the_background_and_at_shutdown(settings: Settings) -> None:
    code, _ = make_link(settings)
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert client.get(f"/s/{code}", headers={"user-agent": SAFARI}).status_code == 302
        deadline = time.monotonic() + 10
        while not stored_clicks(settings) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(stored_clicks(settings)) == 1  # the background thread stored it
        assert client.get(f"/s/{code}?qr=1", headers={"user-agent": SAFARI}).status_code == 302
    rows = stored_clicks(settings)  # the last one was drained at shutdown
    assert [r.kind for r in rows] == ["click", "scan"]


def test_share_links_stay_public_and_unknown_codes_cost_one_lookup(settings: Settings) -> None:
    assert not needs_key("GET", "/s/k7mq2xwz9d") and not needs_key("HEAD", "/s/k7mq2xwz9d")
    cache = LinkCache(settings.database_url)
    assert cache.peek("k7mq2xwz9d") is MISSING
    assert cache.load("k7mq2xwz9d") is None and cache.peek("k7mq2xwz9d") is None  # remembered as unknown
    assert cache.load("../etc") is None and cache.peek("../etc") is MISSING  # malformed: never cached
