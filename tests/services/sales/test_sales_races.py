"""On PostgreSQL, racing deliveries of one order (replayed ids or new ids) store one sale, and a failed
delivery keeps no receipt (the savepoints never commit early)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from runtime.config import Settings
from services.sales import InvalidSale
from services.sales_webhook import receive_delivery
from sidedata.shop_sales import ShopSale, ShopSaleLine
from store.db import get_sessionmaker, session_scope
from store.models import Sale, SaleEvent, WebhookReceipt
from tests.conftest import make_settings

RACERS = 6


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))


def sale(refund: int = 0) -> ShopSale:
    status = "partially_refunded" if refund else "paid"
    when = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    return ShopSale("RACE-1", status, "CNY", 1000, when, (ShopSaleLine("S", 1, 1000),), refund_amount=refund)


def deliver(settings: Settings, webhook_id: str, facts: ShopSale) -> None:
    session = get_sessionmaker(settings.database_url)()
    try:
        receive_delivery(settings, session, webhook_id=webhook_id, sale=facts)
    finally:
        session.close()


def count(settings: Settings, model: type) -> int:
    with session_scope(settings.database_url) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_racing_deliveries_store_one_sale(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    settings = make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))
    barrier = threading.Barrier(RACERS)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            deliver(settings, f"msg-{index % 2}", sale())  # three replays of each of two ids
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert (count(settings, Sale), count(settings, SaleEvent), count(settings, WebhookReceipt)) == (1, 1, 2)


def test_a_refused_delivery_keeps_no_receipt(any_db: Settings) -> None:
    deliver(any_db, "msg-ok", sale())
    with pytest.raises(InvalidSale):
        deliver(any_db, "msg-bad", sale(refund=5000))
    assert count(any_db, WebhookReceipt) == 1 and count(any_db, SaleEvent) == 1
    deliver(any_db, "msg-bad", sale(refund=500))  # the same id, fixed: not a replay
    assert count(any_db, SaleEvent) == 2
