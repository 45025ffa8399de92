"""Commission rates, ledgers and payouts over HTTP: roles, a leader's own ledger only, batches, confirmation
once, the finance CSV; the rates and payouts pages; the leader's balances on the portal."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from runtime.config import Settings
from services import ledger
from store.db import session_scope
from tests.support.ledger_db import add_leader, add_sale, refund_sale

PAID_AT = datetime.now(UTC) - timedelta(days=10)  # past the 7-day freeze
RATES = [
    {"scope": "default", "level": 1, "percent": "10"},
    {"scope": "default", "level": 2, "percent": "2"},
    {"scope": "product", "key": "TEA", "level": 1, "fixed_amount": 150},
]


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def sold(settings: Settings) -> dict[str, str]:
    """Leaders boss <- amy (recruited), rates, and two of amy's sales past the freeze."""
    with session_scope(settings.database_url) as session:
        add_leader(session, "boss", name="王姐")
        add_leader(session, "amy", recruiter_id="boss", name="Amy")
        ledger.set_rates(session, RATES)
        first = add_sale(session, leader_id="amy", lines=[("SOAP", 1, 10_000)], paid_at=PAID_AT, order_id="o-1")
        second = add_sale(session, leader_id="amy", lines=[("TEA", 2, 3_000)], paid_at=PAID_AT, order_id="o-2")
        for sale in (first, second):
            ledger.on_sale_changed(settings, session, sale_id=sale.id, created=True)
        return {"first": first.id, "second": second.id}


def test_rates_are_for_admins_and_merchants_and_replace_the_set(
    client: TestClient, make_key: Callable[..., str]
) -> None:
    merchant = auth(make_key("merchant"))
    assert client.put("/api/commission/rates", json=RATES, headers=auth(make_key("content"))).status_code == 403
    assert client.get("/api/commission/rates", headers=auth(make_key("leader"))).status_code == 403
    assert client.put("/api/commission/rates", json=RATES).status_code == 401
    got = client.put("/api/commission/rates", json=RATES, headers=merchant)
    assert got.status_code == 200, got.text
    assert [(r["scope"], r["key"], r["level"], r["percent"], r["fixed_amount"]) for r in got.json()] == [
        ("default", None, 1, "10", None),
        ("product", "TEA", 1, None, 150),
        ("default", None, 2, "2", None),
    ]
    bad = client.put(
        "/api/commission/rates", json=[{"scope": "default", "level": 1, "percent": "abc"}], headers=merchant
    )
    assert bad.status_code == 422 and "rate 1" in bad.json()["detail"]["message"]
    assert len(client.get("/api/commission/rates", headers=merchant).json()) == 3  # unchanged
    assert client.put("/api/commission/rates", json=[], headers=merchant).json() == []


def test_ledgers_are_scoped(client: TestClient, make_key: Callable[..., str], sold: dict[str, str]) -> None:
    admin = auth(make_key("admin"))
    body = client.get("/api/leaders/amy/ledger", headers=admin).json()
    assert [(e["kind"], e["amount"], e["state"], e["order_id"]) for e in body["entries"]] == [
        ("commission", 300, "available", "o-2"),
        ("commission", 1_000, "available", "o-1"),
    ]
    assert body["balances"]["available"] == 1_300 and body["balances"]["pending"] == 0
    assert client.get("/api/leaders/nobody/ledger", headers=admin).status_code == 404
    amy = auth(make_key("leader", "amy"))
    assert client.get("/api/leaders/boss/ledger", headers=amy).status_code == 403
    mine = client.get("/api/me/ledger", headers=amy).json()
    assert mine["leader"]["id"] == "amy" and len(mine["entries"]) == 2
    boss = client.get("/api/me/ledger", headers=auth(make_key("leader", "boss"))).json()
    assert [(e["level"], e["amount"]) for e in boss["entries"]] == [(2, 60), (2, 200)]


def test_payouts_batch_confirm_once_and_csv(
    client: TestClient, settings: Settings, make_key: Callable[..., str], sold: dict[str, str]
) -> None:
    merchant = auth(make_key("merchant"))
    assert client.post("/api/payouts", json={"minimum": 100_000}, headers=merchant).status_code == 409
    made = client.post("/api/payouts", json={"minimum": 500}, headers=merchant)
    assert made.status_code == 201, made.text
    batch = made.json()
    assert batch["status"] == "in_payout" and batch["total"] == 1_300  # boss's 2.60 is under the minimum
    assert [(line["leader_id"], line["amount"], line["entries"]) for line in batch["lines"]] == [("amy", 1_300, 2)]
    assert client.post("/api/payouts", json={}, headers=merchant).json()["total"] == 260  # boss, no minimum

    exported = client.get(f"/api/payouts/{batch['id']}.csv", headers=merchant)
    assert exported.headers["content-disposition"] == f'attachment; filename="payout-{batch["id"]}.csv"'
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows == [
        ["leader_id", "name", "phone", "wechat", "amount", "currency", "entries"],
        ["amy", "Amy", "13800000000", "", "13.00", "CNY", "2"],
    ]
    assert client.get("/api/payouts/nope.csv", headers=merchant).status_code == 404
    assert client.get(f"/api/payouts/{batch['id']}.csv", headers=auth(make_key("leader", "amy"))).status_code == 403

    confirmed = client.post(f"/api/payouts/{batch['id']}/confirm", headers=merchant)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "paid"
    assert client.post(f"/api/payouts/{batch['id']}/confirm", headers=merchant).status_code == 409
    listed = client.get("/api/payouts", headers=merchant).json()
    assert {b["id"] for b in listed} >= {batch["id"]} and len(listed) == 2

    with session_scope(settings.database_url) as session:  # refunded after payout: a debt
        from store.models import Sale

        refund_sale(session, session.get_one(Sale, sold["first"]), 10_000)
        ledger.on_sale_changed(settings, session, sale_id=sold["first"])
    me = client.get("/api/me/ledger", headers=auth(make_key("leader", "amy"))).json()
    assert me["entries"][0]["kind"] == "clawback" and me["entries"][0]["state"] == "available"
    assert me["balances"]["debt"] == 1_000 and me["balances"]["available"] == -1_000
    assert me["balances"]["paid"] == 1_300


def test_the_pages(login: Callable[..., TestClient], settings: Settings, sold: dict[str, str]) -> None:
    client = login("merchant")
    page = client.get("/commission")
    assert page.status_code == 200 and 'value="10"' in page.text and "TEA" in page.text
    form = {
        "default_percent": "8",
        "level2_percent": "",
        "scope": ["product", "leader"],
        "key": ["TEA", "amy"],
        "level": ["1", "2"],
        "kind": ["fixed", "percent"],
        "value": ["2.50", "1.5"],
    }
    saved = client.post("/commission", data=form, follow_redirects=False)
    assert saved.status_code == 303
    with session_scope(settings.database_url) as session:
        assert [
            (r["scope"], r["key"], r["level"], r["percent"], r["fixed_amount"]) for r in ledger.list_rates(session)
        ] == [
            ("default", None, 1, "8", None),
            ("product", "TEA", 1, None, 250),
            ("leader", "amy", 2, "1.5", None),
        ]
    bad = client.post("/commission", data={**form, "value": ["2.555", "1.5"]})
    assert bad.status_code == 422 and "row 1" in bad.text and 'value="2.555"' in bad.text

    payouts_page = client.get("/payouts")
    assert payouts_page.status_code == 200 and 'data-leader="amy"' in payouts_page.text and "13.00" in payouts_page.text
    made = client.post("/payouts", data={"minimum": "5"}, follow_redirects=False)
    assert made.status_code == 303
    page = client.get("/payouts").text
    assert "/api/payouts/" in page and "/confirm" in page
    assert client.post("/payouts", data={"minimum": "5"}).status_code == 409  # nothing left above 5 yuan


def test_the_pages_are_not_for_leaders(login: Callable[..., TestClient]) -> None:
    client = login("leader")
    assert client.get("/payouts").status_code == 403
    assert client.get("/commission").status_code == 403


def test_the_portal_shows_the_leaders_own_balances_in_chinese(
    client: TestClient, make_key: Callable[..., str], sold: dict[str, str]
) -> None:
    client.post("/portal/login", data={"key": make_key("leader", "amy")}, follow_redirects=False)
    page = client.get("/portal")
    assert page.status_code == 200
    assert 'id="earnings"' in page.text and "可提现" in page.text and "¥13.00" in page.text
    assert "冻结中" in page.text and "已结算" in page.text
