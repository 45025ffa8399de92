"""Publishing the same thing once, and many things without a stampede: duplicates refused in the service
and the database (SQLite and PostgreSQL), deferred posts spread over the rate window, export packages that
never overwrite each other, a Telegram ``file_id`` reused from another chat of the same bot."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from liveslice.standins.telegram import TelegramStandIn
from liveslice.standins.webhook import WebhookStandIn
from runtime.config import Settings
from services.errors import Conflict
from services.publishing import (
    DuplicatePublication,
    InvalidPublication,
    create_publication,
    parse_schedule,
    retry_publication,
)
from services.publishing_bulk import publish_bulk
from services.storage import get_storage
from services.targets import create_target, delete_target
from store.db import get_engine, session_scope, upgrade
from store.models import Clip, Job, Publication
from tests.conftest import make_settings
from tests.support.publishing import drain, make_clip, make_webhook_target, new_webhook_secret, publication


def _publish(settings: Settings, clip_id: str, target_id: str) -> str:
    with session_scope(settings.database_url) as session:
        return create_publication(settings, session, clip_id=clip_id, target_id=target_id).id


def _duplicates_are_refused(settings: Settings) -> None:
    secret = new_webhook_secret()
    clip_id = make_clip(settings)
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", secret)
    first = _publish(settings, clip_id, target_id)
    with pytest.raises(DuplicatePublication) as refused:
        _publish(settings, clip_id, target_id)
    assert refused.value.extra["existing_id"] == first
    # the database refuses it too, even when the check is skipped (two requests racing past it)
    with pytest.raises(IntegrityError), session_scope(settings.database_url) as session:
        session.add(Publication(clip_id=clip_id, target_id=target_id, status="pending", attempts=0))
    # a failed one does not count: a new one may be made; retrying the failed one then clashes
    with session_scope(settings.database_url) as session:
        session.execute(text("UPDATE publications SET status = 'failed' WHERE id = :id"), {"id": first})
    second = _publish(settings, clip_id, target_id)
    with pytest.raises(DuplicatePublication) as clash, session_scope(settings.database_url) as session:
        retry_publication(session, first)
    assert clash.value.extra["existing_id"] == second
    with session_scope(settings.database_url) as session:  # the race past the check: the index answers
        row = session.get(Publication, first)
        assert row is not None
        session.execute(text("UPDATE publications SET status = 'failed' WHERE id = :id"), {"id": second})
        session.flush()
        session.execute(text("UPDATE publications SET status = 'pending' WHERE id = :id"), {"id": first})
        with pytest.raises(IntegrityError):
            session.execute(text("UPDATE publications SET status = 'pending' WHERE id = :id"), {"id": second})
        session.rollback()


def test_a_duplicate_is_refused_on_sqlite(settings: Settings) -> None:
    _duplicates_are_refused(settings)


@pytest.mark.postgres
def test_a_duplicate_is_refused_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    upgrade(postgres_url)
    _duplicates_are_refused(make_settings(tmp_path, database_url=postgres_url, channel_hosts=["127.0.0.1"]))


def test_the_upgrade_cancels_live_duplicates_already_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    settings = make_settings(tmp_path, database_url=url, channel_hosts=["127.0.0.1"])
    clip_id = make_clip(settings)
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", new_webhook_secret())
    with get_engine(url).begin() as conn:  # back to 0009, as a database made before the index
        conn.execute(text("DROP INDEX uq_publications_once"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
    rows = [("p1", "sent", "2026-01-01 10:00:00"), ("p2", "pending", "2026-01-01 11:00:00")]
    rows += [("p3", "failed", "2026-01-01 12:00:00"), ("p4", "scheduled", "2026-01-01 09:00:00")]
    with get_engine(url).begin() as conn:
        for pub_id, status, created in rows:
            conn.execute(
                text(
                    "INSERT INTO publications (id, clip_id, target_id, status, idempotency_key, timezone, attempts,"
                    " created_at, updated_at) VALUES (:id, :clip, :target, :status, :id, 'UTC', 0, :at, :at)"
                ),
                {"id": pub_id, "clip": clip_id, "target": target_id, "status": status, "at": created},
            )
    upgrade(url)
    with get_engine(url).connect() as conn:
        statuses = dict(conn.execute(text("SELECT id, status FROM publications")).all())
    assert statuses == {"p1": "sent", "p2": "cancelled", "p3": "failed", "p4": "cancelled"}


def test_bad_time_zone_is_refused_even_without_a_time(settings: Settings) -> None:
    with pytest.raises(InvalidPublication, match="Mars/Olympus"):
        parse_schedule(None, "Mars/Olympus")
    with pytest.raises(InvalidPublication, match="Mars/Olympus"):
        parse_schedule("", "Mars/Olympus")
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", new_webhook_secret())
    with pytest.raises(InvalidPublication), session_scope(settings.database_url) as session:
        create_publication(settings, session, clip_id=make_clip(settings), target_id=target_id, timezone="Mars/Olympus")


def test_a_target_is_not_deleted_while_a_publication_is_sending(settings: Settings) -> None:
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", new_webhook_secret())
    pub_id = _publish(settings, make_clip(settings), target_id)
    with session_scope(settings.database_url) as session:
        session.execute(text("UPDATE publications SET status = 'sending' WHERE id = :id"), {"id": pub_id})
    with pytest.raises(Conflict), session_scope(settings.database_url) as session:
        delete_target(session, target_id)
    assert publication(settings, pub_id).status == "sending"


def test_thirty_deferred_posts_are_spread_not_woken_at_once(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, channel_hosts=["127.0.0.1"], channel_rates={"webhook": "5/2 seconds"}, rate_limit_storage="memory://"
    )
    secret = new_webhook_secret()
    with WebhookStandIn(secret=secret, rates=((5, 2.0),)) as standin:
        assert isinstance(standin, WebhookStandIn)
        target = make_webhook_target(settings, standin.url, secret)
        clips = [make_clip(settings) for _ in range(30)]
        with session_scope(settings.database_url) as session:
            ids = [p.id for p in publish_bulk(settings, session, clip_ids=clips, target_ids=[target]).created]
        statuses = drain(settings, ids, timeout=60)
    assert set(statuses.values()) == {"sent"} and standin.rejected_for_rate == 0
    with session_scope(settings.database_url) as session:
        jobs = session.scalar(select(func.count(Job.id)).where(Job.kind == "publish"))
    assert jobs is not None and jobs <= 2 * len(ids) + 5, f"{jobs} publish jobs for {len(ids)} posts"


def _export(settings: Settings, clip_id: str, config: dict[str, str]) -> str:
    with session_scope(settings.database_url) as session:
        target = create_target(settings, session, channel="export", name="pkg", config=config)
        session.flush()
        return create_publication(settings, session, clip_id=clip_id, target_id=target.id).id


@pytest.mark.parametrize("config", [{}, {"folder_name": "douyin uploads"}])
def test_export_packages_never_overwrite_each_other(settings: Settings, config: dict[str, str]) -> None:
    clip_id = make_clip(settings)
    first = _export(settings, clip_id, config)
    second = _export(settings, clip_id, {**config, "platform": "wechat_channels"})  # same clip and platform
    assert drain(settings, [first, second]) == {first: "sent", second: "sent"}
    folders = {publication(settings, p).external_id for p in (first, second)}
    assert len(folders) == 2
    for folder in folders:
        assert folder is not None
        assert (settings.media_root / "exports" / folder / "caption.txt").is_file()


def test_a_telegram_file_id_is_reused_in_another_chat_of_the_same_bot(settings: Settings, small_mp4: Path) -> None:
    chats = {"-1001": {"type": "supergroup", "title": "A"}, "-1002": {"type": "supergroup", "title": "B"}}
    with TelegramStandIn(chats=chats) as standin:
        assert isinstance(standin, TelegramStandIn)
        clip_id = make_clip(settings)
        with session_scope(settings.database_url) as session:
            clip = session.get(Clip, clip_id)
            assert clip is not None and clip.video_key
            shutil.copyfile(small_mp4, get_storage(settings).local_path(clip.video_key))
            ids = []
            for chat in chats:
                config = {"bot_token": standin.token, "chat_id": chat, "api_base": standin.base_url}
                target = create_target(settings, session, channel="telegram", name=chat, config=config)
                session.flush()
                ids.append(create_publication(settings, session, clip_id=clip_id, target_id=target.id).id)
        assert drain(settings, ids[:1]) == {ids[0]: "sent"}
        time.sleep(0.05)
        assert drain(settings, ids[1:]) == {ids[1]: "sent"}
        assert standin.uploads == 1
