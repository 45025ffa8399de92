"""``POST /api/publications`` refuses a second live publication of the same (clip, target, leader) with 409
and the existing id; ``DELETE /api/targets/{id}`` refuses while one of its publications is being sent."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from runtime.config import Settings
from store.db import session_scope
from tests.conftest import make_settings
from tests.support.publishing import make_clip, new_webhook_secret

Issue = Callable[..., str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, channel_hosts=["127.0.0.1"], rate_limit_storage="memory://")


def test_a_second_publication_of_the_same_clip_to_a_target_is_409(
    client: TestClient, settings: Settings, issue_key: Issue
) -> None:
    headers = {"Authorization": f"Bearer {issue_key('merchant')}"}
    body = {
        "type": "webhook",
        "name": "hook",
        "config": {"url": "http://127.0.0.1:9/h", "secret": new_webhook_secret()},
    }
    target_id = client.post("/api/targets", json=body, headers=headers).json()["id"]
    clip_id = make_clip(settings)
    first = client.post("/api/publications", json={"clip_id": clip_id, "target_id": target_id}, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/publications", json={"clip_id": clip_id, "target_id": target_id}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["detail"]["existing_id"] == first.json()["id"]
    bad_zone = {"clip_id": make_clip(settings), "target_id": target_id, "timezone": "Mars/Olympus"}
    assert client.post("/api/publications", json=bad_zone, headers=headers).status_code == 422
    with session_scope(settings.database_url) as session:
        session.execute(text("UPDATE publications SET status = 'sending'"))
    refused = client.delete(f"/api/targets/{target_id}", headers=headers)
    assert refused.status_code == 409 and "being sent" in refused.text
    with session_scope(settings.database_url) as session:
        session.execute(text("UPDATE publications SET status = 'sent'"))
    assert client.delete(f"/api/targets/{target_id}", headers=headers).status_code in (200, 204)
