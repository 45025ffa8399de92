"""The Feishu adapter against the Feishu stand-in, over real HTTP; the signature against a known vector."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import pytest

from distribution.channels import get_adapter
from distribution.channels.feishu import FeishuChannel, feishu_sign
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig
from liveslice.standins import Fault, standin_class
from liveslice.standins.feishu import FeishuStandIn
from tests.support.robot_driver import Driver, make_post
from tests.support.robot_driver import driver as _driver

HOSTS = ("127.0.0.1",)
SECRET = "feishu-secret"


@pytest.fixture
def feishu() -> Iterator[FeishuStandIn]:
    with FeishuStandIn(secret=SECRET) as standin:
        yield standin


@pytest.fixture
def driver() -> Iterator[Driver]:
    yield from _driver()


def adapter(standin: FeishuStandIn, **config: str) -> FeishuChannel:
    return FeishuChannel(FeishuChannel.check_config({**standin.target_config(), **config}, extra_hosts=HOSTS))


def test_the_signature_matches_a_vector_computed_apart() -> None:
    # printf '' | openssl dgst -sha256 -hmac $'1700000000\nfeishu-secret' -binary | base64
    assert feishu_sign(1700000000, SECRET) == "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU="
    by_hand = base64.b64encode(hmac.new(b"1700000000\nfeishu-secret", b"", hashlib.sha256).digest()).decode()
    assert feishu_sign("1700000000", SECRET) == by_hand


def test_the_registry_and_the_standins_know_feishu() -> None:
    assert get_adapter("feishu") is FeishuChannel
    assert standin_class("feishu") is FeishuStandIn


def test_a_signed_card_is_accepted(feishu: FeishuStandIn, driver: Driver) -> None:
    post = make_post()
    delivered = driver.run(adapter(feishu), post)
    assert delivered.form == "card"
    [sent] = feishu.posts
    assert sent["msg_type"] == "interactive"
    card = sent["card"]
    assert card["header"]["title"]["content"] == post.title
    assert card["elements"][0]["text"] == {"tag": "lark_md", "content": post.caption}
    buttons = card["elements"][1]["actions"]
    assert [b["url"] for b in buttons] == [post.share_url, post.poster.url if post.poster else None]
    body = feishu.requests[0].json()
    assert body["timestamp"].isdigit() and body["sign"] == feishu_sign(body["timestamp"], SECRET)
    assert "charset=utf-8" in feishu.requests[0].headers["content-type"]


def test_an_unsigned_bot_gets_no_signature(driver: Driver) -> None:
    with FeishuStandIn() as feishu:
        driver.run(adapter(feishu), make_post())
        assert "sign" not in feishu.requests[0].json()
        assert len(feishu.posts) == 1


def test_a_wrong_secret_is_refused(feishu: FeishuStandIn, driver: Driver) -> None:
    with pytest.raises(ChannelRejected) as caught:
        driver.run(adapter(feishu, secret="not-the-secret"), make_post())
    assert caught.value.code == "bad_signature"
    assert feishu.posts == []


def test_a_timestamp_over_an_hour_old_is_refused(feishu: FeishuStandIn, driver: Driver) -> None:
    config = FeishuChannel.check_config(feishu.target_config(), extra_hosts=HOSTS)
    late = FeishuChannel(config, clock=lambda: time.time() - 3700)
    with pytest.raises(ChannelRejected) as caught:
        driver.run(late, make_post())
    assert caught.value.code == "bad_signature"


def test_over_the_rate_is_throttled(driver: Driver) -> None:
    with FeishuStandIn(secret=SECRET, rates=((2, 60.0),)) as feishu:
        driver.run(adapter(feishu), make_post())
        driver.run(adapter(feishu), make_post())
        with pytest.raises(ChannelThrottled) as caught:
            driver.run(adapter(feishu), make_post())
        assert caught.value.retry_after == 10.0
        assert feishu.rejected_for_rate == 1 and len(feishu.posts) == 2


def test_a_scripted_throttle_and_a_5xx(feishu: FeishuStandIn, driver: Driver) -> None:
    feishu.fail_next(Fault.THROTTLE)
    with pytest.raises(ChannelThrottled):
        driver.run(adapter(feishu), make_post())
    feishu.fail_next(Fault.ERROR, status=503)
    with pytest.raises(ChannelUnavailable):
        driver.run(adapter(feishu), make_post())
    assert feishu.posts == []


def test_the_caption_limit_is_in_bytes_and_the_body_is_kept_under_20_kb(feishu: FeishuStandIn, driver: Driver) -> None:
    caption = "莓" * 5001  # 5001 characters, 15003 bytes
    assert FeishuChannel.caption_limit.measure(caption) == 15003
    with pytest.raises(ChannelRejected) as caught:
        driver.run(adapter(feishu), make_post(caption=caption))
    assert caught.value.code == "caption_too_long"
    with pytest.raises(ChannelRejected) as caught:
        driver.run(adapter(feishu), make_post(caption="莓" * 5000, title="标" * 2000))
    assert caught.value.code == "body_too_large"
    assert driver.sent == []
    driver.run(adapter(feishu), make_post(caption="莓" * 5000))  # 15,000 bytes of caption fits
    assert len(feishu.requests[0].body) <= 20_000 and len(feishu.posts) == 1
    # the stand-in refuses a bigger body itself, as Feishu does
    answer = httpx.post(feishu.webhook_url, json={"msg_type": "text", "content": {"text": "x" * 20_001}}).json()
    assert answer["code"] == 9499


def test_typed_tags_cannot_mention_everyone(feishu: FeishuStandIn, driver: Driver) -> None:
    driver.run(adapter(feishu), make_post(caption="快来 <at id=all></at> 抢购"))
    content = feishu.posts[0]["card"]["elements"][0]["text"]["content"]
    assert "<at" not in content and "&#60;at id=all&#62;" in content


def test_config_checks_host_and_path() -> None:
    good = "https://open.feishu.cn/open-apis/bot/v2/hook/abc"
    assert FeishuChannel.check_config({"webhook_url": good}) == {"webhook_url": good}
    lark = "https://open.larksuite.com/open-apis/bot/v2/hook/abc"
    assert FeishuChannel.check_config({"webhook_url": lark, "secret": " s "}) == {"webhook_url": lark, "secret": "s"}
    with pytest.raises(InvalidChannelConfig, match="webhook_url is required"):
        FeishuChannel.check_config({"secret": "s"})
    with pytest.raises(InvalidChannelConfig, match="LIVESLICE_CHANNEL_HOSTS"):
        FeishuChannel.check_config({"webhook_url": "https://evil.example.com/open-apis/bot/v2/hook/abc"})
    with pytest.raises(InvalidChannelConfig, match="hook/<token>"):
        FeishuChannel.check_config({"webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/"})
    channel = FeishuChannel({"webhook_url": good, "secret": "topsecret"})
    assert channel.account_key() == "abc"
    assert "topsecret" not in str(channel.describe()) and "abc" not in str(channel.describe())
