"""The Discord webhook adapter against its stand-in, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from distribution.channels.base import HttpRequest, UploadPart, get_adapter
from distribution.channels.discord import UPLOAD_LIMIT, DiscordChannel
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig
from liveslice.standins import Fault
from liveslice.standins.discord import DiscordStandIn
from tests.support.channel_driver import drive, make_post, media, send


@pytest.fixture
def discord() -> Iterator[DiscordStandIn]:
    with DiscordStandIn() as standin:
        yield standin


def adapter(url: str) -> DiscordChannel:
    return DiscordChannel(DiscordChannel.check_config({"webhook_url": url}, extra_hosts=("127.0.0.1",)))


def test_registered_and_config_checked() -> None:
    assert get_adapter("discord") is DiscordChannel
    for good in (
        "https://discord.com/api/webhooks/123456789/abc-DEF_1",
        "https://discordapp.com/api/webhooks/123456789/abc",
        "https://discord.com/api/v10/webhooks/123456789/abc?thread_id=9",
    ):
        DiscordChannel.check_config({"webhook_url": good})
    with pytest.raises(InvalidChannelConfig, match=r"must be on discord\.com"):
        DiscordChannel.check_config({"webhook_url": "https://evil.test/api/webhooks/1/x"})
    with pytest.raises(InvalidChannelConfig, match="webhook URL"):
        DiscordChannel.check_config({"webhook_url": "https://discord.com/channels/1/2"})
    bot = DiscordChannel({"webhook_url": "https://discord.com/api/webhooks/1/x?thread_id=9"})
    assert bot.execute_url().endswith("?thread_id=9&wait=true")


def test_small_video_is_uploaded_as_files_0(discord: DiscordStandIn, small_mp4: Path) -> None:
    log: list[HttpRequest] = []
    delivered = drive(adapter(discord.webhook_url), make_post(video=media(small_mp4)), log=log)
    assert delivered.form == "video" and delivered.external_id == discord.posts[0]["id"]
    [post] = discord.posts
    assert post["files"] == {"small.mp4": small_mp4.stat().st_size}
    assert post["attachments"][0]["id"] == 0 and post["content"] == make_post().caption
    assert post["allowed_mentions"] == {"parse": []}
    assert log[0].files[0].field == "files[0]" and "wait=true" in log[0].url


def test_video_over_10_mib_goes_as_an_embed_link(discord: DiscordStandIn, tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:  # sparse: 10 MiB + 1 byte without writing them
        handle.truncate(UPLOAD_LIMIT + 1)
    cover = media(tmp_path.joinpath("c.jpg"), url="https://media.example.test/c.jpg", size=10)
    log: list[HttpRequest] = []
    post = make_post(video=media(big), cover=cover)
    delivered = drive(adapter(discord.webhook_url), post, log=log)
    assert delivered.form == "card" and len(log) == 1 and log[0].files == ()
    [sent] = discord.posts
    assert sent["files"] == {}
    [embed] = sent["embeds"]
    assert embed == {"title": post.title, "url": post.share_url, "image": {"url": "https://media.example.test/c.jpg"}}


def test_the_stand_in_refuses_a_file_over_10_mib_and_mismatched_attachments(
    discord: DiscordStandIn, tmp_path: Path
) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (UPLOAD_LIMIT + 1))
    form = {"payload_json": '{"content": "hi", "attachments": [{"id": 0, "filename": "big.mp4"}]}'}
    with httpx.Client() as client:
        too_big = send(client, HttpRequest("POST", discord.webhook_url, form=form, files=(_part(big),)))
        assert too_big.status == 413 and too_big.json()["code"] == 40005
        small = tmp_path / "s.mp4"
        small.write_bytes(b"x")
        wrong = {"payload_json": '{"content": "hi", "attachments": [{"id": 1, "filename": "s.mp4"}]}'}
        mismatched = send(client, HttpRequest("POST", discord.webhook_url, form=wrong, files=(_part(small),)))
        assert mismatched.status == 400 and mismatched.json()["code"] == 50035
    assert discord.posts == []


def test_a_413_from_a_lower_limit_falls_back_to_the_embed(small_mp4: Path) -> None:
    with DiscordStandIn(upload_limit=1000) as standin:  # a server whose limit is lower than ours
        delivered = drive(adapter(standin.webhook_url), make_post(video=media(small_mp4)))
        assert delivered.form == "card" and len(standin.requests) == 2 and len(standin.posts) == 1


def test_content_over_2000_is_refused_before_sending(discord: DiscordStandIn) -> None:
    log: list[HttpRequest] = []
    with pytest.raises(ChannelRejected) as refused:
        drive(adapter(discord.webhook_url), make_post(caption="x" * 2001), log=log)
    assert refused.value.code == "caption_too_long" and log == [] and discord.requests == []


def test_throttled_uses_the_json_retry_after(discord: DiscordStandIn) -> None:
    discord.fail_next(Fault.THROTTLE, retry_after=1.25)
    with pytest.raises(ChannelThrottled) as throttled:
        drive(adapter(discord.webhook_url), make_post())
    assert throttled.value.retry_after == 1.25


def test_rate_window_per_webhook() -> None:
    with DiscordStandIn(rates=((5, 2.0),)) as standin:
        for _ in range(5):
            drive(adapter(standin.webhook_url), make_post())
        with pytest.raises(ChannelThrottled) as throttled:
            drive(adapter(standin.webhook_url), make_post())
        assert throttled.value.retry_after == 2.0 and len(standin.posts) == 5


def test_server_error_is_unavailable(discord: DiscordStandIn) -> None:
    discord.fail_next(Fault.ERROR, status=502)
    with pytest.raises(ChannelUnavailable):
        drive(adapter(discord.webhook_url), make_post())


def test_bad_webhook_token_is_rejected_without_echoing_it(discord: DiscordStandIn) -> None:
    wrong = discord.webhook_url.rsplit("/", 1)[0] + "/WrongToken1234567890"
    with pytest.raises(ChannelRejected) as refused:
        drive(adapter(wrong), make_post())
    assert refused.value.code == "webhook_gone" and "Invalid Webhook Token" in str(refused.value)
    assert "WrongToken1234567890" not in str(refused.value) and discord.webhook_token not in str(refused.value)


def _part(path: Path) -> UploadPart:
    return UploadPart("files[0]", path.name, "video/mp4", path=path)
