"""The Telegram adapter against the Bot API stand-in, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from distribution.channels.base import HttpRequest, get_adapter
from distribution.channels.telegram import TelegramChannel
from distribution.errors import ChannelRejected, ChannelThrottled, ChannelUnavailable, InvalidChannelConfig
from liveslice.standins import Fault
from liveslice.standins.telegram import TelegramStandIn
from tests.support.channel_driver import drive, make_post, media

HOSTS = ("127.0.0.1",)


@pytest.fixture
def telegram() -> Iterator[TelegramStandIn]:
    chats = {
        "-1001": {"type": "supergroup", "title": "Ann's group"},
        "-1002": {"type": "supergroup", "title": "Bob's group"},
        "@annshop": {"type": "channel", "title": "Ann shop", "username": "annshop"},
    }
    with TelegramStandIn(chats=chats) as standin:
        yield standin


def adapter(standin: TelegramStandIn, chat: str = "-1001", token: str | None = None) -> TelegramChannel:
    config = {"bot_token": token or standin.token, "chat_id": chat, "api_base": standin.base_url}
    return TelegramChannel(TelegramChannel.check_config(config, extra_hosts=HOSTS))


def test_registered_and_config_checked(telegram: TelegramStandIn) -> None:
    assert get_adapter("telegram") is TelegramChannel
    token = telegram.token
    with pytest.raises(InvalidChannelConfig, match=r"api_base must be on api\.telegram\.org") as bad_host:
        TelegramChannel.check_config({"bot_token": token, "chat_id": "-1", "api_base": "https://evil.test"})
    with pytest.raises(InvalidChannelConfig, match="chat_id") as bad_chat:
        TelegramChannel.check_config({"bot_token": token, "chat_id": "not a chat"})
    with pytest.raises(InvalidChannelConfig, match="bot_token") as bad_token:
        TelegramChannel.check_config({"bot_token": token + " oops", "chat_id": "-1"})
    for error in (bad_host, bad_chat, bad_token):
        assert token not in str(error.value)
    described = adapter(telegram).describe()
    assert token not in str(described) and described["chat_id"] == "-1001"


def test_video_uploaded_then_reused_by_file_id_in_another_chat(telegram: TelegramStandIn, small_mp4: Path) -> None:
    video = media(small_mp4)
    first = drive(adapter(telegram), make_post(video=video))
    assert first.form == "video" and first.external_id == "1"
    [(key, file_id)] = first.remember.items()
    assert telegram.uploads == 1 and telegram.posts[0]["uploaded"] is True
    assert telegram.posts[0]["bytes"] == small_mp4.stat().st_size
    assert telegram.posts[0]["caption"] == make_post().caption

    second_chat = adapter(telegram, "-1002")
    assert second_chat.memory_key(video) == key  # per bot, not per chat
    log: list[HttpRequest] = []
    second = drive(second_chat, make_post(video=video, remembered={key: file_id}), log=log)
    assert second.form == "video" and second.external_id == "2"
    assert telegram.uploads == 1, "the second chat must not upload again"
    assert telegram.posts[1] == {**telegram.posts[1], "chat_id": "-1002", "file_id": file_id, "uploaded": False}
    assert log[0].files == () and log[0].form["video"] == file_id


def test_a_file_id_telegram_does_not_know_falls_back_to_uploading(telegram: TelegramStandIn, small_mp4: Path) -> None:
    video = media(small_mp4)
    bot = adapter(telegram)
    delivered = drive(bot, make_post(video=video, remembered={bot.memory_key(video): "BAACgone"}))
    assert delivered.form == "video" and telegram.uploads == 1 and len(telegram.posts) == 1
    assert delivered.remember[bot.memory_key(video)] != "BAACgone"


def test_channel_with_username_gets_a_public_url(telegram: TelegramStandIn, small_mp4: Path) -> None:
    delivered = drive(adapter(telegram, "@annshop"), make_post(video=media(small_mp4)))
    assert delivered.external_url == f"https://t.me/annshop/{delivered.external_id}"


def test_no_video_or_too_big_goes_as_a_text_message_with_the_link(telegram: TelegramStandIn, small_mp4: Path) -> None:
    post = make_post(caption="今晚8点开播", video=media(small_mp4, size=60 * 1000 * 1000))
    delivered = drive(adapter(telegram), post)
    assert delivered.form == "link" and delivered.remember == {}
    assert telegram.posts[0]["method"] == "sendMessage"
    assert telegram.posts[0]["text"] == "今晚8点开播\nhttps://s.example.test/s/abc123"
    assert telegram.uploads == 0


def test_media_caption_over_1024_is_refused_before_sending(telegram: TelegramStandIn, small_mp4: Path) -> None:
    log: list[HttpRequest] = []
    with pytest.raises(ChannelRejected) as refused:
        drive(adapter(telegram), make_post(caption="a" * 1025, video=media(small_mp4)), log=log)
    assert refused.value.code == "caption_too_long" and "1024" in str(refused.value)
    assert log == [] and telegram.requests == []
    # emoji outside the BMP count twice (UTF-16): 513 of them are over the limit too
    with pytest.raises(ChannelRejected, match="1026 UTF-16 units"):
        drive(adapter(telegram), make_post(caption="🔥" * 513, video=media(small_mp4)))
    assert telegram.requests == []
    # exactly 1024 goes out, and the stand-in (which counts the same way) accepts it
    drive(adapter(telegram), make_post(caption="好" * 1024, video=media(small_mp4)))
    assert len(telegram.posts) == 1


def test_throttled_with_retry_after(telegram: TelegramStandIn) -> None:
    telegram.fail_next(Fault.THROTTLE, retry_after=7)
    with pytest.raises(ChannelThrottled) as throttled:
        drive(adapter(telegram), make_post())
    assert throttled.value.retry_after == 7
    assert telegram.posts == []


def test_per_chat_rate_window_throttles_in_telegram_format() -> None:
    with TelegramStandIn(rates=((2, 60.0),)) as standin:
        drive(adapter(standin), make_post())
        drive(adapter(standin), make_post())
        with pytest.raises(ChannelThrottled) as throttled:
            drive(adapter(standin), make_post())
        assert throttled.value.retry_after == 60 and standin.rejected_for_rate == 1


def test_server_error_is_unavailable_and_retryable(telegram: TelegramStandIn) -> None:
    telegram.fail_next(Fault.ERROR, status=502)
    with pytest.raises(ChannelUnavailable) as down:
        drive(adapter(telegram), make_post())
    assert down.value.retryable and telegram.posts == []


def test_bad_token_is_rejected_without_echoing_it(telegram: TelegramStandIn) -> None:
    wrong = "123456789:" + "W" * 35
    with pytest.raises(ChannelRejected) as refused:
        drive(adapter(telegram, token=wrong), make_post())
    assert refused.value.code == "bad_token" and not refused.value.retryable
    assert wrong not in str(refused.value) and "W" * 10 not in str(refused.value)


def test_unknown_chat_is_rejected_with_telegrams_description(telegram: TelegramStandIn) -> None:
    with pytest.raises(ChannelRejected, match="chat not found"):
        drive(adapter(telegram, "-1009"), make_post())


def test_connection_refused_is_unavailable(telegram: TelegramStandIn) -> None:
    bot = adapter(telegram)
    telegram.stop()
    with pytest.raises(ChannelUnavailable):
        drive(bot, make_post())


def test_stall_after_accepting_times_out_with_the_post_made(telegram: TelegramStandIn) -> None:
    telegram.fail_next(Fault.STALL, stall=1.0)
    bot = adapter(telegram)
    exchange = bot.exchange(make_post())
    request = next(exchange)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(request.url, json=request.json, timeout=0.3)
    assert request.posts is True and len(telegram.posts) == 1  # outcome unknown: never sent blindly again
