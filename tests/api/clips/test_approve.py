"""Approving a clip: the lint blocks 最/第一 naming the term; approval gives variants and links to leaders."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from runtime.config import Settings
from store import leaders as leader_store
from store.db import session_scope
from store.models import Clip, Product, Recording, ShareLink, utcnow

BUY = "https://shop.example.com/p/LS-1"


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def make_clip(settings: Settings, *, status: str = "ready", coupon_expired: bool = False) -> str:
    """A stored clip row as the render stage leaves it (the files are not needed to approve it)."""
    with session_scope(settings.database_url) as session:
        if session.get(Product, "LS-1") is None:
            expires = utcnow() - timedelta(hours=1) if coupon_expired else None
            session.add(
                Product(
                    sku="LS-1",
                    name="面霜",
                    price=Decimal("89.00"),
                    coupon="满99减10",
                    coupon_expires=expires,
                    buy_url=BUY,
                )
            )
            session.add(
                Recording(
                    id="rec1",
                    title="live",
                    source="path",
                    original_filename="live.mp4",
                    storage_key="recordings/live.mp4",
                    status="ready",
                    duration=600.0,
                )
            )
            for lid, name, state in (("ann", "Ann", "active"), ("bea", "Bea", "active"), ("cal", "Cal", "inactive")):
                leader_store.create_leader(session, name=name, leader_id=lid, status=state)
        count = session.query(Clip).count()
        clip = Clip(
            recording_id="rec1",
            preset="douyin",
            start=10.0 * count,
            end=10.0 * count + 10,
            status=status,
            sku="LS-1",
            product={"name": "面霜", "price": "89.00", "currency": "CNY", "coupon": "满99减10", "buy_url": BUY},
            video_key="clips/x/clip.mp4",
        )
        session.add(clip)
        session.flush()
        return clip.id


@pytest.fixture
def merchant(make_key: Callable[..., str]) -> dict[str, str]:
    return _auth(make_key("merchant"))


@pytest.mark.parametrize(("text", "term"), [("全场最划算", "最"), ("我们是第一名", "第一")])
def test_a_caption_with_an_absolute_term_cannot_be_approved(
    client: TestClient, settings: Settings, merchant: dict[str, str], text: str, term: str
) -> None:
    clip_id = make_clip(settings)
    answer = client.post(f"/api/clips/{clip_id}/approve", json={"title": "面霜", "caption": text}, headers=merchant)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail["code"] == "lint_failed" and term in detail["message"]
    assert [(e["term"], e["field"], e["severity"]) for e in detail["errors"]] == [(term, "caption", "error")]
    review = client.get(f"/api/clips/{clip_id}/review", headers=merchant).json()
    assert review["review_status"] == "draft" and review["leaders"] == []


def test_approval_gives_the_clip_to_every_active_leader(
    client: TestClient, settings: Settings, merchant: dict[str, str]
) -> None:
    clip_id = make_clip(settings)
    body = {"title": "保湿面霜", "caption": "纯天然配方，最近很火", "hashtags": ["#护肤", "护肤", "直播"]}
    answer = client.post(f"/api/clips/{clip_id}/approve", json=body, headers=merchant)
    assert answer.status_code == 200, answer.text
    done = answer.json()
    assert done["review_status"] == "approved" and done["hashtags"] == ["护肤", "直播"]
    assert done["leaders"] == ["ann", "bea"] and [w["term"] for w in done["warnings"]] == ["纯天然"]
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.approved_at is not None and clip.approved_by
        variants = {v.leader_id: v for v in clip.variants}
        assert set(variants) == {"ann", "bea"} and all(v.video_key is None for v in variants.values())
        links = {link.leader_id: link for link in session.query(ShareLink).filter_by(clip_id=clip_id)}
        assert set(links) == {"ann", "bea"} and all(link.target_url == BUY for link in links.values())
        assert variants["ann"].share_url == f"{settings.public_base_url}/s/{links['ann'].code}"
        assert links["ann"].variant_id == variants["ann"].id
    again = client.post(
        f"/api/clips/{clip_id}/approve", json={**body, "title": "新标题", "leader_ids": ["ann"]}, headers=merchant
    )
    assert (
        again.json()["leaders"] == ["ann", "bea"] and again.json()["added"] == [] and again.json()["title"] == "新标题"
    )


def test_leader_ids_are_honoured_and_bad_ones_named(
    client: TestClient, settings: Settings, merchant: dict[str, str]
) -> None:
    clip_id = make_clip(settings)
    bad = client.post(
        f"/api/clips/{clip_id}/approve", json={"title": "t", "leader_ids": ["cal", "zed"]}, headers=merchant
    )
    assert bad.status_code == 422
    assert (bad.json()["detail"]["unknown_leaders"], bad.json()["detail"]["inactive_leaders"]) == (["zed"], ["cal"])
    good = client.post(f"/api/clips/{clip_id}/approve", json={"title": "t", "leader_ids": ["bea"]}, headers=merchant)
    assert good.json()["leaders"] == ["bea"]
    revoked = client.post(f"/api/clips/{clip_id}/revoke", json={"leader_ids": ["bea"]}, headers=merchant)
    assert revoked.json()["revoked"] == ["bea"]
    assert client.get(f"/api/clips/{clip_id}/review", headers=merchant).json()["leaders"] == []


def test_only_ready_clips_and_approvers(
    client: TestClient, settings: Settings, merchant: dict[str, str], make_key: Callable[..., str]
) -> None:
    queued = make_clip(settings, status="queued")
    assert client.post(f"/api/clips/{queued}/approve", json={"title": "t"}, headers=merchant).status_code == 409
    content = _auth(make_key("content"))
    assert client.post(f"/api/clips/{queued}/approve", json={"title": "t"}, headers=content).status_code == 403
    bad_tag = client.post(
        f"/api/clips/{make_clip(settings)}/approve", json={"title": "t", "hashtags": ["a b"]}, headers=merchant
    )
    assert bad_tag.status_code == 422 and "space" in bad_tag.text


def test_an_expired_coupon_blocks_a_caption_that_mentions_it(
    client: TestClient, settings: Settings, merchant: dict[str, str]
) -> None:
    clip_id = make_clip(settings, coupon_expired=True)
    blocked = client.post(
        f"/api/clips/{clip_id}/approve", json={"title": "t", "caption": "领券满99减10"}, headers=merchant
    )
    assert blocked.status_code == 422 and blocked.json()["detail"]["errors"][0]["rule"] == "coupon_expired"
    passed = client.post(f"/api/clips/{clip_id}/approve", json={"title": "t", "caption": "好用"}, headers=merchant)
    assert passed.status_code == 200 and [w["rule"] for w in passed.json()["warnings"]] == ["coupon_expired"]
