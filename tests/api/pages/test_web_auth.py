"""Login, logout, redirects and role checks on the web pages."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from api.deps import KEY_COOKIE


def test_no_key_redirects_to_login_with_next(client: TestClient) -> None:
    for path in ("/", "/recordings?page=2", "/recordings/abc", "/upload"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=/")
    assert client.get("/recordings?page=2", follow_redirects=False).headers["location"] == (
        "/login?next=/recordings%3Fpage%3D2"
    )


def test_login_form_and_cookie_flags(client: TestClient, make_key: Callable[[str], str]) -> None:
    form = client.get("/login?next=/upload")
    assert form.status_code == 200
    assert 'name="key"' in form.text and 'value="/upload"' in form.text

    response = client.post("/login", data={"key": make_key("content"), "next": "/upload"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/upload"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{KEY_COOKIE}=lsk_")
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    assert "Path=/" in cookie
    assert client.get("/upload").status_code == 200


def test_login_then_follows_next_through_redirect(client: TestClient, make_key: Callable[[str], str]) -> None:
    first = client.get("/recordings?page=1", follow_redirects=False)
    login_page = client.get(first.headers["location"])
    assert 'value="/recordings?page=1"' in login_page.text
    done = client.post("/login", data={"key": make_key("merchant"), "next": "/recordings?page=1"})
    assert done.status_code == 200
    assert str(done.url).endswith("/recordings?page=1")
    assert "Recordings" in done.text


def test_wrong_key_is_refused_without_cookie(client: TestClient) -> None:
    response = client.post("/login", data={"key": "lsk_deadbeef0000_nope"}, follow_redirects=False)
    assert response.status_code == 401
    assert "unknown or revoked" in response.text
    assert "set-cookie" not in response.headers
    empty = client.post("/login", data={"key": "  "}, follow_redirects=False)
    assert empty.status_code == 401 and "Paste your API key" in empty.text


def test_next_cannot_leave_the_site(client: TestClient, make_key: Callable[[str], str]) -> None:
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/login"):
        response = client.post("/login", data={"key": make_key("admin"), "next": evil}, follow_redirects=False)
        assert response.headers["location"] == "/", evil


def test_logout_clears_cookie(login: Callable[[str], TestClient]) -> None:
    client = login("admin")
    assert client.get("/recordings").status_code == 200
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert f'{KEY_COOKIE}=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert client.get("/recordings", follow_redirects=False).status_code == 303


def test_stale_cookie_redirects_and_is_dropped(client: TestClient) -> None:
    client.cookies.set(KEY_COOKIE, "lsk_000000000000_revoked")
    response = client.get("/recordings", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/recordings"
    assert KEY_COOKIE in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"] or "expires=" in response.headers["set-cookie"].lower()


def test_leader_gets_friendly_403(login: Callable[[str], TestClient], add_recording: Callable[..., str]) -> None:
    rec_id = add_recording()
    client = login("leader")
    for path in ("/", "/recordings", f"/recordings/{rec_id}", "/upload"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert response.headers["content-type"].startswith("text/html")
        assert "Not allowed" in response.text
        assert "leader" in response.text
        assert 'action="/logout"' in response.text
    status = client.get(f"/recordings/{rec_id}/status.json")
    assert status.status_code == 403 and status.headers["content-type"] == "application/json"


def test_merchant_reads_but_cannot_upload(login: Callable[[str], TestClient]) -> None:
    client = login("merchant")
    listing = client.get("/recordings")
    assert listing.status_code == 200
    assert 'href="/upload"' not in listing.text.split("</header>")[0]
    assert client.get("/upload").status_code == 403


def test_session_json_reports_cookie(client: TestClient, make_key: Callable[[str], str]) -> None:
    assert client.get("/session.json").json() == {"authenticated": False, "role": None}
    client.post("/login", data={"key": make_key("content")}, follow_redirects=False)
    assert client.get("/session.json").json() == {"authenticated": True, "role": "content"}


def test_login_page_skips_form_when_signed_in(login: Callable[[str], TestClient]) -> None:
    client = login("admin")
    response = client.get("/login?next=/upload", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/upload"
