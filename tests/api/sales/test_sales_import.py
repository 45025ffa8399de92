"""POST /api/sales/import: shop exports, all or nothing, idempotent, and one sale with the webhook's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from runtime.config import Settings
from store.db import session_scope
from store.models import Attribution, Sale, SaleEvent, SaleLine
from tests.conftest import make_settings
from tests.support.sales import make_clip, make_link, new_secret, order, signed

URL = "/api/sales/import"
SECRET = new_secret()
HEADER = "订单编号,支付时间,商品编码,商品数量,实付金额,订单状态,退款金额,推广码\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, sales_webhook_secrets=[SECRET])


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def upload(client: TestClient, key: str, text: str, name: str = "orders.csv", encoding: str = "gb18030") -> object:
    files = {"file": (name, text.encode(encoding), "text/csv")}
    return client.post(URL, files=files, headers={"Authorization": f"Bearer {key}"})


def totals(settings: Settings) -> tuple[int, int, int, int]:
    with session_scope(settings.database_url) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Sale, SaleLine, SaleEvent, Attribution)
        )


def test_an_export_imports_once_and_again_changes_nothing(
    client: TestClient, settings: Settings, make_key: Callable[..., str]
) -> None:
    with session_scope(settings.database_url) as session:
        code = make_link(session, make_clip(session).clip_id, "lily").code
    text = HEADER + (
        f"DD-1,2026-11-20 20:15:00,LS-0001,2,178.00,已发货,,{code}\n"
        "DD-1,,LS-0002,1,59.90,已发货,,\n"
        "DD-2,2026-11-20 21:00:00,LS-0001,1,89.00,已完成,,\n"
    )
    key = make_key("merchant")
    first = upload(client, key, text)
    assert first.status_code == 200, first.text
    report = first.json()
    assert (report["sales"], report["rows"], report["created"], report["order_ids"]) == (2, 3, 2, ["DD-1", "DD-2"])
    assert totals(settings) == (2, 3, 2, 1)
    again = upload(client, key, text).json()
    assert (again["created"], again["changed"], again["unchanged"]) == (0, 0, 2)
    assert totals(settings) == (2, 3, 2, 1)
    refunded = upload(
        client,
        key,
        text.replace(
            "DD-2,2026-11-20 21:00:00,LS-0001,1,89.00,已完成", "DD-2,2026-11-20 21:00:00,LS-0001,1,89.00,退款成功"
        ),
    )
    assert refunded.json()["changed"] == 1
    with session_scope(settings.database_url) as session:
        sale = session.scalars(select(Sale).where(Sale.order_id == "DD-2")).one()
        assert (sale.status, sale.refund_amount, sale.source) == ("refunded", 8900, "import")
        events = session.scalars(select(SaleEvent).where(SaleEvent.sale_id == sale.id).order_by(SaleEvent.at)).all()
        assert [e.reference for e in events] == ["orders.csv:4", "orders.csv:4"]


def test_the_same_order_from_the_webhook_and_from_a_csv_import_is_counted_once(
    client: TestClient, settings: Settings, make_key: Callable[..., str]
) -> None:
    body, headers = signed(
        SECRET, order("DD-7", amount=8900, items=[{"sku": "LS-0001", "quantity": 1, "amount": 8900}])
    )
    assert client.post("/api/sales/webhook", content=body, headers=headers).json()["created"]
    report = upload(client, make_key("admin"), HEADER + "DD-7,2026-11-20 20:15:00,LS-0001,1,89.00,已发货,,\n").json()
    assert (report["created"], report["unchanged"]) == (0, 1)
    assert totals(settings)[:3] == (1, 1, 1)
    refund = upload(client, make_key("admin"), HEADER + "DD-7,2026-11-20 20:15:00,LS-0001,1,89.00,部分退款,20,\n")
    assert refund.json()["changed"] == 1
    with session_scope(settings.database_url) as session:
        (sale,) = session.scalars(select(Sale)).all()
        assert (sale.source, sale.status, sale.refund_amount) == ("webhook", "partially_refunded", 2000)


def test_a_bad_row_imports_nothing_and_names_file_line_and_field(
    client: TestClient, settings: Settings, make_key: Callable[..., str]
) -> None:
    text = HEADER + "OK-1,2026-11-20 20:00,LS-0001,1,89,已支付,,\nBAD-1,2026-11-20 20:00,LS-0001,1,abc,已支付,,\n"
    response = upload(client, make_key("merchant"), text, name="shop.csv")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail["problems"] == ["shop.csv:3: amount: not a valid amount 'abc'"]
    assert totals(settings) == (0, 0, 0, 0)


def test_a_refund_above_the_stored_amount_rolls_the_whole_file_back(
    client: TestClient, settings: Settings, make_key: Callable[..., str]
) -> None:
    key = make_key("merchant")
    upload(client, key, HEADER + "S-1,2026-11-20 20:00,LS-0001,1,10,已支付,,\n")
    text = HEADER + "S-2,2026-11-20 20:00,LS-0001,1,10,已支付,,\nS-1,2026-11-20 20:00,LS-0001,1,50,部分退款,20,\n"
    response = upload(client, key, text, name="late.csv")
    assert response.status_code == 422 and "late.csv:3" in response.json()["detail"]["message"]
    assert totals(settings)[0] == 1


def test_only_admins_and_merchants_import(client: TestClient, make_key: Callable[..., str]) -> None:
    text = HEADER + "K-1,2026-11-20 20:00,LS-0001,1,10,已支付,,\n"
    assert upload(client, make_key("leader"), text).status_code == 403
    assert upload(client, make_key("content"), text).status_code == 403
    assert client.post(URL, files={"file": ("a.csv", text.encode(), "text/csv")}).status_code == 401


def test_one_sale_reads_back_with_lines_history_and_attribution(
    client: TestClient, settings: Settings, make_key: Callable[..., str]
) -> None:
    key = make_key("admin")
    with session_scope(settings.database_url) as session:
        code = make_link(session, make_clip(session).clip_id, "lily", "telegram").code
    upload(client, key, HEADER + f"G-1,2026-11-20 20:00,LS-0001,1,10,已支付,,{code}\n", encoding="utf-8")
    answer = client.get("/api/sales/G-1", headers={"Authorization": f"Bearer {key}"}).json()
    assert answer["amount"] == 1000 and answer["items"] == [{"sku": "LS-0001", "quantity": 1, "amount": 1000}]
    assert answer["attribution"]["leader_id"] == "lily" and answer["attribution"]["channel"] == "telegram"
    assert [e["status"] for e in answer["events"]] == ["paid"]
    assert client.get("/api/sales/nope", headers={"Authorization": f"Bearer {key}"}).status_code == 404
    leader = make_key("leader")
    assert client.get("/api/sales/G-1", headers={"Authorization": f"Bearer {leader}"}).status_code == 403
