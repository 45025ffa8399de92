"""Every channel through the real publishing engine, against its local stand-in (which checks the service's
documented payload and signature): a publication reaches ``sent``; a throttle is honoured (nothing is sent
before the wait the channel asked for); a 5xx is retried; a stall after the post left is ``unknown`` and
never sent again."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from liveslice.standins import Fault, StandIn
from liveslice.standins.dingtalk import DingTalkStandIn
from liveslice.standins.discord import DiscordStandIn
from liveslice.standins.feishu import FeishuStandIn
from liveslice.standins.slack import SlackStandIn
from liveslice.standins.telegram import TelegramStandIn
from liveslice.standins.webhook import WebhookStandIn
from liveslice.standins.wecom import WeComStandIn
from runtime.config import Settings
from services.publishing import create_publication
from services.storage import get_storage
from services.targets import create_target
from store.db import session_scope
from store.models import Clip, Publication, utcnow
from tests.support.publishing import drain, make_clip, new_webhook_secret, publication, run_due

WEBHOOK_SECRET = new_webhook_secret()
Setup = Callable[[], tuple[StandIn, Callable[[StandIn], dict[str, str]]]]

CHANNELS: dict[str, Setup] = {
    "wecom": lambda: (WeComStandIn(), lambda s: s.target_config()),  # type: ignore[attr-defined]
    "feishu": lambda: (FeishuStandIn(secret="feishu-signing-secret"), lambda s: s.target_config()),  # type: ignore[attr-defined]
    "dingtalk": lambda: (DingTalkStandIn(secret="SECdingtalk-secret"), lambda s: s.target_config()),  # type: ignore[attr-defined]
    "telegram": lambda: (
        TelegramStandIn(),
        lambda s: {"bot_token": s.token, "chat_id": "-1001", "api_base": s.base_url},  # type: ignore[attr-defined]
    ),
    "slack": lambda: (SlackStandIn(), lambda s: {"webhook_url": s.webhook_url}),  # type: ignore[attr-defined]
    "discord": lambda: (DiscordStandIn(), lambda s: {"webhook_url": s.webhook_url}),  # type: ignore[attr-defined]
    "webhook": lambda: (
        WebhookStandIn(secret=WEBHOOK_SECRET),
        lambda s: {"url": s.url, "secret": WEBHOOK_SECRET},  # type: ignore[attr-defined]
    ),
}


@pytest.fixture(params=sorted(CHANNELS))
def channel(request: pytest.FixtureRequest) -> Iterator[tuple[str, StandIn, dict[str, str]]]:
    standin, config = CHANNELS[request.param]()
    with standin:
        yield request.param, standin, config(standin)


def _publication(settings: Settings, channel: str, config: dict[str, Any], video: Path) -> str:
    clip_id = make_clip(settings)
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.video_key
        shutil.copyfile(video, get_storage(settings).local_path(clip.video_key))  # a real MP4 for uploads
        target = create_target(settings, session, channel=channel, name=f"{channel} group", config=config)
        session.flush()
        return create_publication(settings, session, clip_id=clip_id, target_id=target.id).id


def _due_now(settings: Settings, publication_id: str) -> None:
    """As if the wait had passed (the channel's own wait can be minutes: DingTalk silences for 10)."""
    with session_scope(settings.database_url) as session:
        session.execute(update(Publication).where(Publication.id == publication_id).values(due_at=utcnow()))


def test_reaches_sent(settings: Settings, channel: tuple[str, StandIn, dict[str, str]], small_mp4: Path) -> None:
    name, standin, config = channel
    pub_id = _publication(settings, name, config, small_mp4)
    drain(settings, [pub_id])
    row = publication(settings, pub_id)
    assert row.status == "sent", row.last_error
    assert standin.posts and row.caption and row.attempts == 1


def test_a_throttle_is_honoured(
    settings: Settings, channel: tuple[str, StandIn, dict[str, str]], small_mp4: Path
) -> None:
    name, standin, config = channel
    pub_id = _publication(settings, name, config, small_mp4)
    standin.fail_next(Fault.THROTTLE, retry_after=3)
    before = utcnow()
    run_due(settings)
    row = publication(settings, pub_id)
    assert row.status == "retrying" and row.error_code == "rate_limited" and not standin.posts
    assert row.due_at is not None and row.due_at.replace(tzinfo=before.tzinfo) >= before + timedelta(seconds=2.9)
    run_due(settings)  # not due yet: nothing goes out
    assert publication(settings, pub_id).status == "retrying" and not standin.posts
    _due_now(settings, pub_id)
    assert drain(settings, [pub_id]) == {pub_id: "sent"}


def test_a_5xx_is_retried(settings: Settings, channel: tuple[str, StandIn, dict[str, str]], small_mp4: Path) -> None:
    name, standin, config = channel
    pub_id = _publication(settings, name, config, small_mp4)
    standin.fail_next(Fault.ERROR, status=502)
    run_due(settings)
    assert publication(settings, pub_id).status == "retrying" and not standin.posts
    _due_now(settings, pub_id)
    assert drain(settings, [pub_id]) == {pub_id: "sent"}
    assert publication(settings, pub_id).attempts == 2


def test_a_timeout_after_sending_never_posts_twice(
    settings: Settings, channel: tuple[str, StandIn, dict[str, str]], small_mp4: Path
) -> None:
    name, standin, config = channel
    pub_id = _publication(settings, name, config, small_mp4)
    standin.fail_next(Fault.STALL, stall=2.0)
    run_due(settings, request_timeout=0.5)
    row = publication(settings, pub_id)
    assert row.status == "unknown", (row.status, row.last_error)
    posted = len(standin.posts)
    assert posted >= 1  # the stand-in took the post; only the answer was lost
    _due_now(settings, pub_id)
    for _ in range(3):
        run_due(settings, request_timeout=0.5)
    assert publication(settings, pub_id).status == "unknown" and len(standin.posts) == posted


def test_a_failure_after_part_of_a_post_went_out_is_never_retried(settings: Settings, small_mp4: Path) -> None:
    """WeCom has no video message: the clip goes as a file, then the caption as text. If the text fails
    after the file is in the group, sending it all again would post the file twice: a person decides."""
    with WeComStandIn() as robot:
        pub_id = _publication(settings, "wecom", robot.target_config(), small_mp4)
        robot.faults.extend([Fault("none"), Fault(Fault.ERROR, status=502)])  # the file passes, the text fails
        run_due(settings)
        row = publication(settings, pub_id)
        assert row.status in ("unknown", "failed") and len(robot.posts) == 1, (row.status, row.last_error)
        _due_now(settings, pub_id)
        for _ in range(2):
            run_due(settings)
        assert publication(settings, pub_id).status == row.status and len(robot.posts) == 1


def test_a_clip_without_a_shop_link_links_to_its_video(
    settings: Settings, channel: tuple[str, StandIn, dict[str, str]], small_mp4: Path
) -> None:
    name, standin, config = channel
    pub_id = _publication(settings, name, config, small_mp4)
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, publication(settings, pub_id).clip_id)
        assert clip is not None
        clip.product = {"name": "Scarf", "price": "99.00"}  # no buy_url: no share link can be made
    drain(settings, [pub_id])
    row = publication(settings, pub_id)
    assert row.status == "sent", row.last_error
    assert any("/m/" in str(post) for post in standin.posts)  # the signed video link stands in


def test_no_log_line_carries_a_bot_token_or_robot_key(
    settings: Settings, small_mp4: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from runtime.logs import configure_logging

    configure_logging(settings, level="DEBUG")
    with TelegramStandIn() as bot, WeComStandIn() as robot, caplog.at_level("DEBUG"):
        ids = [
            _publication(
                settings, "telegram", {"bot_token": bot.token, "chat_id": "-1001", "api_base": bot.base_url}, small_mp4
            ),
            _publication(settings, "wecom", robot.target_config(), small_mp4),
        ]
        assert set(drain(settings, ids).values()) == {"sent"}
    assert caplog.records  # the run logged
    assert bot.token not in caplog.text and robot.key not in caplog.text
