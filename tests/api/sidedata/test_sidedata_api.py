"""Side-data import over the API: all or nothing, idempotent, GB18030 and XLSX, clear errors."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select

from api.main import create_app
from runtime.config import Settings
from store.db import session_scope
from store.models import ChatEvent, Product, Recording, SideDataImport, StreamOrder, TimelineSegment, TranscriptCue

CATALOG = (
    "sku,name,price,original_price,currency,coupon,image,buy_url\n"
    "LS-0001,保湿面霜 Hydrating Cream,89.00,129.00,CNY,满99减10,,https://shop.example.com/p/LS-0001\n"
    "LS-0002,氨基酸洁面乳 Amino Cleanser,¥59.90,79.00,CNY,,,https://shop.example.com/p/LS-0002\n"
)
TIMELINE = "sku,start,end\nLS-0001,00:02:10,00:06:45\nLS-0002,00:06:45,00:09:00\n"
CHAT = (
    '{"ts": "00:03:02.4", "user": "小米粥", "text": "上链接！", "kind": "comment"}\n'
    '{"ts": "00:03:01", "user": "阿花", "text": "多少钱", "kind": "comment"}\n'
    '{"ts": "00:03:02.4", "user": "小米粥", "text": "上链接！", "kind": "comment"}\n'
)
ORDERS = (
    "ts,sku,qty,amount,order_id\n"
    "00:03:15,LS-0001,2,178.00,DY20261120-000123\n"
    "00:03:15,LS-0001,2,178.00,DY20261120-000123\n"
    "00:03:20,LS-0002,1,59.90,\n"
    "00:03:20,LS-0002,1,59.90,\n"
)
SRT = (
    "1\n00:03:00,000 --> 00:03:02,500\n家人们，上链接！\n\n2\n00:03:03,000 --> 00:03:05,000\nHydrating cream, 秒杀价\n"
)


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def auth(issue_key: Callable[[str], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_key('merchant')}"}


@pytest.fixture
def recording_id(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        rec = Recording(title="live", source="upload", original_filename="live.mp4", status="ready", duration=900.0)
        session.add(rec)
        session.flush()
        return rec.id


def _count(settings: Settings, model: type) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _post(client: TestClient, auth: dict[str, str], path: str, name: str, data: bytes, **form: str) -> dict:
    response = client.post(path, headers=auth, files={"file": (name, data)}, data=form)
    assert response.status_code == 200, response.text
    return response.json()


def test_formats_md_examples_import_and_reimport_is_idempotent(
    client: TestClient, auth: dict[str, str], settings: Settings, recording_id: str
) -> None:
    base = f"/api/recordings/{recording_id}"
    assert _post(client, auth, "/api/catalog", "catalog.csv", CATALOG.encode())["created"] == 2
    for _ in range(2):  # the second round must change nothing
        _post(client, auth, f"{base}/timeline", "timeline.csv", TIMELINE.encode())
        chat = _post(client, auth, f"{base}/chat", "chat.jsonl", CHAT.encode())
        orders = _post(client, auth, f"{base}/orders", "orders.csv", ORDERS.encode())
        _post(client, auth, f"{base}/transcript", "t.srt", SRT.encode())
        assert chat["rows"] == 2 and chat["duplicates"] == 1
        assert orders["rows"] == 3 and orders["duplicates"] == 1
    assert _post(client, auth, "/api/catalog", "catalog.csv", CATALOG.encode())["updated"] == 2
    assert (_count(settings, TimelineSegment), _count(settings, ChatEvent)) == (2, 2)
    assert (_count(settings, StreamOrder), _count(settings, TranscriptCue)) == (3, 2)
    products = {p["sku"]: p for p in client.get("/api/products", headers=auth).json()}
    assert products["LS-0002"]["price"] == "59.90"
    assert products["LS-0001"]["name"] == "保湿面霜 Hydrating Cream"
    detail = client.get(f"/api/recordings/{recording_id}", headers=auth).json()
    assert detail["side_data"] == {"timeline": 2, "chat": 2, "orders": 3, "transcript": 2}


def test_gb18030_csv_and_xlsx_with_chinese_headers(
    client: TestClient, auth: dict[str, str], settings: Settings
) -> None:
    gb = "商品ID,商品名称,直播价,原价\nLS-0101,真丝眼罩,39.00,59.00\n".encode("gb18030")
    assert _post(client, auth, "/api/catalog", "商品.csv", gb)["rows"] == 1
    book = Workbook()
    sheet = book.active
    sheet.append(["商品编码", "商品名称", "价格", "商品链接"])
    sheet.append(["LS-0102", "蓝牙耳机 Wireless Earbuds", 199, "https://shop.example.com/p/LS-0102"])
    buffer = io.BytesIO()
    book.save(buffer)
    assert _post(client, auth, "/api/catalog", "catalog.xlsx", buffer.getvalue())["rows"] == 1
    with session_scope(settings.database_url) as session:
        assert session.get(Product, "LS-0101").name == "真丝眼罩"  # type: ignore[union-attr]
        assert str(session.get(Product, "LS-0102").price) == "199.00"  # type: ignore[union-attr]


def test_one_bad_row_rejects_the_whole_file(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    bad = CATALOG + "LS-0003,Broken,not-a-price,,,,,\n"
    response = client.post("/api/catalog", headers=auth, files={"file": ("catalog.csv", bad.encode())})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["problem_count"] == 1
    assert detail["problems"][0].startswith("catalog.csv:4: price:")
    assert _count(settings, Product) == 0
    assert _count(settings, SideDataImport) == 0


def test_wall_clock_times_need_the_stream_start(
    client: TestClient, auth: dict[str, str], recording_id: str, settings: Settings
) -> None:
    _post(client, auth, "/api/catalog", "catalog.csv", CATALOG.encode())
    orders = "ts,sku,qty,amount,order_id\n2026-11-20 20:03:15,LS-0001,1,89.00,A1\n"
    path = f"/api/recordings/{recording_id}/orders"
    response = client.post(path, headers=auth, files={"file": ("orders.csv", orders.encode())})
    assert response.status_code == 422
    assert "stream_started_at" in response.text
    ok = _post(client, auth, path, "orders.csv", orders.encode(), stream_started_at="2026-11-20T20:00:00+08:00")
    assert ok["rows"] == 1
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(StreamOrder.ts)).one() == pytest.approx(195.0)


def test_unknown_recording_and_kind(client: TestClient, auth: dict[str, str]) -> None:
    files = {"file": ("t.csv", TIMELINE.encode())}
    assert client.post("/api/recordings/nope/timeline", headers=auth, files=files).status_code == 404
    assert client.post("/api/recordings/nope/bogus", headers=auth, files=files).status_code == 404
