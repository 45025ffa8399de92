"""The leader portal in a real headless Chromium at phone size (390x844, zh-CN): sign in with a leader's
key, see only one's own clip, copy the caption to the clipboard, download the video, and in WeChat's
in-app browser get the hint instead of the download button.

``LIVESLICE_TEST_SCREENSHOTS=1`` also writes the README's screenshots (docs/img/portal-zh.png, portal-wechat.png).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from runtime.config import Settings
from services.storage import get_storage
from tests.support.live_server import LiveServer
from tests.support.portal_clips import ensure_leader, give_clip

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[3]
PHONE = {"width": 390, "height": 844}
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)
WECHAT_UA = IPHONE_UA + " MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
CAPTION = "今晚直播同款，限时优惠！\n#春装 #直播"


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """New phone-sized zh-CN browser contexts (closed afterwards); a script error fails the test."""
    contexts: list[BrowserContext] = []
    errors: list[str] = []

    def make(user_agent: str = IPHONE_UA, **options: Any) -> BrowserContext:
        context = chromium.new_context(
            viewport=PHONE,
            device_scale_factor=1,
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
            user_agent=user_agent,
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(20_000)
        context.on("page", lambda page: page.on("pageerror", lambda error: errors.append(str(error))))
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
    assert not errors, f"uncaught script errors: {errors}"


def _shot(page: Any, name: str) -> None:
    if os.environ.get("LIVESLICE_TEST_SCREENSHOTS"):
        page.wait_for_timeout(1500)  # let the player's loading spinner go
        page.screenshot(path=str(ROOT / "docs" / "img" / name))


def test_a_leader_uses_the_portal_on_a_phone(
    settings: Settings,
    live_server: LiveServer,
    issue_key: Callable[..., str],
    small_mp4: Path,
    phone: Callable[..., BrowserContext],
) -> None:
    from playwright.sync_api import expect  # installed with the dev extras, as the chromium fixture checks

    ensure_leader(settings, "ann", "安团长")
    ensure_leader(settings, "bo", "Bo")
    product = {"name": "碎花连衣裙", "buy_url": "https://shop.example/item/1"}
    ann = give_clip(
        settings,
        leader_id="ann",
        video=small_mp4,
        title="春季新品 碎花连衣裙",
        caption=CAPTION.split("\n")[0],
        hashtags=["春装", "直播"],
        product=product,
    )
    bo = give_clip(settings, leader_id="bo", video=small_mp4, title="Bo 的视频", caption="Bo only", color=(40, 90, 200))
    secret = issue_key("leader", "ann", leader_id="ann")
    base = live_server.url

    context = phone(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(f"{base}/portal")
    page.wait_for_url(f"{base}/portal/login")
    assert page.get_attribute("html", "lang") == "zh-CN"
    page.fill("#key", secret)
    page.click("form.p-form [type=submit]")
    page.wait_for_url(f"{base}/portal")

    assert page.get_attribute("html", "lang") == "zh-CN"
    body = page.inner_text("body")
    assert "安团长，你好" in body and "复制文案" in body and "下载视频" in body and "退出登录" in body
    cards = page.locator("article.p-clip")
    assert cards.count() == 1 and cards.first.get_attribute("data-clip") == ann.clip_id
    assert bo.clip_id not in page.content() and "Bo only" not in body
    video = page.locator("video.p-video")
    assert video.get_attribute("playsinline") is not None and video.get_attribute("webkit-playsinline") is not None
    page.wait_for_function("() => document.querySelector('video.p-video').readyState >= 1")  # the leader's file plays
    poster = page.locator(".p-poster img")
    page.wait_for_function("() => document.querySelector('.p-poster img').naturalWidth > 0")
    assert poster.get_attribute("src") == f"/media/clips/{ann.clip_id}/poster.ann.png"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page scrolls sideways on a phone"
    button_height = page.locator("[data-copy]").bounding_box()["height"]
    assert button_height >= 44  # a thumb-sized target

    caption = page.input_value("textarea.p-caption")
    assert caption.startswith(CAPTION) and "/s/" in caption
    page.click("[data-copy]")
    expect(page.locator(".p-status")).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == caption
    page.evaluate("() => window.scrollTo(0, 0)")
    _shot(page, "portal-zh.png")

    with page.expect_download() as info:
        page.click("a[data-download]")
    download = info.value
    assert download.suggested_filename == "春季新品 碎花连衣裙.mp4"
    assert Path(download.path()).read_bytes() == get_storage(settings).read_bytes(ann.video_key)

    cookies = context.cookies()
    wechat = phone(user_agent=WECHAT_UA)
    wechat.add_cookies(cookies)
    inside = wechat.new_page()
    inside.goto(f"{base}/portal")
    assert inside.locator("a[data-download]").count() == 0
    hint = inside.inner_text("#in-app-hint")
    assert "点击右上角 ··· 选择「在浏览器打开」即可下载" in hint and "长按海报保存到相册" in hint
    assert inside.locator(".p-poster img").is_visible()
    inside.wait_for_function("() => document.querySelector('video.p-video').readyState >= 1")
    _shot(inside, "portal-wechat.png")
