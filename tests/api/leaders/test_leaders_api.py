"""Leaders as rows: created over the API, the CLI and on the fly by clip requests; leader keys bound to one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from runtime.config import Settings
from store import keys as key_store
from store.db import session_scope
from store.models import ApiKey, Leader


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_leaders_are_created_listed_and_edited(client: TestClient, make_key: Callable[..., str]) -> None:
    merchant = _auth(make_key("merchant"))
    made = client.post(
        "/api/leaders", json={"name": " 小王团长 ", "phone": "13800000000", "wechat": "wx_w"}, headers=merchant
    )
    assert made.status_code == 201, made.text
    wang = made.json()
    assert wang["name"] == "小王团长" and wang["status"] == "active" and wang["id"].startswith("l-")
    twin = client.post("/api/leaders", json={"name": "小王团长", "recruiter_id": wang["id"]}, headers=merchant).json()
    assert twin["id"] == f"{wang['id']}-2" and twin["recruiter_id"] == wang["id"]  # same name, own id
    listed = client.get("/api/leaders", headers=merchant).json()["items"]
    assert [row["id"] for row in listed] == [wang["id"], twin["id"]]
    patched = client.patch(f"/api/leaders/{twin['id']}", json={"status": "inactive"}, headers=merchant)
    assert patched.status_code == 200 and patched.json()["status"] == "inactive"
    bad = client.post("/api/leaders", json={"name": "x", "recruiter_id": "nobody"}, headers=merchant)
    assert bad.status_code == 422 and "recruiter" in bad.text
    assert client.post("/api/leaders", json={"name": ""}, headers=merchant).status_code == 422


def test_a_leader_key_sees_only_its_own_leader(client: TestClient, make_key: Callable[..., str]) -> None:
    admin = _auth(make_key("admin"))
    for name in ("Ann", "Bea"):
        assert client.post(
            "/api/leaders", json={"name": name, "phone": f"+4420{len(name)}7946000"}, headers=admin
        ).is_success
    ann = _auth(make_key("leader", "ann"))
    listed = client.get("/api/leaders", headers=ann).json()["items"]
    assert [row["id"] for row in listed] == ["ann"]
    assert client.get("/api/leaders/bea", headers=ann).status_code == 404
    assert client.get("/api/leaders/ann", headers=ann).json()["phone"] == "+442037946000"
    assert client.post("/api/leaders", json={"name": "Eve"}, headers=ann).status_code == 403
    assert client.patch("/api/leaders/ann", json={"status": "inactive"}, headers=ann).status_code == 403


def test_leader_keys_need_a_leader(client: TestClient, make_key: Callable[..., str], settings: Settings) -> None:
    admin = _auth(make_key("admin"))
    client.post("/api/leaders", json={"name": "Ann"}, headers=admin)
    missing = client.post("/api/keys", json={"name": "k", "role": "leader"}, headers=admin)
    assert missing.status_code == 422 and "leader_id" in missing.text
    unknown = client.post("/api/keys", json={"name": "k", "role": "leader", "leader_id": "nobody"}, headers=admin)
    assert unknown.status_code == 422
    stray = client.post("/api/keys", json={"name": "k", "role": "content", "leader_id": "ann"}, headers=admin)
    assert stray.status_code == 422
    made = client.post("/api/keys", json={"name": "k", "role": "leader", "leader_id": "ann"}, headers=admin)
    assert made.status_code == 201 and made.json()["leader_id"] == "ann"
    assert any(row["leader_id"] == "ann" for row in client.get("/api/keys", headers=admin).json())
    with session_scope(settings.database_url) as session:
        row = key_store.authenticate(session, made.json()["key"])
        assert isinstance(row, ApiKey) and row.leader_id == "ann"


def test_the_cli_adds_leaders_and_binds_keys(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from liveslice.cli import app

    monkeypatch.setenv("LIVESLICE_MEDIA_ROOT", str(settings.media_root))
    monkeypatch.setenv("LIVESLICE_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    added = runner.invoke(app, ["leaders", "add", "Lily Chen", "--phone", "13900139000"])
    assert added.exit_code == 0, added.output
    assert added.stdout.strip().splitlines()[-1] == "lily-chen"
    refused = runner.invoke(app, ["keys", "create", "--role", "leader", "--name", "k"])
    assert refused.exit_code == 2 and "leader" in refused.output
    made = runner.invoke(app, ["keys", "create", "--role", "leader", "--name", "k", "--leader", "lily-chen"])
    assert made.exit_code == 0, made.output
    with session_scope(settings.database_url) as session:
        assert session.get(Leader, "lily-chen") is not None
        row = key_store.authenticate(session, made.stdout.strip().splitlines()[-1])
        assert row is not None and row.leader_id == "lily-chen"


def test_clip_requests_name_leaders_by_id_or_create_them(
    client: TestClient, make_key: Callable[..., str], settings: Settings
) -> None:
    """``{"leader_id"}`` must name an active leader; ``{"name"}`` finds that name's leader or creates it."""
    from store.leaders import InvalidLeader, LeaderNotFound, resolve_leaders

    merchant = _auth(make_key("merchant"))
    ann = client.post("/api/leaders", json={"name": "Ann"}, headers=merchant).json()["id"]
    with session_scope(settings.database_url) as session:
        refs = resolve_leaders(session, [{"leader_id": ann, "share_url": "https://s.example/a"}, {"name": "New One"}])
        assert [(r.id, r.name, r.share_url) for r in refs] == [
            (ann, "Ann", "https://s.example/a"),
            ("new-one", "New One", None),
        ]
        assert session.get(Leader, "new-one") is not None
        again = resolve_leaders(session, [{"name": "New One"}])
        assert [r.id for r in again] == ["new-one"]  # found, not made twice
        with pytest.raises(LeaderNotFound):
            resolve_leaders(session, [{"leader_id": "nobody"}])
    client.patch(f"/api/leaders/{ann}", json={"status": "inactive"}, headers=merchant)
    with session_scope(settings.database_url) as session:
        for item in ({"leader_id": ann}, {"name": "Ann"}):
            with pytest.raises(InvalidLeader, match="inactive"):
                resolve_leaders(session, [item])


def test_a_leader_edit_is_checked_as_a_new_leader_is(client: TestClient, make_key: Callable[..., str]) -> None:
    merchant = _auth(make_key("merchant"))
    leader = client.post("/api/leaders", json={"name": "Ann", "phone": "13900139000"}, headers=merchant).json()["id"]
    for bad in ({"name": "   "}, {"name": None}, {"status": None}, {"status": "gone"}):
        answer = client.patch(f"/api/leaders/{leader}", json=bad, headers=merchant)
        assert answer.status_code == 422, (bad, answer.text)
    assert client.patch("/api/leaders/nobody", json={"name": "X"}, headers=merchant).status_code == 404
    cleared = client.patch(f"/api/leaders/{leader}", json={"name": " Ann  Lee ", "phone": ""}, headers=merchant)
    assert cleared.status_code == 200 and (cleared.json()["name"], cleared.json()["phone"]) == ("Ann Lee", None)
