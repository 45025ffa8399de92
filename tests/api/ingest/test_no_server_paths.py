"""API answers never carry the server's own paths: not the staging file's, not the import roots."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from runtime.config import Settings
from tests.api.ingest.helpers import TUS


def _no_server_path(text: str, settings: Settings) -> None:
    root = str(settings.media_root.resolve())
    assert root not in text and str(settings.media_root) not in text
    assert ".part" not in text


def test_multipart_upload_answer_has_no_paths(content: httpx.Client, settings: Settings, small_mp4: Path) -> None:
    with small_mp4.open("rb") as handle:
        response = content.post("/api/recordings", files={"file": ("replay.mp4", handle)})
    assert response.status_code == 201, response.text
    body = response.json()
    assert "path" not in body["probe_details"] and body["probe_details"]["container"]
    _no_server_path(response.text, settings)
    again = content.get(f"/api/recordings/{body['id']}")
    assert again.status_code == 200 and "path" not in again.json()["probe_details"]
    _no_server_path(again.text, settings)
    listed = content.get("/api/recordings")
    _no_server_path(listed.text, settings)


def test_tus_upload_answer_has_no_paths(content: httpx.Client, settings: Settings, small_mp4: Path) -> None:
    data = small_mp4.read_bytes()
    name = base64.b64encode(b"replay.mp4").decode()
    created = content.post(
        "/api/uploads/tus/",
        headers={**TUS, "Upload-Length": str(len(data)), "Upload-Metadata": f"filename {name}"},
    )
    assert created.status_code == 201, created.text
    done = content.patch(
        created.headers["Location"],
        content=data,
        headers={**TUS, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert done.status_code == 200, done.text
    assert "path" not in done.json()["probe_details"]
    _no_server_path(done.text, settings)
