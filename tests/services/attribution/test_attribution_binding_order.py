"""First binding wins whatever order the sales arrive in (an import may store a later sale first), and on
PostgreSQL one customer's sales are attributed one at a time (a per-customer advisory lock)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.sales import IMPORT, record_sale
from sidedata.shop_sales import ShopSale, ShopSaleLine
from store import sales as repo
from store.db import get_sessionmaker
from store.models import CustomerBinding
from tests.conftest import make_settings
from tests.support.sales import make_clip, make_link

PAID = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def shop_sale(order_id: str, paid_at: datetime, **kw: object) -> ShopSale:
    return ShopSale(
        order_id=order_id,
        status="paid",
        currency="CNY",
        amount=8900,
        paid_at=paid_at,
        lines=(ShopSaleLine("LS-0001", 1, 8900),),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def db_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))


@pytest.fixture
def session(db_settings: Settings) -> Iterator[Session]:
    session = get_sessionmaker(db_settings.database_url)()
    try:
        yield session
    finally:
        session.close()


def leader_of(settings: Settings, session: Session, sale: ShopSale) -> tuple[str | None, str | None]:
    outcome = record_sale(settings, session, sale, source=IMPORT, reference="export.csv")
    session.commit()
    row = repo.attribution(session, outcome.sale_id or "")
    return (row.method, row.leader_id) if row is not None else (None, None)


@pytest.mark.parametrize("order", ["in order", "later sale first"])
def test_the_earliest_sales_leader_keeps_the_customer(db_settings: Settings, session: Session, order: str) -> None:
    shop = make_clip(session)
    wang, zhao = make_link(session, shop.clip_id, "wang"), make_link(session, shop.clip_id, "zhao")
    session.commit()
    first = shop_sale("A", PAID, share_code=wang.code, customer_id="buyer")
    second = shop_sale("B", PAID + timedelta(days=1), share_code=zhao.code, customer_id="buyer")
    for sale in (first, second) if order == "in order" else (second, first):
        leader_of(db_settings, session, sale)
    bound = session.scalars(select(CustomerBinding).where(CustomerBinding.customer_id == "buyer")).all()
    assert all(b.bound_at in (first.paid_at, second.paid_at) for b in bound)  # the sale's time, not the insert's
    later = leader_of(db_settings, session, shop_sale("C", PAID + timedelta(days=2), customer_id="buyer"))
    assert later == ("binding", "wang")


def test_one_customers_sales_are_attributed_one_at_a_time_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """While one transaction holds the customer (uncommitted binding to wang), another sale of the same
    customer waits for it, then sees wang's binding: no second binding in first-binding-wins mode."""
    settings = make_settings(tmp_path, database_url=postgres_url)
    maker = get_sessionmaker(postgres_url)
    with maker() as setup:
        shop = make_clip(setup)
        wang, zhao = make_link(setup, shop.clip_id, "wang"), make_link(setup, shop.clip_id, "zhao")
        codes = (wang.code, zhao.code)
        setup.commit()
    holder = maker()
    done = threading.Event()

    def other() -> None:
        with maker() as session:
            sale = shop_sale("H-2", PAID + timedelta(hours=1), share_code=codes[1], customer_id="buyer")
            record_sale(settings, session, sale, source=IMPORT, reference="y")
            session.commit()
        done.set()

    thread = threading.Thread(target=other)
    try:
        first = shop_sale("H-1", PAID, share_code=codes[0], customer_id="buyer")
        record_sale(settings, holder, first, source=IMPORT, reference="x")
        thread.start()
        blocked = not done.wait(1.0)  # waits for the customer's lock
        holder.commit()
    finally:
        holder.close()
        if thread.is_alive() or not done.is_set():
            thread.join(10)
    assert blocked and done.is_set()
    with maker() as session:
        bound = session.scalars(select(CustomerBinding).where(CustomerBinding.customer_id == "buyer")).all()
        assert [b.leader_id for b in bound] == ["wang"]
