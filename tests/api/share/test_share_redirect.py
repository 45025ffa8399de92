"""``GET /s/{code}``: a 302 to the stored URL and nothing else; a friendly 404 page otherwise."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.main import create_app
from runtime.config import Settings
from store import share_links
from store.db import session_scope
from store.models import Clip, Recording
from tests.support.live_server import LiveServer

BUY = "https://shop.example.com/p/LS-0001?from=live"
CLICK_ID = re.compile(r"^[A-Za-z0-9_-]{16}$")


def _goes_to_buy(response: httpx.Response) -> bool:
    """A 302 to exactly the stored target plus ``&lsclid=<a fresh click id>``."""
    location = response.headers.get("location", "")
    head, sep, click_id = location.partition("&lsclid=")
    return response.status_code == 302 and head == BUY and bool(sep) and bool(CLICK_ID.match(click_id))


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as c:
        yield c


def _make_link(session: Session, target: str = BUY) -> str:
    recording = Recording(title="live", source="path", original_filename="live.mp4", status="ready", duration=60.0)
    session.add(recording)
    session.flush()
    clip = Clip(recording_id=recording.id, preset="douyin", start=1.0, end=6.0)
    session.add(clip)
    session.flush()
    return share_links.get_or_create_link(session, clip_id=clip.id, target_url=target).code


@pytest.fixture
def code(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        return _make_link(session)


def _assert_not_found_page(response: httpx.Response) -> None:
    assert response.status_code == 404 and "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "链接不存在或已失效" in response.text and "This link is not available" in response.text
    assert "Traceback" not in response.text and "detail" not in response.text
    assert response.headers["cache-control"] == "no-store"


def test_a_code_redirects_to_its_stored_url_with_no_store(client: TestClient, code: str) -> None:
    response = client.get(f"/s/{code}")
    assert _goes_to_buy(response)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    head = client.head(f"/s/{code}")
    assert _goes_to_buy(head) and head.content == b""
    assert head.headers["location"] != response.headers["location"]  # every request is its own click


@pytest.mark.parametrize(
    "suffix",
    ["?next=https://evil.example", "?url=https%3A%2F%2Fevil.example&redirect=//evil.example", "#https://evil.example"],
)
def test_nothing_from_the_request_reaches_the_location(client: TestClient, code: str, suffix: str) -> None:
    response = client.get(f"/s/{code}{suffix}")
    assert _goes_to_buy(response)


@pytest.mark.parametrize("path", ["/s/{code}/../x", "/s/{code}/x", "/s/{code}/", "/s/{code}%2F..%2Fx", "/s/{code}x"])
def test_paths_around_a_code_never_redirect(client: TestClient, code: str, path: str) -> None:
    _assert_not_found_page(client.get(path.format(code=code)))


def test_a_raw_dot_dot_path_is_not_found(settings: Settings, code: str) -> None:
    """Sent byte for byte (no client-side normalisation) to a real uvicorn."""
    server = LiveServer(settings)
    try:
        with httpx.Client(base_url=server.url) as raw:
            request = raw.build_request("GET", f"/s/{code}/../x")
            request.url = request.url.copy_with(raw_path=f"/s/{code}/../x".encode())
            response = raw.send(request, follow_redirects=False)
        assert response.status_code == 404 and "location" not in response.headers
        with httpx.Client(base_url=server.url) as plain:
            ok = plain.get(f"/s/{code}?next=//evil.example", follow_redirects=False)
        assert _goes_to_buy(ok)
    finally:
        server.stop()


@pytest.mark.parametrize("code", ["k7mq2xwz9d", "nope", "K7MQ2XWZ9D", "x" * 300, "%3Cscript%3E", "..%2F..%2Fetc"])
def test_unknown_codes_get_the_friendly_page(client: TestClient, code: str) -> None:
    response = client.get(f"/s/{code}")
    _assert_not_found_page(response)
    assert "<script>" not in response.text
    head = client.head(f"/s/{code}")
    assert head.status_code == 404 and head.content == b""


def test_a_disabled_link_no_longer_redirects(client: TestClient, settings: Settings, code: str) -> None:
    """At once when the cache is told (``forget``); other processes' caches expire within their TTL."""
    assert client.get(f"/s/{code}").status_code == 302
    with session_scope(settings.database_url) as session:
        assert share_links.disable_link(session, code=code)
    client.app.state.share_links.forget(code)  # type: ignore[attr-defined]
    _assert_not_found_page(client.get(f"/s/{code}"))


def test_no_api_key_is_needed_and_a_key_changes_nothing(client: TestClient, code: str) -> None:
    client.cookies.set("liveslice_key", "not-a-key-either")
    response = client.get(f"/s/{code}", headers={"Authorization": "Bearer not-a-key"})
    assert _goes_to_buy(response)
