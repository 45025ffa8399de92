"""``/api/targets`` and ``/api/channels``: made, listed, changed and removed; secrets never answered nor
readable in the database file; roles and a leader's scope."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from runtime.config import Settings
from tests.conftest import make_settings
from tests.support.publishing import new_webhook_secret

Issue = Callable[..., str]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, channel_hosts=["127.0.0.1"])


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def _db_bytes(settings: Settings) -> bytes:
    path = Path(settings.database_url.removeprefix("sqlite:///"))
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))  # the file, -wal and -shm


def test_targets_round_trip_without_ever_showing_a_secret(
    client: TestClient, settings: Settings, issue_key: Issue
) -> None:
    merchant = _auth(issue_key("merchant"))
    secret = new_webhook_secret()
    body = {"type": "webhook", "name": "Shop group", "config": {"url": "http://127.0.0.1:9/hook", "secret": secret}}
    created = client.post("/api/targets", json=body, headers=merchant)
    assert created.status_code == 201, created.text
    target = created.json()
    assert target["config"]["url"] == "http://127.0.0.1:9/hook" and target["config"]["secret"].startswith("••••")
    answers = [created.text, client.get("/api/targets", headers=merchant).text]
    answers.append(client.get(f"/api/targets/{target['id']}", headers=merchant).text)
    patched = client.patch(f"/api/targets/{target['id']}", json={"status": "disabled"}, headers=merchant)
    assert patched.status_code == 200 and patched.json()["status"] == "disabled"
    answers.append(patched.text)
    raw = secret.removeprefix("whsec_")
    for text in answers:
        assert secret not in text and raw not in text and raw[:8] not in text
    stored = _db_bytes(settings)
    assert secret.encode() not in stored and raw.encode() not in stored and raw[:12].encode() not in stored
    assert b"127.0.0.1:9/hook" in stored  # the non-secret config is plain
    assert client.delete(f"/api/targets/{target['id']}", headers=merchant).status_code == 204
    assert client.get(f"/api/targets/{target['id']}", headers=merchant).status_code == 404


def test_a_bad_config_is_refused_with_the_field_named(client: TestClient, issue_key: Issue) -> None:
    merchant = _auth(issue_key("merchant"))
    secret = new_webhook_secret()
    bad = client.post(
        "/api/targets",
        json={"type": "webhook", "name": "x", "config": {"url": "http://evil.example/h", "secret": secret}},
        headers=merchant,
    )
    assert bad.status_code == 422 and "config.url" in bad.text and secret not in bad.text
    unknown = client.post("/api/targets", json={"type": "fax", "name": "x", "config": {}}, headers=merchant)
    assert unknown.status_code == 422 and "unknown channel type" in unknown.text
    no_leader = client.post(
        "/api/targets",
        json={
            "type": "webhook",
            "name": "x",
            "config": {"url": "http://127.0.0.1:9/h", "secret": secret},
            "leader_id": "ghost",
        },
        headers=merchant,
    )
    assert no_leader.status_code == 422 and "no leader" in no_leader.text


def test_channels_describe_fields_rates_and_caption_limits(client: TestClient, issue_key: Issue) -> None:
    items = client.get("/api/channels", headers=_auth(issue_key("admin"))).json()["items"]
    webhook = next(item for item in items if item["type"] == "webhook")
    assert {"name": "secret", "secret": True}.items() <= webhook["fields"][1].items()
    assert webhook["rates"] == ["60/minute"] and webhook["caption_unit"] == "chars" and webhook["caption_limit"] > 0


def test_roles_and_a_leader_sees_only_its_own_groups(client: TestClient, issue_key: Issue) -> None:
    admin = _auth(issue_key("admin"))
    config = {"url": "http://127.0.0.1:9/h", "secret": new_webhook_secret()}
    leader_key = issue_key("leader", leader_id="ann")
    issue_key("leader", name="other", leader_id="bob")
    mine = client.post(
        "/api/targets", json={"type": "webhook", "name": "Ann's", "config": config, "leader_id": "ann"}, headers=admin
    )
    client.post(
        "/api/targets", json={"type": "webhook", "name": "Bob's", "config": config, "leader_id": "bob"}, headers=admin
    )
    assert mine.status_code == 201
    seen = client.get("/api/targets", headers=_auth(leader_key)).json()["items"]
    assert [t["name"] for t in seen] == ["Ann's"]
    assert (
        client.post(
            "/api/targets", json={"type": "webhook", "name": "x", "config": config}, headers=_auth(leader_key)
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/targets", json={"type": "webhook", "name": "x", "config": config}, headers=_auth(issue_key("content"))
        ).status_code
        == 403
    )
    assert client.post("/api/targets", json={}).status_code == 401


@pytest.mark.parametrize(
    "url", ["https://127.0.0.1/hook", "https://10.1.2.3/hook", "https://169.254.169.254/latest", "https://[::1]/x"]
)
def test_a_webhook_cannot_point_at_an_internal_address(tmp_path: Path, url: str) -> None:
    from api.main import create_app

    settings = make_settings(tmp_path)  # no LIVESLICE_CHANNEL_HOSTS: only public addresses
    with TestClient(create_app(settings)) as client:
        from store import keys as key_store
        from store.db import session_scope

        with session_scope(settings.database_url) as session:
            secret = key_store.create_key(session, name="m", role="merchant").secret
        body = {"type": "webhook", "name": "Hook", "config": {"url": url, "secret": new_webhook_secret()}}
        answer = client.post("/api/targets", json=body, headers=_auth(secret))
    assert answer.status_code == 422 and "internal address" in answer.text
