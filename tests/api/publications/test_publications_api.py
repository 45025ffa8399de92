"""``/api/publications``: create, read, bulk, cancel and retry; approval first; the signed ``/m/`` media
URLs are public, expire and refuse forgeries; no answer holds a target's secret."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from liveslice.standins.webhook import WebhookStandIn
from runtime.config import Settings
from services.media_urls import make_token
from tests.conftest import make_settings
from tests.support.publishing import drain, make_clip, new_webhook_secret

Issue = Callable[..., str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, channel_hosts=["127.0.0.1"], rate_limit_storage="memory://")


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _target(client: TestClient, headers: dict[str, str], url: str, secret: str) -> str:
    body = {"type": "webhook", "name": "hook", "config": {"url": url, "secret": secret}}
    response = client.post("/api/targets", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_publish_read_and_send(client: TestClient, settings: Settings, issue_key: Issue) -> None:
    merchant = _auth(issue_key("merchant"))
    secret = new_webhook_secret()
    with WebhookStandIn(secret=secret) as standin:
        assert isinstance(standin, WebhookStandIn)
        target_id = _target(client, merchant, standin.url, secret)
        draft = make_clip(settings, approved=False)
        refused = client.post("/api/publications", json={"clip_id": draft, "target_id": target_id}, headers=merchant)
        assert refused.status_code == 409 and "approve the clip first" in refused.text
        clip_id = make_clip(settings)
        created = client.post("/api/publications", json={"clip_id": clip_id, "target_id": target_id}, headers=merchant)
        assert created.status_code == 201, created.text
        publication = created.json()
        assert publication["status"] == "pending" and publication["attempts"] == 0
        assert drain(settings, [publication["id"]]) == {publication["id"]: "sent"}
        got = client.get(f"/api/publications/{publication['id']}", headers=merchant)
        body = got.json()
        for field in ("status", "attempts", "last_error", "external_id", "external_url", "caption", "form", "sent_at"):
            assert field in body
        assert body["status"] == "sent" and body["caption"] == standin.posts[0]["caption"]
        listed = client.get(f"/api/publications?status=sent&clip_id={clip_id}", headers=merchant).json()["items"]
        assert [p["id"] for p in listed] == [publication["id"]]
        for text in (created.text, got.text, client.get("/api/publications", headers=merchant).text):
            assert secret not in text and secret[6:] not in text
        # the signed media URL the receiver got is public (no key) and serves the stored file
        video = client.get(standin.posts[0]["video"]["url"].removeprefix(settings.public_base_url))
        assert video.status_code == 200 and video.content == f"video.mp4 of {clip_id}".encode()


def test_schedule_cancel_retry_and_bulk(client: TestClient, settings: Settings, issue_key: Issue) -> None:
    merchant = _auth(issue_key("merchant"))
    target_id = _target(client, merchant, "http://127.0.0.1:9/h", new_webhook_secret())
    clip_id = make_clip(settings)
    body = {"clip_id": clip_id, "target_id": target_id, "scheduled_at": "2035-06-01T20:00:00"}
    scheduled = client.post("/api/publications", json=body, headers=merchant).json()
    assert scheduled["status"] == "scheduled" and scheduled["due_at"] == "2035-06-01T12:00:00+00:00"
    pid = scheduled["id"]
    assert client.post(f"/api/publications/{pid}/retry", headers=merchant).status_code == 409
    assert client.post(f"/api/publications/{pid}/cancel", headers=merchant).json()["status"] == "cancelled"
    assert client.post(f"/api/publications/{pid}/cancel", headers=merchant).status_code == 409
    retried = client.post(f"/api/publications/{pid}/retry", headers=merchant).json()
    assert retried["status"] == "pending" and retried["attempts"] == 0
    other = make_clip(settings)
    bulk = client.post(
        "/api/publications/bulk", json={"clip_ids": [clip_id, other], "target_ids": [target_id]}, headers=merchant
    )
    assert bulk.status_code == 201, bulk.text
    assert [p["clip_id"] for p in bulk.json()["created"]] == [other]
    assert bulk.json()["skipped"][0]["existing_id"] == pid
    bad = client.post("/api/publications/bulk", json={"clip_ids": [clip_id]}, headers=merchant)
    assert bad.status_code == 422
    assert client.post("/api/publications", json=body, headers=_auth(issue_key("content"))).status_code == 403
    assert client.get("/api/publications/nope", headers=merchant).status_code == 404


def test_signed_media_urls_expire_and_refuse_forgeries(client: TestClient, settings: Settings) -> None:
    clip_id = make_clip(settings)
    key = f"clips/{clip_id}/poster.jpg"
    good = client.get(f"/m/{make_token(settings, key)}")
    assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
    expired = client.get(f"/m/{make_token(settings, key, now=time.time() - 10_000, seconds=60)}")
    assert expired.status_code == 410 and key not in expired.text
    payload, signature = make_token(settings, key).split(".")
    other = make_token(settings, f"clips/{clip_id}/video.mp4").split(".")[0]
    for forged in (f"{other}.{signature}", f"{payload}.{signature[:-2]}AA", payload, "x.y"):
        response = client.get(f"/m/{forged}")
        assert response.status_code == 404 and "clips/" not in response.text
    another = make_settings(settings.media_root.parent / "other", secret_key="another-secret")
    assert client.get(f"/m/{make_token(another, key)}").status_code == 404
