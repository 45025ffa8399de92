"""No key, no body: every route that takes a body refuses an unauthenticated request before reading it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from api.auth_gate import SIGNED_ROUTES
from api.main import create_app
from runtime.config import Settings

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BODY_BYTES = 16 << 20
CHUNK = 64 << 10
BOGUS = "lsk_000000000000_not-a-real-key"
PUBLIC_FORMS = ("/login", "/logout", "/portal/login", "/portal/logout")  # as api.auth_gate.PUBLIC_FORMS


@dataclass
class CountingBody:
    """A streamed request body that records how many bytes the server pulled from it."""

    size: int = BODY_BYTES
    pulled: int = 0

    def __iter__(self) -> Iterator[bytes]:
        chunk = b"\0" * CHUNK
        while self.pulled < self.size:
            self.pulled += CHUNK
            yield chunk


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x0", path)


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute, looking inside included routers (FastAPI >= 0.165 keeps them lazily)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def body_routes(app: FastAPI) -> dict[tuple[str, str], str]:
    """(method, path) -> content type: the OpenAPI operations with a request body, plus every other
    route with a body method that is not one of the public forms."""
    found: dict[tuple[str, str], str] = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                content_type = next(iter(operation["requestBody"]["content"]))
                found[(method.upper(), _concrete(path))] = content_type
    for route in api_routes(app.routes):
        for method in route.methods & BODY_METHODS:
            if route.path not in PUBLIC_FORMS:
                found.setdefault((method, _concrete(route.path)), "application/offset+octet-stream")
    return found


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


def _send(client: TestClient, method: str, path: str, content_type: str, secret: str | None) -> tuple[int, int]:
    body = CountingBody()
    headers = {"Content-Type": content_type, "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Upload-Length": "9"}
    if "multipart" in content_type:
        headers["Content-Type"] = "multipart/form-data; boundary=xyz"
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    response = client.request(method, path, content=iter(body), headers=headers, follow_redirects=False)
    return response.status_code, body.pulled


def test_the_route_list_covers_the_body_routes(app: FastAPI) -> None:
    routes = body_routes(app)
    expected = [
        ("POST", "/api/catalog"),
        ("POST", "/api/recordings/x0/x0"),
        ("POST", "/api/recordings"),
        ("POST", "/api/keys"),
        ("PATCH", "/api/uploads/tus/x0"),
        ("POST", "/recordings/x0/process"),
    ]
    assert set(expected) <= set(routes)
    assert ("POST", "/login") not in routes


@pytest.mark.parametrize("who", ["none", "bogus", "revoked"])
def test_unauthenticated_bodies_are_never_read(
    app: FastAPI, issue_key: Callable[[str], str], settings: Settings, who: str
) -> None:
    secret = {"none": None, "bogus": BOGUS}.get(who)
    if who == "revoked":
        from store import keys as key_store
        from store.db import session_scope

        secret = issue_key("admin")
        with session_scope(settings.database_url) as session:
            key_store.revoke_key(session, key_id=secret[4:16])
    with TestClient(app) as client:
        for (method, path), content_type in body_routes(app).items():
            status, pulled = _send(client, method, path, content_type, secret)
            expected = {401} if path.startswith("/api/") else {303}  # web forms go to the login page
            if (method, path) in SIGNED_ROUTES:  # no key needed: unsigned is 401, switched off 503
                expected = {401, 503}
            assert status in expected, (method, path, status)
            assert pulled == 0, f"{method} {path} read {pulled} bytes of an unauthenticated body"


def test_refusals_say_why(app: FastAPI) -> None:
    with TestClient(app) as client:
        missing = client.post("/api/catalog", files={"file": ("c.csv", b"sku\n")})
        assert missing.status_code == 401 and "API key is required" in missing.json()["detail"]
        assert missing.headers["WWW-Authenticate"] == "Bearer"
        bogus = client.post("/api/catalog", headers={"X-API-Key": BOGUS}, files={"file": ("c.csv", b"sku\n")})
        assert bogus.status_code == 401 and "unknown or revoked" in bogus.json()["detail"]
        tus = client.post("/api/uploads/tus/", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "1"})
        assert tus.status_code == 401 and tus.headers["Tus-Resumable"] == "1.0.0"
        form = client.post("/jobs/x0/cancel", follow_redirects=False)
        assert form.status_code == 303 and form.headers["location"].startswith("/login?next=/jobs/x0/cancel")


def test_public_routes_stay_open(app: FastAPI) -> None:
    with TestClient(app) as client:
        assert client.options("/api/uploads/tus/").status_code == 204  # tus discovery
        assert client.get("/s/nope").status_code == 404  # share links
        assert client.get("/openapi.json").status_code == 200
        assert client.post("/login", data={"key": BOGUS}).status_code == 401  # the login form itself
        assert client.get("/recordings", follow_redirects=False).status_code == 303


def test_a_good_key_gets_its_body_read(app: FastAPI, issue_key: Callable[[str], str]) -> None:
    """The counter does see a body the app reads (so the zeros above mean something)."""
    with TestClient(app) as client:
        status, pulled = _send(client, "POST", "/api/catalog", "multipart/form-data", issue_key("merchant"))
        assert status in (400, 413, 422) and pulled == BODY_BYTES
