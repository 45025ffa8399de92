"""Scheduling, cancel, bulk and duplicates, the account's rate limit, and keys at rest."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import update

from liveslice.standins.webhook import WebhookStandIn
from runtime.config import Settings
from services.publishing import (
    PublicationConflict,
    cancel_publication,
    create_publication,
    parse_schedule,
)
from services.publishing_bulk import publish_bulk, publish_for_leader
from services.secrets import SecretsUnreadable, rotate
from services.targets import adapter_for, get_target
from store.db import session_scope
from store.leaders import create_leader
from store.models import Publication
from tests.conftest import make_settings
from tests.support.publishing import drain, make_clip, make_webhook_target, new_webhook_secret, publication, run_due


def test_a_naive_time_is_read_in_asia_shanghai() -> None:
    assert parse_schedule("2030-01-01T20:00:00", "Asia/Shanghai") == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_schedule("2030-01-01T20:00:00+00:00", "Asia/Shanghai") == datetime(2030, 1, 1, 20, 0, tzinfo=UTC)


def test_a_naive_schedule_uses_the_default_time_zone(settings: Settings, secret: str) -> None:
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", secret)
    with session_scope(settings.database_url) as session:
        row = create_publication(
            settings, session, clip_id=make_clip(settings), target_id=target_id, scheduled_at="2030-01-01T20:00:00"
        )
        assert row.status == "scheduled" and row.timezone == "Asia/Shanghai"
        assert row.due_at == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def test_a_past_schedule_sends_now(settings: Settings, secret: str) -> None:
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", secret)
    with session_scope(settings.database_url) as session:
        row = create_publication(
            settings, session, clip_id=make_clip(settings), target_id=target_id, scheduled_at="2001-01-01T00:00:00Z"
        )
        assert row.status == "pending"


def test_an_unapproved_clip_cannot_be_published(settings: Settings, secret: str) -> None:
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", secret)
    with session_scope(settings.database_url) as session, pytest.raises(PublicationConflict, match="approve the clip"):
        create_publication(settings, session, clip_id=make_clip(settings, approved=False), target_id=target_id)


def test_a_cancelled_scheduled_publication_is_never_sent(
    settings: Settings, standin: WebhookStandIn, secret: str
) -> None:
    target_id = make_webhook_target(settings, standin.url, secret)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    with session_scope(settings.database_url) as session:
        pub_id = create_publication(
            settings, session, clip_id=make_clip(settings), target_id=target_id, scheduled_at=soon
        ).id
    run_due(settings)
    assert publication(settings, pub_id).status == "scheduled"
    with session_scope(settings.database_url) as session:
        cancel_publication(session, pub_id)
        # even once its time has come
        session.execute(
            update(Publication).where(Publication.id == pub_id).values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert run_due(settings) == []
    assert publication(settings, pub_id).status == "cancelled" and standin.requests == []


def test_bulk_skips_duplicates_and_a_leader_gets_their_clips_on_their_groups(settings: Settings, secret: str) -> None:
    with session_scope(settings.database_url) as session:
        ann = create_leader(session, name="Ann").id
    given, other = make_clip(settings, leaders=[ann]), make_clip(settings)
    plain = make_webhook_target(settings, "http://127.0.0.1:9/a", secret)
    anns = make_webhook_target(settings, "http://127.0.0.1:9/b", secret, leader_id=ann)
    with session_scope(settings.database_url) as session:
        first = publish_bulk(settings, session, clip_ids=[given, other], target_ids=[plain, anns])
        # Ann's group gets only the clip given to her
        pairs = {(p.clip_id, p.target_id, p.leader_id) for p in first.created}
        assert pairs == {(given, plain, None), (other, plain, None), (given, anns, ann)}
        assert [s["reason"] for s in first.skipped] == [f"leader {ann} was not given this clip"]
        again = publish_bulk(settings, session, clip_ids=[given], target_ids=[plain])
        assert again.created == [] and "already published (pending)" in again.skipped[0]["reason"]
        mine = publish_for_leader(settings, session, leader_id=ann)
        assert mine.created == [] and mine.skipped[0]["existing_id"] in {p.id for p in first.created}


def test_thirty_posts_to_one_rate_limited_robot_all_arrive(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, channel_hosts=["127.0.0.1"], channel_rates={"webhook": "5/2 seconds"}, rate_limit_storage="memory://"
    )
    secret = new_webhook_secret()
    with WebhookStandIn(secret=secret, rates=((5, 2.0),)) as standin:
        assert isinstance(standin, WebhookStandIn)
        # two targets on the same robot share its rate (the account, not the target)
        targets = [make_webhook_target(settings, standin.url, secret) for _ in range(2)]
        clips = [make_clip(settings) for _ in range(15)]
        with session_scope(settings.database_url) as session:
            result = publish_bulk(settings, session, clip_ids=clips, target_ids=targets)
            ids = [p.id for p in result.created]
        assert len(ids) == 30
        started = time.monotonic()
        statuses = drain(settings, ids, timeout=60)
        took = time.monotonic() - started
    assert set(statuses.values()) == {"sent"}, statuses
    assert len(standin.posts) == 30 and standin.rejected_for_rate == 0
    assert all(publication(settings, i).attempts == 1 for i in ids)  # deferrals are not attempts
    assert took >= 10  # 30 posts at 5 per 2 s: spread out, not rejected


def test_rotating_keys_re_encrypts_and_a_lost_key_is_named(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings = make_settings(tmp_path, encryption_keys=[old], channel_hosts=["127.0.0.1"])
    secret = new_webhook_secret()
    target_id = make_webhook_target(settings, "http://127.0.0.1:9/h", secret)
    rotated = make_settings(tmp_path, encryption_keys=[new, old], channel_hosts=["127.0.0.1"])
    with session_scope(rotated.database_url) as session:
        assert rotate(rotated, session) == 1
    only_new = make_settings(tmp_path, encryption_keys=[new], channel_hosts=["127.0.0.1"])
    with session_scope(only_new.database_url) as session:
        assert adapter_for(only_new, get_target(session, target_id)).config["secret"] == secret
    with session_scope(settings.database_url) as session, pytest.raises(SecretsUnreadable, match="no longer in"):
        adapter_for(settings, get_target(session, target_id))  # only the old key: it cannot read the new token
