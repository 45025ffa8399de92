"""POST /api/leaders/import and `liveslice leaders import`: all or nothing, updates by id or phone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from liveslice.cli import app
from runtime.config import Settings
from store.db import session_scope
from store.models import Leader

FILE = "姓名,手机号,微信号,推荐人,社群\n王芳,+86 138-0013-8000,wf88,,宝妈群;小区一群\n李娜,13900139000,,王芳,团购群\n"


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_import_creates_then_updates_by_phone(
    client: TestClient, make_key: Callable[..., str], settings: Settings
) -> None:
    merchant = _auth(make_key("merchant"))
    files = {"file": ("团长.csv", FILE.encode("gb18030"), "text/csv")}
    first = client.post("/api/leaders/import", files=files, headers=merchant)
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["rows"], body["created"], body["updated"]) == (2, 2, 0)
    wang, li = body["ids"]
    listed = {row["id"]: row for row in client.get("/api/leaders", headers=merchant).json()["items"]}
    assert listed[li]["recruiter_id"] == wang and listed[wang]["communities"] == ["宝妈群", "小区一群"]
    assert listed[wang]["phone"] == "13800138000"
    again = "name,phone,status\n王芳 Fang,13800138000,inactive\n"
    second = client.post("/api/leaders/import", files={"file": ("l.csv", again.encode(), "text/csv")}, headers=merchant)
    assert (second.json()["created"], second.json()["updated"], second.json()["ids"]) == (0, 1, [wang])
    with session_scope(settings.database_url) as session:
        row = session.get(Leader, wang)
        assert row is not None and (row.name, row.status, row.wechat) == ("王芳 Fang", "inactive", "wf88")


def test_a_bad_row_imports_nothing_and_names_line_and_field(client: TestClient, make_key: Callable[..., str]) -> None:
    admin = _auth(make_key("admin"))
    bad = "name,phone,recruiter\nAnn,13800138000,\nBea,555,\nCat,13700137000,Nobody\n"
    answer = client.post("/api/leaders/import", files={"file": ("l.csv", bad.encode(), "text/csv")}, headers=admin)
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert detail["problem_count"] == 2 and detail["problems"][0].startswith("l.csv:3: phone: invalid phone '555'")
    assert detail["problems"][1] == "l.csv:4: recruiter: no leader 'Nobody' in this file or among the stored leaders"
    assert client.get("/api/leaders", headers=admin).json()["items"] == []


@pytest.mark.parametrize("role", ["content", "leader"])
def test_only_admin_and_merchant_import(client: TestClient, make_key: Callable[..., str], role: str) -> None:
    files = {"file": ("l.csv", FILE.encode(), "text/csv")}
    assert client.post("/api/leaders/import", files=files, headers=_auth(make_key(role))).status_code == 403


def test_leader_fields_through_the_api(client: TestClient, make_key: Callable[..., str]) -> None:
    merchant = _auth(make_key("merchant"))
    ann = client.post(
        "/api/leaders", json={"name": "Ann", "phone": "+86 13800138000", "communities": ["A群"]}, headers=merchant
    )
    assert ann.status_code == 201 and ann.json()["phone"] == "13800138000" and ann.json()["communities"] == ["A群"]
    bea = client.post(
        "/api/leaders", json={"name": "Bea", "recruiter_id": "ann", "status": "inactive"}, headers=merchant
    )
    assert bea.json()["recruiter_id"] == "ann" and bea.json()["status"] == "inactive"
    loop = client.patch("/api/leaders/ann", json={"recruiter_id": "bea"}, headers=merchant)
    assert loop.status_code == 422 and "loop" in loop.text
    changed = client.patch(
        "/api/leaders/bea", json={"communities": ["B群", "C群"], "recruiter_id": None}, headers=merchant
    )
    assert changed.json()["communities"] == ["B群", "C群"] and changed.json()["recruiter_id"] is None
    assert client.post("/api/leaders", json={"name": "Eve", "phone": "12"}, headers=merchant).status_code == 422


def test_cli_import(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVESLICE_DATABASE_URL", settings.database_url)
    path = tmp_path / "leaders.csv"
    path.write_text(FILE, encoding="utf-8-sig")
    done = CliRunner().invoke(app, ["leaders", "import", str(path)])
    assert done.exit_code == 0, done.output
    assert "2 new, 0 updated" in done.stdout
    path.write_text("name,phone\nX,1\n", encoding="utf-8")
    failed = CliRunner().invoke(app, ["leaders", "import", str(path)])
    assert failed.exit_code == 2 and "leaders.csv:2: phone" in failed.output
