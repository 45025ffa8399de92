"""Who may ingest: admin and content keys; leaders get 403, no key or a revoked key 401."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from runtime.config import Settings
from store.models import Recording, Upload
from tests.api.ingest.helpers import TUS, count_rows
from tests.support.live_server import LiveServer

UPLOAD_ID = "0" * 32
ENDPOINTS = [
    ("POST", "/api/recordings", {}),
    ("POST", "/api/recordings/register", {"json": {"path": "x.mp4"}}),
    ("POST", "/api/uploads/tus/", {"headers": {**TUS, "Upload-Length": "10"}}),
    ("HEAD", f"/api/uploads/tus/{UPLOAD_ID}", {"headers": TUS}),
    (
        "PATCH",
        f"/api/uploads/tus/{UPLOAD_ID}",
        {"headers": {**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"}, "content": b"x"},
    ),
    ("DELETE", f"/api/uploads/tus/{UPLOAD_ID}", {"headers": TUS}),
]


def _call(server: LiveServer, secret: str | None, method: str, path: str, kwargs: dict) -> httpx.Response:
    with server.client(secret) as client:
        if method == "POST" and path == "/api/recordings":
            return client.post(path, files={"file": ("a.mp4", b"\0" * 100)})
        return client.request(method, path, **kwargs)


@pytest.mark.parametrize(("method", "path", "kwargs"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_only_ingest_roles_get_in(
    server: LiveServer, keys: dict[str, str], settings: Settings, method: str, path: str, kwargs: dict
) -> None:
    for who in ("leader", "merchant", "none", "revoked", "bogus"):
        secret = {"none": None, "bogus": "lsk_123456789012_not-a-real-key"}.get(who, keys.get(who))
        response = _call(server, secret, method, path, kwargs)
        expected = 403 if who in ("leader", "merchant") else 401
        assert response.status_code == expected, (who, response.text)
        if method != "HEAD":
            assert response.json()["detail"]
        if path.startswith("/api/uploads/tus"):
            assert response.headers["Tus-Resumable"] == "1.0.0"
    assert count_rows(settings, Recording) == count_rows(settings, Upload) == 0
    assert not any((settings.media_root / "uploads").iterdir())


def test_admin_and_content_keys_are_let_in(server: LiveServer, keys: dict[str, str], small_mp4: Path) -> None:
    for role in ("admin", "content"):
        with server.client(keys[role]) as client:
            with small_mp4.open("rb") as handle:
                assert client.post("/api/recordings", files={"file": ("a.mp4", handle)}).status_code == 201
            created = client.post("/api/uploads/tus/", headers={**TUS, "Upload-Length": "10"})
            assert created.status_code == 201


def test_uploads_belong_to_their_key(server: LiveServer, keys: dict[str, str], settings: Settings) -> None:
    """Another content key cannot see or touch someone's upload; an admin can."""
    from store import keys as key_store
    from store.db import session_scope

    with session_scope(settings.database_url) as session:
        other = key_store.create_key(session, name="other", role="content").secret
    with server.client(keys["content"]) as owner:
        url = owner.post("/api/uploads/tus/", headers={**TUS, "Upload-Length": "10"}).headers["Location"]
    with server.client(other) as stranger:
        assert stranger.head(url, headers=TUS).status_code == 404
        assert stranger.delete(url, headers=TUS).status_code == 404
    with server.client(keys["admin"]) as admin:
        assert admin.head(url, headers=TUS).status_code == 200
