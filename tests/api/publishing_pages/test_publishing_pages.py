"""The review, channels and publications pages: forms that approve (or are blocked by the lint), add a
channel without ever showing its secret again, publish to a stand-in and show the outcome; roles."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from liveslice.standins.webhook import WebhookStandIn
from runtime.config import Settings
from store import leaders as leader_store
from store.db import session_scope
from store.models import ChannelTarget, Clip, ClipVariant, Publication
from tests.conftest import make_settings
from tests.support.publishing import drain, make_clip, new_webhook_secret

Login = Callable[..., TestClient]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, channel_hosts=["127.0.0.1"], rate_limit_storage="memory://")


def _leader(settings: Settings, name: str, status: str = "active") -> str:
    with session_scope(settings.database_url) as session:
        leader = leader_store.create_leader(session, name=name)
        leader.status = status
        return leader.id


def test_review_blocks_absolute_terms_then_approves_and_gives_to_the_checked_leaders(
    settings: Settings, login: Login
) -> None:
    ann, bea = _leader(settings, "Ann"), _leader(settings, "Bea")
    clip_id = make_clip(settings, approved=False)
    client = login("merchant")
    page = client.get(f"/clips/{clip_id}/review")
    assert page.status_code == 200 and 'name="leader_ids"' in page.text

    blocked = client.post(
        f"/clips/{clip_id}/review",
        data={"title": "全网最低价丝巾", "caption": "销量第一", "hashtags": "丝巾", "leader_ids": [ann]},
        follow_redirects=False,
    )
    assert blocked.status_code == 422
    assert "<strong>全网最低价</strong>" in blocked.text and "<strong>销量第一</strong>" in blocked.text
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.review_status == "draft" and not clip.variants

    done = client.post(
        f"/clips/{clip_id}/review",
        data={"title": "真丝丝巾", "caption": "轻薄透气，直播同款", "hashtags": "丝巾, 直播", "leader_ids": [ann]},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.review_status == "approved" and clip.hashtags == ["丝巾", "直播"]
        given = set(session.scalars(select(ClipVariant.leader_id).where(ClipVariant.clip_id == clip_id)))
    assert given == {ann} and bea not in given


def test_adding_a_channel_keeps_its_secret_out_of_every_page(settings: Settings, login: Login) -> None:
    client = login("merchant")
    secret = new_webhook_secret()
    bad = client.post(
        "/targets",
        data={"type": "webhook", "name": "Hook", "config.webhook.url": "ftp://x", "config.webhook.secret": secret},
        follow_redirects=False,
    )
    assert bad.status_code == 422 and "config.url" in bad.text and secret not in bad.text
    added = client.post(
        "/targets",
        data={
            "type": "webhook",
            "name": "Shop hook <b>",
            "config.webhook.url": "http://127.0.0.1:9/hook",
            "config.webhook.secret": secret,
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = client.get("/targets")
    assert page.status_code == 200
    assert "Shop hook &lt;b&gt;" in page.text and secret not in page.text and secret[6:20] not in page.text
    with session_scope(settings.database_url) as session:
        target = session.scalars(select(ChannelTarget)).one()
        assert secret not in (target.secrets or "") and secret not in str(target.config)


def test_publishing_from_the_page_reaches_the_stand_in_and_shows_sent(settings: Settings, login: Login) -> None:
    clip_id = make_clip(settings)
    secret = new_webhook_secret()
    client = login("merchant")
    with WebhookStandIn(secret=secret) as hook:
        client.post(
            "/targets",
            data={"type": "webhook", "name": "Hook", "config.webhook.url": hook.url, "config.webhook.secret": secret},
        )
        with session_scope(settings.database_url) as session:
            target_id = session.scalars(select(ChannelTarget.id)).one()
        form = client.get("/publications")
        assert f'value="{clip_id}"' in form.text and f'value="{target_id}"' in form.text
        sent = client.post(
            "/publications", data={"clip_ids": [clip_id], "target_ids": [target_id]}, follow_redirects=False
        )
        assert sent.status_code == 303
        with session_scope(settings.database_url) as session:
            publication_id = session.scalars(select(Publication.id)).one()
        assert drain(settings, [publication_id]) == {publication_id: "sent"}
        assert len(hook.posts) == 1
    page = client.get("/publications")
    row = re.search(rf'<tr data-publication="{publication_id}" data-status="(\w+)"', page.text)
    assert row is not None and row.group(1) == "sent"


def test_publishing_pages_are_for_merchants_and_admins(settings: Settings, login: Login) -> None:
    client = login("leader")
    for path in ("/targets", "/publications"):
        assert client.get(path).status_code == 403
