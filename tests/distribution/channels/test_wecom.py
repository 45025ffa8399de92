"""The WeCom adapter against the WeCom stand-in, over real HTTP."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from distribution.channels import Post, get_adapter
from distribution.channels.wecom import WeComChannel
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig
from liveslice.standins import Fault, standin_class
from liveslice.standins.wecom import WeComStandIn
from tests.support.robot_driver import Driver, make_post, media
from tests.support.robot_driver import driver as _driver

HOSTS = ("127.0.0.1",)


@pytest.fixture
def wecom() -> Iterator[WeComStandIn]:
    with WeComStandIn() as standin:
        yield standin


@pytest.fixture
def driver() -> Iterator[Driver]:
    yield from _driver()


def adapter(standin: WeComStandIn) -> WeComChannel:
    config = WeComChannel.check_config(standin.target_config(), extra_hosts=HOSTS)
    return WeComChannel(config)


def video_post(path: Path, **overrides: Any) -> Post:
    return make_post(video=media("clip.mp4", path=path, content_type="video/mp4"), **overrides)


def test_the_registry_and_the_standins_know_wecom() -> None:
    assert get_adapter("wecom") is WeComChannel
    assert standin_class("wecom") is WeComStandIn


def test_a_post_without_a_video_file_is_a_news_card_with_the_poster_and_the_link(
    wecom: WeComStandIn, driver: Driver
) -> None:
    post = make_post()
    delivered = driver.run(adapter(wecom), post)
    assert delivered.form == "card"
    assert [r.label for r in driver.sent] == ["send_news"]
    [sent] = wecom.posts
    [article] = sent["news"]["articles"]
    assert article == {
        "title": post.title,
        "description": post.caption,
        "url": post.share_url,
        "picurl": post.poster.url if post.poster else None,
    }
    assert sent["robot"] == wecom.key


def test_a_caption_longer_than_a_card_description_follows_as_text(wecom: WeComStandIn, driver: Driver) -> None:
    caption = "今晚八点开播，" * 30  # 210 characters, 630 bytes: over a card's 512-byte description
    driver.run(adapter(wecom), make_post(caption=caption))
    card, text = wecom.posts
    description = card["news"]["articles"][0]["description"]
    assert len(description.encode()) <= 512 and description.endswith("…")
    assert text == {"robot": wecom.key, "msgtype": "text", "text": {"content": caption}}


def test_a_video_is_uploaded_then_sent_as_a_file_then_the_caption(
    wecom: WeComStandIn, driver: Driver, small_mp4: Path
) -> None:
    post = video_post(small_mp4)
    delivered = driver.run(adapter(wecom), post)
    assert [(r.label, r.posts) for r in driver.sent] == [
        ("upload_media", False),
        ("send_file", True),
        ("send_text", True),
    ]
    [(media_id, upload)] = wecom.uploads.items()
    assert upload["sha256"] == hashlib.sha256(small_mp4.read_bytes()).hexdigest()
    assert upload["filename"] == "clip.mp4"
    file_post, text_post = wecom.posts
    assert file_post["file"] == {"media_id": media_id}
    assert text_post["text"]["content"] == post.caption
    assert delivered.form == "file"
    assert post.video is not None
    assert delivered.remember == {adapter(wecom).memory_key(post.video): media_id}


def test_a_remembered_media_id_skips_the_upload(wecom: WeComStandIn, driver: Driver, small_mp4: Path) -> None:
    first = driver.run(adapter(wecom), video_post(small_mp4))
    driver.sent.clear()
    second = driver.run(adapter(wecom), video_post(small_mp4, remembered=first.remember))
    assert [r.label for r in driver.sent] == ["send_file", "send_text"]
    assert len(wecom.uploads) == 1
    assert second.remember == {}
    assert [p["msgtype"] for p in wecom.posts] == ["file", "text", "file", "text"]


def test_an_expired_media_id_is_uploaded_again_before_anything_is_posted(
    wecom: WeComStandIn, driver: Driver, small_mp4: Path
) -> None:
    first = driver.run(adapter(wecom), video_post(small_mp4))
    wecom.expire_media()
    driver.sent.clear()
    second = driver.run(adapter(wecom), video_post(small_mp4, remembered=first.remember))
    assert [r.label for r in driver.sent] == ["send_file", "upload_media", "send_file", "send_text"]
    [new_id] = wecom.uploads
    assert second.remember == {key: new_id for key in first.remember}
    assert [p["msgtype"] for p in wecom.posts] == ["file", "text", "file", "text"]


def test_a_video_over_20_mb_goes_as_a_card(wecom: WeComStandIn, driver: Driver, tmp_path: Path) -> None:
    big = media("big.mp4", size=20 * 1024 * 1024 + 1, path=None, content_type="video/mp4")
    driver.run(adapter(wecom), make_post(video=replace(big, path=tmp_path / "never-read.mp4")))
    assert [r.label for r in driver.sent] == ["send_news"]


def test_a_wrong_key_is_rejected(wecom: WeComStandIn, driver: Driver) -> None:
    wrong = WeComChannel({"webhook_url": wecom.webhook_url.replace(wecom.key, "not-the-key")})
    with pytest.raises(ChannelRejected) as caught:
        driver.run(wrong, make_post())
    assert caught.value.code == "invalid_key"
    assert "not-the-key" not in str(caught.value)
    assert wecom.posts == []


def test_over_the_robots_rate_is_throttled_for_a_minute(driver: Driver) -> None:
    with WeComStandIn(rates=((2, 60.0),)) as wecom:
        driver.run(adapter(wecom), make_post())
        driver.run(adapter(wecom), make_post())
        with pytest.raises(ChannelThrottled) as caught:
            driver.run(adapter(wecom), make_post())
        assert caught.value.retry_after == 60.0
        assert wecom.rejected_for_rate == 1 and len(wecom.posts) == 2


def test_a_scripted_throttle_and_a_5xx(wecom: WeComStandIn, driver: Driver) -> None:
    wecom.fail_next(Fault.THROTTLE)
    with pytest.raises(ChannelThrottled):
        driver.run(adapter(wecom), make_post())
    wecom.fail_next(Fault.ERROR, status=502)
    with pytest.raises(ChannelUnavailable) as caught:
        driver.run(adapter(wecom), make_post())
    assert caught.value.retryable
    assert wecom.posts == []


def test_a_stall_after_accepting_leaves_the_post_made_and_the_sender_timed_out(wecom: WeComStandIn) -> None:
    wecom.fail_next(Fault.STALL, stall=1.0)
    impatient = Driver(timeout=0.3)
    with pytest.raises(httpx.ReadTimeout):
        impatient.run(adapter(wecom), make_post())
    impatient.close()
    assert len(wecom.posts) == 1  # the outcome is "unknown" to the sender: it must not send again


def test_the_text_failing_after_the_file_is_a_partial_post_never_retried(driver: Driver, small_mp4: Path) -> None:
    with WeComStandIn(rates=((1, 60.0),)) as wecom:
        with pytest.raises(ChannelRejected) as caught:
            driver.run(adapter(wecom), video_post(small_mp4))
        assert caught.value.code == "partial_post" and not caught.value.retryable
        assert "file was posted" in str(caught.value)
        assert [p["msgtype"] for p in wecom.posts] == ["file"]


def test_the_caption_limit_is_in_bytes(wecom: WeComStandIn, driver: Driver) -> None:
    caption = "草" * 700  # 700 characters, 2100 bytes
    assert WeComChannel.caption_limit.measure(caption) == 2100
    assert not WeComChannel.caption_limit.fits(caption)
    with pytest.raises(ChannelRejected) as caught:
        driver.run(adapter(wecom), make_post(caption=caption))
    assert caught.value.code == "caption_too_long" and "2100 bytes" in str(caught.value)
    assert driver.sent == []
    # and the stand-in refuses such a text itself, as WeCom does
    answer = httpx.post(wecom.webhook_url, json={"msgtype": "text", "text": {"content": caption}}).json()
    assert answer["errcode"] == 40058


def test_the_standin_checks_an_image_md5(wecom: WeComStandIn) -> None:
    data = b"\x89PNG fake image bytes"
    image = {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()}
    assert httpx.post(wecom.webhook_url, json={"msgtype": "image", "image": image}).json()["errcode"] == 0
    wrong = {**image, "md5": hashlib.md5(b"other").hexdigest()}
    assert httpx.post(wecom.webhook_url, json={"msgtype": "image", "image": wrong}).json()["errcode"] == 40009


def test_the_standin_wants_the_upload_in_the_media_field(wecom: WeComStandIn) -> None:
    url = adapter(wecom).upload_url()
    wrong = httpx.post(url, files={"file": ("a.mp4", b"0123456789", "video/mp4")}).json()
    assert wrong["errcode"] == 40035
    right = httpx.post(url, files={"media": ("a.mp4", b"0123456789", "video/mp4")}).json()
    assert right["errcode"] == 0 and right["media_id"] in wecom.uploads


def test_config_checks_the_host_path_and_key() -> None:
    good = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"
    assert WeComChannel.check_config({"webhook_url": good}) == {"webhook_url": good}
    with pytest.raises(InvalidChannelConfig, match="webhook_url is required"):
        WeComChannel.check_config({})
    with pytest.raises(InvalidChannelConfig, match=r"qyapi\.weixin\.qq\.com"):
        WeComChannel.check_config({"webhook_url": "https://evil.example.com/cgi-bin/webhook/send?key=k"})
    local = "http://127.0.0.1:9/cgi-bin/webhook/send?key=k"
    with pytest.raises(InvalidChannelConfig):
        WeComChannel.check_config({"webhook_url": local})
    assert WeComChannel.check_config({"webhook_url": local}, extra_hosts=HOSTS)["webhook_url"] == local
    with pytest.raises(InvalidChannelConfig, match="no key"):
        WeComChannel.check_config({"webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"})
    with pytest.raises(InvalidChannelConfig, match="ending in"):
        WeComChannel.check_config({"webhook_url": "https://qyapi.weixin.qq.com/other?key=k"})


def test_the_key_is_secret_and_is_the_account() -> None:
    channel = WeComChannel({"webhook_url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc-123"})
    assert channel.account_key() == "abc-123"
    assert "abc-123" not in str(channel.describe())
    assert channel.upload_url() == "https://qyapi.weixin.qq.com/cgi-bin/webhook/upload_media?key=abc-123&type=file"
