"""API keys: hashed storage, roles, revocation; 401 without a key, 403 for the wrong role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from runtime.config import Settings
from store import keys as key_store
from store.db import session_scope
from store.models import ApiKey

# Every ingest and recording endpoint, with a body shape that would pass validation.
PROTECTED = [
    ("GET", "/api/recordings"),
    ("GET", "/api/recordings/abc"),
    ("DELETE", "/api/recordings/abc"),
    ("POST", "/api/recordings"),
    ("POST", "/api/recordings/register"),
    ("POST", "/api/uploads/tus/"),
    ("HEAD", "/api/uploads/tus/abc"),
    ("PATCH", "/api/uploads/tus/abc"),
    ("DELETE", "/api/uploads/tus/abc"),
    ("POST", "/api/catalog"),
    ("GET", "/api/products"),
    ("POST", "/api/recordings/abc/timeline"),
    ("POST", "/api/recordings/abc/chat"),
    ("POST", "/api/recordings/abc/orders"),
    ("POST", "/api/recordings/abc/transcript"),
    ("GET", "/api/keys"),
    ("POST", "/api/keys"),
]
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def test_keys_are_stored_hashed(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        issued = key_store.create_key(session, name="ops", role="admin")
    with session_scope(settings.database_url) as session:
        row = session.scalars(select(ApiKey)).one()
        assert issued.secret not in (row.key_hash, row.prefix)
        assert key_store.authenticate(session, issued.secret) is not None
        assert key_store.authenticate(session, issued.secret + "x") is None


def test_unknown_role_is_refused(settings: Settings) -> None:
    with (
        session_scope(settings.database_url) as session,
        pytest.raises(key_store.KeyRequestError, match="unknown role"),
    ):
        key_store.create_key(session, name="x", role="owner")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_leader_gets_403_everywhere(
    client: TestClient, issue_key: Callable[[str], str], method: str, path: str
) -> None:
    leader = issue_key("leader")
    response = client.request(method, path, headers={"Authorization": f"Bearer {leader}", **TUS})
    assert response.status_code == 403, response.text


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_key_gets_401(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, headers=TUS)
    assert response.status_code == 401, response.text


def test_revoked_key_gets_401(client: TestClient, issue_key: Callable[[str], str], settings: Settings) -> None:
    secret = issue_key("content")
    assert client.get("/api/recordings", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    with session_scope(settings.database_url) as session:
        row = key_store.authenticate(session, secret)
        assert row is not None
        key_store.revoke_key(session, key_id=row.prefix)
    response = client.get("/api/recordings", headers={"X-API-Key": secret})
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_admin_manages_keys_over_the_api(client: TestClient, issue_key: Callable[[str], str]) -> None:
    admin = {"Authorization": f"Bearer {issue_key('admin')}"}
    created = client.post("/api/keys", json={"name": "shop", "role": "merchant"}, headers=admin)
    assert created.status_code == 201
    merchant = created.json()["key"]
    assert client.get("/api/products", headers={"Authorization": f"Bearer {merchant}"}).status_code == 200
    listed = client.get("/api/keys", headers=admin).json()
    assert all("key" not in row and "key_hash" not in row for row in listed)
    assert client.delete(f"/api/keys/{created.json()['id']}", headers=admin).status_code == 200
    assert client.get("/api/products", headers={"Authorization": f"Bearer {merchant}"}).status_code == 401
    assert client.post("/api/keys", json={"name": "x", "role": "god"}, headers=admin).status_code == 422
