"""Choosing the language: the ``lang`` cookie, else ``Accept-Language``, else English (Chinese for leaders);
``/lang/{code}`` goes back only to a path on this site."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api import i18n


def test_accept_language_is_ranked_and_negotiated() -> None:
    assert i18n.accept_language("en;q=0.5, zh-CN, fr;q=0") == ["zh_CN", "en"]
    assert i18n.accept_language("de, en-US;q=0.8") == ["de", "en_US"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9", "zh_CN"),
        ("zh", "zh_CN"),
        ("en-US,en;q=0.9", "en"),
        ("de, zh-CN;q=0.5", "zh_CN"),
        ("fr", "en"),
    ],
)
def test_the_login_page_follows_the_header(client: TestClient, header: str, expected: str) -> None:
    page = client.get("/login", headers={"Accept-Language": header})
    assert page.status_code == 200
    lang = i18n.HTML_LANG[expected]
    assert f'<html lang="{lang}">' in page.text and page.headers["content-language"] == lang
    assert ("登录" in page.text) == (expected == "zh_CN")
    assert ("Paste your liveslice API key" in page.text) == (expected == "en")


def test_pages_render_in_chinese_and_in_english(login: Callable[..., TestClient]) -> None:
    client = login("admin")
    zh = client.get("/recordings", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="zh-CN">' in zh.text
    for text in ("录像", "短视频", "商品", "任务", "上传录像", "退出登录", "还没有录像"):
        assert text in zh.text
    assert "Sign out" not in zh.text and "No recordings yet" not in zh.text
    en = client.get("/recordings", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in en.text and "No recordings yet" in en.text and "Sign out" in en.text
    upload = client.get("/upload", headers={"Accept-Language": "zh-CN"})
    assert "开始上传" in upload.text and 'id="i18n-messages"' in upload.text and "暂停" in upload.text


def test_the_switch_cookie_overrides_the_header(client: TestClient) -> None:
    switched = client.get("/lang/zh-CN?next=/login", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert "lang=zh-CN" in switched.headers["set-cookie"]
    page = client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="zh-CN">' in page.text and "登录" in page.text
    client.get("/lang/en?next=/login", follow_redirects=False)
    page = client.get("/login", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in page.text and "Sign in" in page.text


def test_the_switch_links_back_to_this_page(login: Callable[..., TestClient]) -> None:
    client = login("admin")
    page = client.get("/jobs?kind=process", headers={"Accept-Language": "en"})
    assert 'href="/lang/zh-CN?next=/jobs%3Fkind%3Dprocess"' in page.text


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "evil.example",
        "javascript:alert(1)",
        "/%0d%0aSet-Cookie:x=1".replace("%0d%0a", "\r\n"),
        "",
    ],
)
def test_the_switch_never_leaves_the_site(client: TestClient, target: str) -> None:
    response = client.get("/lang/en", params={"next": target}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_an_unknown_language_sets_no_cookie(client: TestClient) -> None:
    response = client.get("/lang/xx?next=/portal", follow_redirects=False)
    assert response.headers["location"] == "/portal" and "set-cookie" not in response.headers


def test_times_and_numbers_use_babel() -> None:
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    with i18n.use_locale("zh_CN"):
        assert i18n.fmt_datetime(moment, "Asia/Shanghai") == "2024-05-01 20:00:00"
        assert i18n.fmt_number(1234567) == "1,234,567" and i18n.fmt_number(3.14159, 2) == "3.14"
        assert i18n.fmt_eta(90) == "约 2 分钟"
    with i18n.use_locale("en"):
        assert i18n.fmt_datetime(None) == "—" and i18n.fmt_eta(3725) == "about 1 h 03 min"
