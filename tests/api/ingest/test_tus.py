"""tus 1.0.0 against a real server: the tuspy client, a dropped connection and a resume, protocol errors."""

from __future__ import annotations

import base64
import hashlib
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tusclient import client as tus_client
from tusclient.exceptions import TusCommunicationError, TusUploadFailed

from runtime.config import Settings
from services.uploads import part_path, purge_expired_uploads
from store import keys as key_store
from store.db import session_scope, upgrade
from store.models import Recording, Upload
from tests.api.ingest.helpers import TUS, leftovers, sha256
from tests.support.live_server import LiveServer
from tests.support.proxy import CuttingProxy

ENDPOINT = "/api/uploads/tus/"
OCTETS = "application/offset+octet-stream"


def _meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def _create(client: httpx.Client, length: int, **meta: str) -> str:
    response = client.post(ENDPOINT, headers={**TUS, "Upload-Length": str(length), "Upload-Metadata": _meta(**meta)})
    assert response.status_code == 201, response.text
    assert response.headers["Tus-Resumable"] == "1.0.0"
    return response.headers["Location"]


def _patch(client: httpx.Client, url: str, offset: int, body: bytes, **headers: str) -> httpx.Response:
    return client.patch(
        url, content=body, headers={**TUS, "Upload-Offset": str(offset), "Content-Type": OCTETS, **headers}
    )


def _stored(settings: Settings, recording_id: str) -> Path:
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None and recording.storage_key and recording.source == "tus"
        return settings.media_root / recording.storage_key


def test_options_is_open_and_describes_the_server(server: LiveServer) -> None:
    response = httpx.options(server.url + ENDPOINT)
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert {"creation", "creation-with-upload", "termination", "checksum", "expiration"} <= set(
        response.headers["Tus-Extension"].split(",")
    )
    assert int(response.headers["Tus-Max-Size"]) == server.settings.max_upload_bytes
    assert set(response.headers["Tus-Checksum-Algorithm"].split(",")) == {"sha1", "md5", "sha256"}


def test_tuspy_chunked_upload_creates_the_recording(
    server: LiveServer, keys: dict[str, str], settings: Settings, noisy_mp4: Path
) -> None:
    client = tus_client.TusClient(server.url + ENDPOINT, headers={"Authorization": f"Bearer {keys['content']}"})
    uploader = client.uploader(
        str(noisy_mp4),
        chunk_size=1024 * 1024,
        metadata={"filename": "noisy.mp4", "title": "Noise test", "timezone": "Europe/Berlin"},
        upload_checksum=True,
    )
    uploader.upload()
    assert uploader.offset == noisy_mp4.stat().st_size
    assert uploader.request is not None and uploader.url
    recording_id = uploader.request.response_headers["x-recording-id"]
    assert recording_id.encode() in uploader.request.response_content
    assert sha256(_stored(settings, recording_id)) == sha256(noisy_mp4)
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None
        assert (recording.title, recording.timezone, recording.width) == ("Noise test", "Europe/Berlin", 480)
        upload = session.query(Upload).one()
        assert upload.recording_id == recording_id and upload.offset == upload.length
    assert [p.name for p in (settings.media_root / "uploads").iterdir()] == []
    head = httpx.head(uploader.url, headers={**TUS, "Authorization": f"Bearer {keys['content']}"})
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(noisy_mp4.stat().st_size)
    assert head.headers["X-Recording-Id"] == recording_id


def test_dropped_connection_keeps_bytes_and_tuspy_resumes(
    server: LiveServer, keys: dict[str, str], settings: Settings, noisy_mp4: Path
) -> None:
    size = noisy_mp4.stat().st_size
    auth = {"Authorization": f"Bearer {keys['content']}"}
    with CuttingProxy("127.0.0.1", server.port, cut_after=size // 2) as proxy:
        client = tus_client.TusClient(proxy.url + ENDPOINT, headers=auth)
        uploader = client.uploader(str(noisy_mp4), metadata={"filename": "dropped.mp4"})  # one PATCH, whole file
        with pytest.raises((TusUploadFailed, TusCommunicationError)):
            uploader.upload()
        assert proxy.cut_events == 1
    assert uploader.url
    url = uploader.url.replace(proxy.url, server.url)
    head = httpx.head(url, headers={**TUS, **auth})
    assert head.status_code == 200, head.text
    assert head.headers["Cache-Control"] == "no-store"
    assert head.headers["Upload-Length"] == str(size)
    kept = int(head.headers["Upload-Offset"])
    upload_id = url.rsplit("/", 1)[1]
    part = part_path(settings, upload_id)
    assert 0 < kept < size
    assert kept == part.stat().st_size
    assert part.read_bytes() == noisy_mp4.read_bytes()[:kept]
    with session_scope(settings.database_url) as session:
        row = session.get(Upload, upload_id)
        assert row is not None and row.offset == kept

    resumed = tus_client.TusClient(server.url + ENDPOINT, headers=auth).uploader(str(noisy_mp4), url=url)
    assert resumed.offset == kept
    resumed.upload()
    assert resumed.request is not None
    recording_id = resumed.request.response_headers["x-recording-id"]
    assert sha256(_stored(settings, recording_id)) == sha256(noisy_mp4)
    assert not part.exists()


def test_checksum_mismatch_is_460_and_keeps_the_offset(
    content: httpx.Client, settings: Settings, small_mp4: Path
) -> None:
    data = small_mp4.read_bytes()
    url = _create(content, len(data), filename="a.mp4")
    first = data[:1000]
    good = base64.b64encode(hashlib.sha256(first).digest()).decode()
    accepted = _patch(content, url, 0, first, **{"Upload-Checksum": f"sha256 {good}"})
    assert accepted.status_code == 204 and accepted.headers["Upload-Offset"] == "1000"
    wrong = base64.b64encode(hashlib.sha1(b"something else").digest()).decode()
    refused = _patch(content, url, 1000, data[1000:5000], **{"Upload-Checksum": f"sha1 {wrong}"})
    assert refused.status_code == 460, refused.text
    assert refused.json()["detail"]["code"] == "checksum_mismatch"
    head = content.head(url, headers=TUS)
    assert head.headers["Upload-Offset"] == "1000"
    assert part_path(settings, url.rsplit("/", 1)[1]).stat().st_size == 1000
    unknown = _patch(content, url, 1000, data[1000:2000], **{"Upload-Checksum": "crc32 AAAA"})
    assert unknown.status_code == 400 and "crc32" in unknown.json()["detail"]["message"]


def test_protocol_errors(content: httpx.Client, small_mp4: Path) -> None:
    data = small_mp4.read_bytes()
    url = _create(content, len(data), filename="a.mp4")
    conflict = _patch(content, url, 10, data[10:20])
    assert conflict.status_code == 409
    assert "HEAD" in conflict.json()["detail"]["message"]
    no_version = content.patch(url, content=data[:10], headers={"Upload-Offset": "0", "Content-Type": OCTETS})
    assert no_version.status_code == 412
    assert no_version.headers["Tus-Version"] == "1.0.0"
    assert content.post(ENDPOINT, headers={"Upload-Length": "10"}).status_code == 412
    wrong_type = _patch(content, url, 0, data[:10], **{"Content-Type": "application/octet-stream"})
    assert wrong_type.status_code == 415
    past_end = _patch(content, url, 0, data + b"extra")
    assert past_end.status_code == 413
    no_length = content.post(ENDPOINT, headers=TUS)
    assert no_length.status_code == 400 and "Upload-Length" in no_length.json()["detail"]["message"]
    assert content.head(url, headers=TUS).headers["Upload-Offset"] == "0"
    assert content.head(ENDPOINT + "0" * 32, headers=TUS).status_code == 404


def test_size_limit_and_free_space(
    serve: Callable[[Settings], LiveServer], settings: Settings, keys: dict[str, str]
) -> None:
    limited = serve(settings.model_copy(update={"max_upload_bytes": 1000}))
    with limited.client(keys["content"]) as client:
        assert client.options(ENDPOINT).headers["Tus-Max-Size"] == "1000"
        too_big = client.post(ENDPOINT, headers={**TUS, "Upload-Length": "1001"})
        assert too_big.status_code == 413 and too_big.headers["Tus-Resumable"] == "1.0.0"
        deferred = client.post(ENDPOINT, headers={**TUS, "Upload-Defer-Length": "1"})
        assert deferred.status_code == 201
        over = _patch(client, deferred.headers["Location"], 0, b"x" * 1001)
        assert over.status_code == 413
    full = serve(settings.model_copy(update={"min_free_bytes": 1 << 60}))
    with full.client(keys["content"]) as client:
        no_space = client.post(ENDPOINT, headers={**TUS, "Upload-Length": "1000"})
        assert no_space.status_code == 507
        assert "LIVESLICE_MIN_FREE_BYTES" in no_space.json()["detail"]["message"]


def test_termination_deletes_bytes_and_row(content: httpx.Client, settings: Settings) -> None:
    url = _create(content, 5000, filename="a.mp4")
    assert _patch(content, url, 0, b"\0" * 100).status_code == 204
    part = part_path(settings, url.rsplit("/", 1)[1])
    assert part.stat().st_size == 100
    assert content.delete(url, headers=TUS).status_code == 204
    assert not part.exists()
    assert content.head(url, headers=TUS).status_code == 404
    assert _patch(content, url, 100, b"\0").status_code == 404
    overridden = _create(content, 5000, filename="b.mp4")  # X-HTTP-Method-Override, for POST-only proxies
    assert content.post(overridden, headers={**TUS, "X-HTTP-Method-Override": "DELETE"}).status_code == 204
    assert content.head(overridden, headers=TUS).status_code == 404
    assert leftovers(settings) == []


def test_empty_upload_is_refused_at_creation(content: httpx.Client, settings: Settings) -> None:
    response = content.post(ENDPOINT, headers={**TUS, "Upload-Length": "0", "Upload-Metadata": _meta(name="e.mp4")})
    assert response.status_code == 422
    assert response.json()["detail"]["code"] == "zero_length"
    assert "e.mp4" in response.json()["detail"]["message"]
    assert leftovers(settings) == []


@pytest.mark.parametrize(
    ("fixture", "code", "words"),
    [
        ("text_file", "not_media", "notes.txt"),
        ("audio_only", "no_video", "no video"),
        ("truncated_mp4", "truncated_mp4", "truncated.mp4"),
    ],
)
def test_unusable_file_on_final_patch_is_422_and_leaves_nothing(
    content: httpx.Client, settings: Settings, request: pytest.FixtureRequest, fixture: str, code: str, words: str
) -> None:
    path: Path = request.getfixturevalue(fixture)
    data = path.read_bytes()
    url = _create(content, len(data), filename=path.name)
    half = len(data) // 2
    assert _patch(content, url, 0, data[:half]).status_code == 204
    final = _patch(content, url, half, data[half:])
    assert final.status_code == 422, final.text
    assert final.json()["detail"]["code"] == code
    assert words in final.json()["detail"]["message"]
    assert content.head(url, headers=TUS).status_code == 404
    assert leftovers(settings) == []


def test_creation_with_upload_and_deferred_length(content: httpx.Client, settings: Settings, small_mp4: Path) -> None:
    data = small_mp4.read_bytes()
    whole = content.post(
        ENDPOINT,
        content=data,
        headers={
            **TUS,
            "Upload-Length": str(len(data)),
            "Content-Type": OCTETS,
            "Upload-Metadata": _meta(filename="w.mp4"),
        },
    )
    assert whole.status_code == 201, whole.text
    assert whole.headers["Location"].startswith("/api/uploads/tus/")
    assert sha256(_stored(settings, whole.json()["id"])) == sha256(small_mp4)

    deferred = content.post(
        ENDPOINT, headers={**TUS, "Upload-Defer-Length": "1", "Upload-Metadata": _meta(filename="d.mp4")}
    )
    url = deferred.headers["Location"]
    head = content.head(url, headers=TUS)
    assert head.headers["Upload-Defer-Length"] == "1"
    assert head.headers["Upload-Metadata"] == _meta(filename="d.mp4")
    assert _patch(content, url, 0, data[:500]).status_code == 204
    last = _patch(content, url, 500, data[500:], **{"Upload-Length": str(len(data))})
    assert last.status_code == 200, last.text
    assert last.headers["X-Recording-Id"] == last.json()["id"]
    assert sha256(_stored(settings, last.json()["id"])) == sha256(small_mp4)


def test_expired_uploads_are_purged(content: httpx.Client, settings: Settings) -> None:
    keep = _create(content, 5000, filename="keep.mp4")
    stale = _create(content, 5000, filename="stale.mp4")
    assert _patch(content, stale, 0, b"\0" * 10).status_code == 204
    stale_id = stale.rsplit("/", 1)[1]
    with session_scope(settings.database_url) as session:
        session.get(Upload, stale_id).expires_at = datetime.now(UTC) - timedelta(minutes=1)  # type: ignore[union-attr]
    with session_scope(settings.database_url) as session:
        assert purge_expired_uploads(settings, session) == 1
    assert not part_path(settings, stale_id).exists()
    assert content.head(stale, headers=TUS).status_code == 404
    assert content.head(keep, headers=TUS).status_code == 200


def test_failed_ingest_keeps_the_bytes_and_head_retries_it(
    content: httpx.Client, settings: Settings, small_mp4: Path
) -> None:
    data = small_mp4.read_bytes()
    url = _create(content, len(data), filename="kept.mp4")
    assert _patch(content, url, 0, data[:-100]).status_code == 204
    recordings = settings.media_root / "recordings"
    recordings.rmdir()
    recordings.write_text("not a folder")  # the store cannot take the file: an ingest failure that is not the file's
    try:
        failed = _patch(content, url, len(data) - 100, data[-100:])
        assert failed.status_code == 503
        assert failed.json()["detail"]["code"] == "ingest_failed"
        assert "HEAD" in failed.json()["detail"]["message"]
        part = part_path(settings, url.rsplit("/", 1)[1])
        assert part.read_bytes() == data  # nothing lost
        assert content.head(url, headers=TUS).status_code == 503  # HEAD retries the ingest, still failing
    finally:
        recordings.unlink()
        recordings.mkdir()
    head = content.head(url, headers=TUS)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(len(data))
    assert sha256(_stored(settings, head.headers["X-Recording-Id"])) == sha256(small_mp4)
    assert [p.name for p in (settings.media_root / "uploads").iterdir()] == []


def test_stalled_patch_is_taken_over_by_the_resuming_client(
    server: LiveServer, content: httpx.Client, settings: Settings, small_mp4: Path
) -> None:
    """A connection that went silent (no FIN, no RST) must not block the resume until it times out."""
    data = small_mp4.read_bytes()
    url = _create(content, len(data), filename="stalled.mp4")
    auth = content.headers["Authorization"]
    stalled = socket.create_connection(("127.0.0.1", server.port))
    try:
        head = (
            f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\nTus-Resumable: 1.0.0\r\n"
            f"Upload-Offset: 0\r\nContent-Type: {OCTETS}\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        stalled.sendall(head.encode() + data[:5000])  # ...and then nothing more
        time.sleep(0.3)
        started = time.monotonic()
        peek = content.head(url, headers=TUS)  # the upload is busy: HEAD reports what is on disk
        assert peek.status_code == 200
        assert time.monotonic() - started < 3
        offset = int(peek.headers["Upload-Offset"])
        assert offset == part_path(settings, url.rsplit("/", 1)[1]).stat().st_size
        resumed = _patch(content, url, offset, data[offset:])
        assert resumed.status_code == 200, resumed.text
        assert sha256(_stored(settings, resumed.headers["X-Recording-Id"])) == sha256(small_mp4)
    finally:
        stalled.close()


@pytest.mark.postgres
def test_tus_round_trip_on_postgresql(
    serve: Callable[[Settings], LiveServer], settings: Settings, postgres_url: str, small_mp4: Path
) -> None:
    """PostgreSQL hands back aware datetimes in its session zone: expiry headers and purging still work."""
    pg = settings.model_copy(update={"database_url": postgres_url})
    upgrade(postgres_url)
    with session_scope(postgres_url) as session:
        secret = key_store.create_key(session, name="pg", role="content").secret
    server = serve(pg)
    with server.client(secret) as client:
        data = small_mp4.read_bytes()
        url = _create(client, len(data), filename="pg.mp4")
        head = client.head(url, headers=TUS)
        assert head.status_code == 200 and head.headers["Upload-Expires"].endswith("GMT")
        assert _patch(client, url, 0, data[:1000]).status_code == 204
        done = _patch(client, url, 1000, data[1000:])
        assert done.status_code == 200, done.text
        assert sha256(_stored(pg, done.json()["id"])) == sha256(small_mp4)
        stale = _create(client, 10, filename="stale.mp4")
    with session_scope(postgres_url) as session:
        row = session.get(Upload, stale.rsplit("/", 1)[1])
        assert row is not None
        row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with session_scope(postgres_url) as session:
        assert purge_expired_uploads(pg, session) == 1
