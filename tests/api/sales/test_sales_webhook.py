"""POST /api/sales/webhook: Standard Webhooks signatures, replays, staleness, and order updates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from runtime.config import Settings
from store.db import session_scope
from store.models import Sale, SaleEvent, SaleLine, WebhookReceipt
from tests.conftest import make_settings
from tests.support.sales import new_secret, order, signed

URL = "/api/sales/webhook"
SECRET = new_secret()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, sales_webhook_secrets=[SECRET])


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def post(client: TestClient, payload: dict | bytes, secret: str = SECRET, **kwargs: object) -> object:
    body, headers = signed(secret, payload, **kwargs)  # type: ignore[arg-type]
    return client.post(URL, content=body, headers=headers)


def counts(settings: Settings) -> tuple[int, int, int]:
    with session_scope(settings.database_url) as session:
        return (
            session.scalar(select(func.count()).select_from(Sale)) or 0,
            session.scalar(select(func.count()).select_from(SaleEvent)) or 0,
            session.scalar(select(func.count()).select_from(WebhookReceipt)) or 0,
        )


def sale(settings: Settings, order_id: str = "T-1001") -> Sale:
    with session_scope(settings.database_url) as session:
        row = session.scalars(select(Sale).where(Sale.order_id == order_id)).one()
        session.expunge(row)
        return row


def test_a_signed_order_is_stored_with_its_lines_and_needs_no_api_key(client: TestClient, settings: Settings) -> None:
    response = post(client, order(items=[{"sku": "LS-0001", "quantity": 2, "amount": 17800}]))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["created"] and not answer["duplicate"] and answer["status"] == "paid"
    row = sale(settings)
    assert (row.source, row.amount, row.currency, row.refund_amount) == ("webhook", 17800, "CNY", 0)
    assert row.paid_at == datetime(2026, 11, 20, 12, 15, tzinfo=UTC)
    with session_scope(settings.database_url) as session:
        lines = session.scalars(select(SaleLine)).all()
        assert [(ln.sku, ln.quantity, ln.amount) for ln in lines] == [("LS-0001", 2, 17800)]
    assert counts(settings) == (1, 1, 1)


def test_a_wrong_api_key_is_irrelevant(client: TestClient, settings: Settings) -> None:
    body, headers = signed(SECRET, order())
    response = client.post(URL, content=body, headers={**headers, "Authorization": "Bearer not-a-key"})
    assert response.status_code == 200 and response.json()["created"]


def test_a_forged_signature_is_refused_and_changes_nothing(client: TestClient, settings: Settings) -> None:
    response = post(client, order(), secret=new_secret())
    assert response.status_code == 401 and response.json()["detail"]["code"] == "bad_signature"
    body, headers = signed(SECRET, order())
    tampered = body.replace(b"17800", b"1", 1)
    assert client.post(URL, content=tampered, headers=headers).status_code == 401
    unsigned = client.post(URL, content=body, headers={"content-type": "application/json"})
    assert unsigned.status_code == 401 and "webhook-signature" in unsigned.json()["detail"]["message"]
    assert counts(settings) == (0, 0, 0)


@pytest.mark.parametrize(("shift", "word"), [(-timedelta(minutes=6), "old"), (timedelta(minutes=6), "future")])
def test_a_stale_or_future_timestamp_is_refused_clearly(
    client: TestClient, settings: Settings, shift: timedelta, word: str
) -> None:
    response = post(client, order(), at=datetime.now(UTC) + shift)
    assert response.status_code == 401
    detail = response.json()["detail"]
    assert detail["code"] == "stale_timestamp" and word in detail["message"] and "5 minutes" in detail["message"]
    assert counts(settings) == (0, 0, 0)


def test_a_replayed_webhook_id_changes_nothing(client: TestClient, settings: Settings) -> None:
    first = post(client, order(), webhook_id="msg_replay")
    assert first.json()["created"]
    again = post(client, order(status="refunded"), webhook_id="msg_replay")  # even with other content
    assert again.status_code == 200
    assert again.json()["duplicate"] and again.json()["status"] == "paid" and not again.json()["changed"]
    assert counts(settings) == (1, 1, 1) and sale(settings).status == "paid"


def test_either_of_two_secrets_verifies_while_they_rotate(tmp_path: Path) -> None:
    old, new = new_secret(), new_secret()
    settings = make_settings(tmp_path, sales_webhook_secrets=[new, old])
    with TestClient(create_app(settings)) as client:
        assert post(client, order("R-1"), secret=old).json()["created"]
        assert post(client, order("R-2"), secret=new).json()["created"]
        assert post(client, order("R-3"), secret=new_secret()).status_code == 401
    assert counts(settings)[0] == 2


def test_the_same_order_twice_with_other_ids_changes_nothing(client: TestClient, settings: Settings) -> None:
    assert post(client, order()).json()["created"]
    answer = post(client, order()).json()
    assert not (answer["created"] or answer["changed"] or answer["stale"] or answer["duplicate"])
    assert counts(settings) == (1, 1, 2)


def test_a_later_status_and_a_larger_refund_update_the_sale(client: TestClient, settings: Settings) -> None:
    post(client, order())
    partial = post(client, order(status="partially_refunded", refund_amount=8900)).json()
    assert partial["changed"] and partial["status"] == "partially_refunded" and partial["refund_amount"] == 8900
    more = post(client, order(status="partially_refunded", refund_amount=10000)).json()
    assert more["changed"] and more["refund_amount"] == 10000
    full = post(client, order(status="refunded")).json()
    assert full["changed"] and (full["status"], full["refund_amount"]) == ("refunded", 17800)
    with session_scope(settings.database_url) as session:
        history = session.scalars(select(SaleEvent).order_by(SaleEvent.at)).all()
        assert [(e.status, e.refund_amount, e.source) for e in history] == [
            ("paid", 0, "webhook"),
            ("partially_refunded", 8900, "webhook"),
            ("partially_refunded", 10000, "webhook"),
            ("refunded", 17800, "webhook"),
        ]


def test_a_smaller_refund_or_an_earlier_status_is_ignored_as_stale(client: TestClient, settings: Settings) -> None:
    post(client, order(status="partially_refunded", refund_amount=5000))
    smaller = post(client, order(status="partially_refunded", refund_amount=3000)).json()
    assert smaller["stale"] and not smaller["changed"] and smaller["refund_amount"] == 5000
    back = post(client, order()).json()  # "paid" after the refund arrived first
    assert back["stale"] and back["status"] == "partially_refunded"
    post(client, order(status="cancelled"))
    assert post(client, order(status="refunded")).json()["stale"]  # the other end
    row = sale(settings)
    assert (row.status, row.refund_amount) == ("cancelled", 17800)
    assert counts(settings)[1] == 2


def test_no_secret_configured_means_the_webhook_is_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings)) as client:
        response = post(client, order())
    assert response.status_code == 503
    assert "LIVESLICE_SALES_WEBHOOK_SECRETS" in response.json()["detail"]["message"]
    assert counts(settings) == (0, 0, 0)


def test_a_body_over_one_megabyte_is_refused_before_verifying(client: TestClient, settings: Settings) -> None:
    big = order(note="x" * (1024 * 1024))
    response = post(client, big)
    assert response.status_code == 413
    body, headers = signed(SECRET, big)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the size is counted as the body arrives
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    assert client.post(URL, content=chunks(), headers=headers).status_code == 413
    assert counts(settings) == (0, 0, 0)


def test_a_signed_but_invalid_body_is_422_naming_the_fields(client: TestClient, settings: Settings) -> None:
    response = post(client, order(amount=89.5, status="shipped", items=[]))
    assert response.status_code == 422
    fields = {tuple(e["loc"]) for e in response.json()["detail"]}
    assert {("body", "amount"), ("body", "status"), ("body", "items")} <= fields
    too_much = post(client, order(refund_amount=20000)).json()["detail"]
    assert too_much[0]["loc"] == ["body", "refund_amount"]
    assert post(client, b"{not json").status_code == 422
    assert counts(settings)[0] == 0


def test_unsigned_and_stale_deliveries_are_refused_before_the_body_is_read(client: TestClient) -> None:
    pulled = []

    def body() -> Iterator[bytes]:
        for _ in range(64):
            pulled.append(1)
            yield b"\0" * 65536

    unsigned = client.post(URL, content=body(), headers={"content-type": "application/json"})
    assert unsigned.status_code == 401 and not pulled
    _body, headers = signed(SECRET, order(), at=datetime.now(UTC) - timedelta(hours=1))
    stale = client.post(URL, content=body(), headers=headers)
    assert stale.status_code == 401 and stale.json()["detail"]["code"] == "stale_timestamp" and not pulled


def test_items_that_do_not_add_up_to_the_amount_are_422_naming_items(client: TestClient, settings: Settings) -> None:
    """An order-level discount left out of the lines would pay commission on money the customer never paid."""
    discounted = order(amount=15000, items=[{"sku": "LS-0001", "quantity": 2, "amount": 17800}])
    response = post(client, discounted)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert [e["loc"] for e in detail] == [["body", "items"]]
    assert "17800" in detail[0]["msg"] and "15000" in detail[0]["msg"]
    assert counts(settings)[0] == 0
    split = [{"sku": "LS-0001", "quantity": 1, "amount": 7000}, {"sku": "LS-0002", "quantity": 1, "amount": 8000}]
    assert post(client, order(amount=15000, items=split)).status_code == 200
