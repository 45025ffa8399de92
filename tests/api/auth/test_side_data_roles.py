"""Who imports what: the catalog is admin + merchant; a recording's side data is admin + content + merchant."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from store.db import session_scope
from store.models import Recording

ROLES = ("admin", "content", "merchant", "leader")
CATALOG = "sku,name,price\nLS-0001,保湿面霜 Hydrating Cream,89.00\n"
FILES = {
    "timeline": ("timeline.csv", "sku,start,end\nLS-0001,00:00:10,00:01:00\n"),
    "chat": ("chat.jsonl", '{"ts": "00:00:12", "user": "小米粥", "text": "上链接！"}\n'),
    "orders": ("orders.csv", "ts,sku,qty,amount,order_id\n00:00:15,LS-0001,1,89.00,A1\n"),
    "transcript": ("transcript.srt", "1\n00:00:10,000 --> 00:00:12,000\n家人们，上链接！\n"),
}
EXPECTED = {
    ("POST", "/api/catalog"): {"admin", "merchant"},
    ("GET", "/api/products"): {"admin", "content", "merchant"},
    **{("POST", f"/api/recordings/{{id}}/{kind}"): {"admin", "content", "merchant"} for kind in FILES},
}


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def recording_id(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        rec = Recording(title="live", source="upload", original_filename="live.mp4", status="ready", duration=600.0)
        session.add(rec)
        session.flush()
        return rec.id


def _call(client: TestClient, secret: str, method: str, path: str, recording_id: str) -> int:
    auth = {"Authorization": f"Bearer {secret}"}
    if method == "GET":
        return client.get(path, headers=auth).status_code
    if path == "/api/catalog":
        return client.post(path, headers=auth, files={"file": ("catalog.csv", CATALOG.encode())}).status_code
    name, text = FILES[path.rsplit("/", 1)[1]]
    url = path.replace("{id}", recording_id)
    return client.post(url, headers=auth, files={"file": (name, text.encode())}).status_code


def test_role_matrix(client: TestClient, issue_key: Callable[[str], str], recording_id: str) -> None:
    secrets = {role: issue_key(role) for role in ROLES}
    assert _call(client, secrets["admin"], "POST", "/api/catalog", recording_id) == 200  # the SKU the rest needs
    for (method, path), allowed in EXPECTED.items():
        for role in ROLES:
            status = _call(client, secrets[role], method, path, recording_id)
            assert status == (200 if role in allowed else 403), (method, path, role, status)


def test_summaries_state_the_same_roles(client: TestClient) -> None:
    """The roles shown in /docs are the ones the routes enforce."""
    paths = client.get("/openapi.json").json()["paths"]
    stated = {
        ("POST", "/api/catalog"): paths["/api/catalog"]["post"]["summary"],
        ("GET", "/api/products"): paths["/api/products"]["get"]["summary"],
        ("POST", "/api/recordings/{id}/timeline"): paths["/api/recordings/{recording_id}/{kind}"]["post"]["summary"],
    }
    for route, summary in stated.items():
        match = re.search(r"\(roles: ([a-z, ]+)\)", summary)
        assert match is not None, summary
        assert set(match.group(1).split(", ")) == EXPECTED[route], (route, summary)


@pytest.mark.parametrize(("role", "hint"), [("merchant", True), ("admin", True), ("content", False)])
def test_products_page_offers_the_catalog_import_only_to_importers(
    client: TestClient, issue_key: Callable[[str], str], role: str, hint: bool
) -> None:
    assert client.post("/login", data={"key": issue_key(role)}, follow_redirects=False).status_code == 303
    html = client.get("/products").text
    assert ("POST /api/catalog" in html) is hint
    assert ("imported by a merchant or admin key" in html) is not hint
