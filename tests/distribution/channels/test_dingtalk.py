"""The DingTalk adapter against the DingTalk stand-in, over real HTTP; the signature against a known vector."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest

from distribution.channels import get_adapter
from distribution.channels.dingtalk import DingTalkChannel, dingtalk_sign
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig
from liveslice.standins import Fault, standin_class
from liveslice.standins.dingtalk import DingTalkStandIn
from tests.support.robot_driver import Driver, make_post
from tests.support.robot_driver import driver as _driver

HOSTS = ("127.0.0.1",)
SECRET = "SECdingtalk-secret"


@pytest.fixture
def dingtalk() -> Iterator[DingTalkStandIn]:
    with DingTalkStandIn(secret=SECRET) as standin:
        yield standin


@pytest.fixture
def driver() -> Iterator[Driver]:
    yield from _driver()


def adapter(standin: DingTalkStandIn, **config: str) -> DingTalkChannel:
    return DingTalkChannel(DingTalkChannel.check_config({**standin.target_config(), **config}, extra_hosts=HOSTS))


def test_the_signature_matches_a_vector_computed_apart() -> None:
    # printf '1700000000000\nSECdingtalk-secret' | openssl dgst -sha256 -hmac 'SECdingtalk-secret' -binary | base64
    assert dingtalk_sign(1700000000000, SECRET) == "XfR3M+icVjPDB8cZ0Dn17SnMmP1bQygacljjsfnZv28="
    by_hand = hmac.new(SECRET.encode(), b"1700000000000\nSECdingtalk-secret", hashlib.sha256).digest()
    assert dingtalk_sign("1700000000000", SECRET) == base64.b64encode(by_hand).decode()


def test_the_signature_goes_url_encoded_in_the_query() -> None:
    channel = DingTalkChannel(
        {"webhook_url": "https://oapi.dingtalk.com/robot/send?access_token=t0k", "secret": SECRET},
        clock=lambda: 1700000000.0,
    )
    url = channel.url()
    assert url.endswith("&timestamp=1700000000000&sign=" + quote_plus("XfR3M+icVjPDB8cZ0Dn17SnMmP1bQygacljjsfnZv28="))
    query = parse_qs(urlsplit(url).query)
    assert query["sign"] == ["XfR3M+icVjPDB8cZ0Dn17SnMmP1bQygacljjsfnZv28="] and query["access_token"] == ["t0k"]


def test_the_registry_and_the_standins_know_dingtalk() -> None:
    assert get_adapter("dingtalk") is DingTalkChannel
    assert standin_class("dingtalk") is DingTalkStandIn


def test_a_signed_action_card_is_accepted(dingtalk: DingTalkStandIn, driver: Driver) -> None:
    post = make_post()
    delivered = driver.run(adapter(dingtalk), post)
    assert delivered.form == "card"
    [sent] = dingtalk.posts
    card = sent["actionCard"]
    assert sent["msgtype"] == "actionCard"
    assert card["title"] == post.title
    assert post.cover is not None and card["text"].startswith(f"![]({post.cover.url})")
    assert post.caption in card["text"]
    assert (card["singleTitle"], card["singleURL"]) == ("观看视频", post.share_url)


def test_an_unsigned_robot_gets_no_signature(driver: Driver) -> None:
    with DingTalkStandIn() as dingtalk:
        driver.run(adapter(dingtalk), make_post())
        assert "sign" not in dingtalk.requests[0].query and len(dingtalk.posts) == 1


def test_a_wrong_secret_is_refused(dingtalk: DingTalkStandIn, driver: Driver) -> None:
    with pytest.raises(ChannelRejected) as caught:
        driver.run(adapter(dingtalk, secret="SECnot-the-secret"), make_post())
    assert caught.value.code == "security_refused"
    assert dingtalk.posts == []


def test_a_timestamp_over_an_hour_old_is_refused(dingtalk: DingTalkStandIn, driver: Driver) -> None:
    config = DingTalkChannel.check_config(dingtalk.target_config(), extra_hosts=HOSTS)
    with pytest.raises(ChannelRejected) as caught:
        driver.run(DingTalkChannel(config, clock=lambda: time.time() - 3700), make_post())
    assert caught.value.code == "security_refused"


def test_over_the_rate_the_robot_stays_throttled(driver: Driver) -> None:
    with DingTalkStandIn(secret=SECRET, rates=((2, 0.2),), throttle_seconds=1.5) as dingtalk:
        driver.run(adapter(dingtalk), make_post())
        driver.run(adapter(dingtalk), make_post())
        with pytest.raises(ChannelThrottled) as caught:
            driver.run(adapter(dingtalk), make_post())
        assert caught.value.retry_after == 600.0  # DingTalk stops a robot for 10 minutes
        time.sleep(0.3)  # the minute window (0.2 s here) has passed, but the robot is still stopped
        with pytest.raises(ChannelThrottled):
            driver.run(adapter(dingtalk), make_post())
        time.sleep(1.3)
        driver.run(adapter(dingtalk), make_post())
        assert len(dingtalk.posts) == 3 and dingtalk.rejected_for_rate == 2


def test_a_scripted_throttle_and_a_5xx(dingtalk: DingTalkStandIn, driver: Driver) -> None:
    dingtalk.fail_next(Fault.THROTTLE)
    with pytest.raises(ChannelThrottled):
        driver.run(adapter(dingtalk), make_post())
    dingtalk.fail_next(Fault.ERROR, status=500)
    with pytest.raises(ChannelUnavailable):
        driver.run(adapter(dingtalk), make_post())
    assert dingtalk.posts == []


def test_the_caption_limit_is_in_characters(dingtalk: DingTalkStandIn, driver: Driver) -> None:
    assert DingTalkChannel.caption_limit.measure("莓" * 4000) == 4000
    with pytest.raises(ChannelRejected) as caught:
        driver.run(adapter(dingtalk), make_post(caption="a" * 4001))
    assert caught.value.code == "caption_too_long" and "4001 chars" in str(caught.value)
    assert driver.sent == []
    driver.run(adapter(dingtalk), make_post(caption="莓" * 4000))  # 12,000 bytes: under DingTalk's 20,000
    assert len(dingtalk.posts) == 1


def test_the_standin_refuses_a_body_over_20000_bytes(dingtalk: DingTalkStandIn) -> None:
    url = DingTalkChannel({"webhook_url": dingtalk.webhook_url, "secret": SECRET}).url()
    answer = httpx.post(url, json={"msgtype": "text", "text": {"content": "x" * 20_001}}).json()
    assert answer["errcode"] == 460101


def test_config_checks_host_path_token_and_secret() -> None:
    good = "https://oapi.dingtalk.com/robot/send?access_token=t0k"
    assert DingTalkChannel.check_config({"webhook_url": good, "secret": SECRET})["secret"] == SECRET
    with pytest.raises(InvalidChannelConfig, match="webhook_url is required"):
        DingTalkChannel.check_config({})
    with pytest.raises(InvalidChannelConfig, match="starts with SEC"):
        DingTalkChannel.check_config({"webhook_url": good, "secret": "plain"})
    with pytest.raises(InvalidChannelConfig, match="LIVESLICE_CHANNEL_HOSTS"):
        DingTalkChannel.check_config({"webhook_url": "https://evil.example.com/robot/send?access_token=t"})
    with pytest.raises(InvalidChannelConfig, match="no access_token"):
        DingTalkChannel.check_config({"webhook_url": "https://oapi.dingtalk.com/robot/send"})
    channel = DingTalkChannel({"webhook_url": good, "secret": SECRET})
    assert channel.account_key() == "t0k"
    assert SECRET not in str(channel.describe()) and "t0k" not in str(channel.describe())
