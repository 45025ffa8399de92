"""The Slack incoming-webhook adapter against its stand-in, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from distribution.channels.base import HttpRequest, get_adapter
from distribution.channels.slack import SlackChannel, escape
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig
from liveslice.standins import Fault
from liveslice.standins.slack import SlackStandIn
from tests.support.channel_driver import drive, make_post, media, send


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def adapter(url: str) -> SlackChannel:
    return SlackChannel(SlackChannel.check_config({"webhook_url": url}, extra_hosts=("127.0.0.1",)))


def test_registered_and_config_checked() -> None:
    assert get_adapter("slack") is SlackChannel
    good = "https://hooks.slack.com/services/T0001/B0001/abcdefXYZ"
    assert SlackChannel.check_config({"webhook_url": good}) == {"webhook_url": good}
    with pytest.raises(InvalidChannelConfig, match=r"hooks\.slack\.com"):
        SlackChannel.check_config({"webhook_url": "https://example.com/services/T/B/x"})
    with pytest.raises(InvalidChannelConfig, match="incoming webhook URL"):
        SlackChannel.check_config({"webhook_url": "https://hooks.slack.com/workflows/T/B/x"})
    assert "abcdefXYZ" not in str(SlackChannel({"webhook_url": good}).describe())


def test_post_with_blocks_poster_and_button(slack: SlackStandIn, tmp_path: Path) -> None:
    poster = tmp_path / "poster.png"
    poster.write_bytes(b"\x89PNG fake")
    post = make_post(poster=media(poster, url="https://media.example.test/poster.png?sig=1", content_type="image/png"))
    delivered = drive(adapter(slack.webhook_url), post)
    assert delivered.form == "link"
    [body] = slack.posts
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "image", "actions"]
    assert body["blocks"][2]["image_url"] == "https://media.example.test/poster.png?sig=1"
    assert body["blocks"][3]["elements"][0]["url"] == post.share_url
    assert body["text"] == f"{post.title}: <{post.share_url}>"


def test_user_text_is_escaped_as_slack_requires(slack: SlackStandIn) -> None:
    post = make_post(title="<b>Deal</b> & more", caption="<script>alert(1)</script> & <!channel> Tom>Jerry")
    drive(adapter(slack.webhook_url), post)
    [body] = slack.posts
    section = body["blocks"][1]["text"]["text"]
    assert section == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt; Tom&gt;Jerry"
    assert "<script>" not in str(body) and "<!channel>" not in str(body)
    assert body["blocks"][0]["text"] == {"type": "plain_text", "text": "<b>Deal</b> & more", "emoji": True}
    assert body["text"].startswith("&lt;b&gt;Deal&lt;/b&gt; &amp; more: <")


def test_the_stand_in_refuses_unescaped_mrkdwn(slack: SlackStandIn) -> None:
    bad = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "<script>"}}]}
    request = HttpRequest("POST", slack.webhook_url, json=bad)
    with httpx.Client() as client:
        answer = send(client, request)
    assert answer.status == 400 and answer.body.startswith(b"invalid_blocks")
    assert slack.posts == []


def test_a_long_caption_is_split_into_sections_after_escaping(slack: SlackStandIn) -> None:
    caption = ("&" * 999 + "\n") * 3  # 3000 characters, 14997 once escaped
    drive(adapter(slack.webhook_url), make_post(caption=caption))
    sections = [b["text"]["text"] for b in slack.posts[0]["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert "".join(sections).replace("\n", "") == escape("&" * 2997)


def test_caption_over_3000_is_refused_before_sending(slack: SlackStandIn) -> None:
    log: list[HttpRequest] = []
    with pytest.raises(ChannelRejected) as refused:
        drive(adapter(slack.webhook_url), make_post(caption="x" * 3001), log=log)
    assert refused.value.code == "caption_too_long" and log == [] and slack.requests == []


def test_throttled_honours_retry_after(slack: SlackStandIn) -> None:
    slack.fail_next(Fault.THROTTLE, retry_after=30)
    with pytest.raises(ChannelThrottled) as throttled:
        drive(adapter(slack.webhook_url), make_post())
    assert throttled.value.retry_after == 30


def test_rate_window_per_webhook() -> None:
    with SlackStandIn(rates=((1, 1.0),)) as standin:
        drive(adapter(standin.webhook_url), make_post())
        with pytest.raises(ChannelThrottled) as throttled:
            drive(adapter(standin.webhook_url), make_post())
        assert throttled.value.retry_after == 1 and len(standin.posts) == 1


def test_server_error_is_unavailable(slack: SlackStandIn) -> None:
    slack.fail_next(Fault.ERROR, status=500)
    with pytest.raises(ChannelUnavailable):
        drive(adapter(slack.webhook_url), make_post())


def test_revoked_webhook_is_rejected_with_a_hint_and_no_url(slack: SlackStandIn) -> None:
    revoked = slack.webhook_url + "x"
    with pytest.raises(ChannelRejected) as refused:
        drive(adapter(revoked), make_post())
    assert refused.value.code == "no_service" and "add a new webhook" in str(refused.value)
    assert slack.path.rsplit("/", 1)[1] not in str(refused.value)
