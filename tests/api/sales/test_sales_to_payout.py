"""The whole money path over the public contracts: rates set over HTTP, signed webhook orders credited
through a leader's share code, a payout, a refund after payout (a clawback), and the next payout reduced
by it; the recruiter's second-level commission follows the same path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from store.db import session_scope
from store.leaders import create_leader
from tests.conftest import make_settings
from tests.support.sales import make_clip, make_link, new_secret, order, signed

SECRET = new_secret()
PAID = (datetime.now(UTC) - timedelta(days=10)).isoformat()  # past the 7-day freeze


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, sales_webhook_secrets=[SECRET])


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def _deliver(client: TestClient, body: dict[str, object]) -> None:
    content, headers = signed(SECRET, body)
    answer = client.post("/api/sales/webhook", content=content, headers=headers)
    assert answer.status_code == 200, answer.text


def _payout(client: TestClient, merchant: dict[str, str]) -> dict[str, int]:
    batch = client.post("/api/payouts", json={"minimum": 0}, headers=merchant)
    assert batch.status_code == 201, batch.text
    body = batch.json()
    assert client.post(f"/api/payouts/{body['id']}/confirm", headers=merchant).status_code == 200
    return {line["leader_id"]: line["amount"] for line in body["lines"]}


def test_order_commission_payout_refund_after_payout_then_the_next_payout_carries_the_clawback(
    client: TestClient, settings: Settings, issue_key: Callable[..., str]
) -> None:
    merchant = {"Authorization": f"Bearer {issue_key('merchant')}"}
    with session_scope(settings.database_url) as session:
        create_leader(session, name="Boss", leader_id="boss")
        create_leader(session, name="Amy", leader_id="amy", recruiter_id="boss")
        code = make_link(session, make_clip(session).clip_id, "amy").code
    rates = [{"scope": "default", "level": 1, "percent": "10"}, {"scope": "default", "level": 2, "percent": "2"}]
    assert client.put("/api/commission/rates", json=rates, headers=merchant).status_code == 200

    _deliver(
        client,
        order(
            "A-1",
            amount=10_000,
            paid_at=PAID,
            share_code=code,
            items=[{"sku": "LS-0001", "quantity": 1, "amount": 10_000}],
        ),
    )
    assert _payout(client, merchant) == {"amy": 1_000, "boss": 200}  # 10% to Amy, 2% to her recruiter

    _deliver(
        client,
        order(
            "A-1",
            status="refunded",
            amount=10_000,
            paid_at=PAID,
            share_code=code,
            items=[{"sku": "LS-0001", "quantity": 1, "amount": 10_000}],
        ),
    )
    _deliver(
        client,
        order(
            "A-2",
            amount=30_000,
            paid_at=PAID,
            share_code=code,
            items=[{"sku": "LS-0001", "quantity": 3, "amount": 30_000}],
        ),
    )
    # Amy earned 3,000 more but owes the 1,000 paid on the refunded order; Boss 600 less 200
    assert _payout(client, merchant) == {"amy": 2_000, "boss": 400}

    ledger = client.get("/api/leaders/amy/ledger", headers=merchant).json()
    kinds = [entry["kind"] for entry in ledger["entries"]]
    assert kinds.count("clawback") == 1 and kinds.count("commission") == 2 and kinds.count("payout") == 2


def test_a_refund_never_creates_a_commission_the_sale_did_not_earn(
    client: TestClient, settings: Settings, issue_key: Callable[..., str]
) -> None:
    """A sale that earned nothing when it arrived (no rate then) earns nothing when a refund comes in later,
    even though rates exist by then: commissions are made only when a sale is first recorded."""
    merchant = {"Authorization": f"Bearer {issue_key('merchant')}"}
    with session_scope(settings.database_url) as session:
        create_leader(session, name="Amy", leader_id="amy")
        code = make_link(session, make_clip(session).clip_id, "amy").code
    items = [{"sku": "LS-0001", "quantity": 1, "amount": 10_000}]
    _deliver(client, order("N-1", amount=10_000, paid_at=PAID, share_code=code, items=items))
    rates = [{"scope": "default", "level": 1, "percent": "10"}]
    assert client.put("/api/commission/rates", json=rates, headers=merchant).status_code == 200
    refund = order("N-1", status="partially_refunded", refund_amount=4_000, amount=10_000, paid_at=PAID, items=items)
    _deliver(client, {**refund, "share_code": code})
    ledger = client.get("/api/leaders/amy/ledger", headers=merchant).json()
    assert ledger["entries"] == [] and ledger["balances"]["balance"] == 0
    assert client.post("/api/payouts", json={"minimum": 0}, headers=merchant).status_code == 409
