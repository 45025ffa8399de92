"""A sale whose carried click was still in a buffer file is attributed provisionally, then credited by its
click once the click is stored, as long as no money has to move to another leader."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.attribution import reattribute_pending
from services.sales import WEBHOOK, record_sale
from sidedata.shop_sales import ShopSale, ShopSaleLine
from store import sales as repo
from store.db import get_sessionmaker
from store.models import CommissionRate, LedgerEntry, utcnow
from tests.support.sales import add_click, make_clip, make_link


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    session = get_sessionmaker(settings.database_url)()
    try:
        yield session
    finally:
        session.close()


def shop_sale(order_id: str, **kw: object) -> ShopSale:
    return ShopSale(
        order_id=order_id,
        status="paid",
        currency="CNY",
        amount=10000,
        paid_at=utcnow(),
        lines=(ShopSaleLine("LS-0001", 1, 10000),),
        **kw,  # type: ignore[arg-type]
    )


def record(settings: Settings, session: Session, sale: ShopSale) -> str:
    outcome = record_sale(settings, session, sale, source=WEBHOOK, reference="test")
    session.commit()
    assert outcome.sale_id is not None
    return outcome.sale_id


def credit(session: Session, sale_id: str) -> tuple[str, str | None, str | None] | None:
    session.expire_all()
    row = repo.attribution(session, sale_id)
    return (row.method, row.leader_id, row.click_id) if row is not None else None


def commissions(session: Session, sale_id: str) -> list[tuple[str, int]]:
    rows = session.scalars(select(LedgerEntry).where(LedgerEntry.sale_id == sale_id).order_by(LedgerEntry.seq))
    return [(e.leader_id, e.amount) for e in rows]


def ten_percent(session: Session) -> None:
    session.add(CommissionRate(scope="default", key="", level=1, kind="percent", basis_points=1000))


def test_the_click_stored_later_turns_a_share_code_credit_into_a_click_credit(
    settings: Settings, session: Session
) -> None:
    shop = make_clip(session)
    link = make_link(session, shop.clip_id, "wang")
    ten_percent(session)
    session.commit()
    sale_id = record(settings, session, shop_sale("R-1", click_id="late-click", share_code=link.code))
    assert credit(session, sale_id) == ("share_code", "wang", None)
    assert reattribute_pending(settings) == []  # the click is still buffered
    add_click(session, link, utcnow() - timedelta(minutes=2), click_id="late-click")
    session.commit()
    assert reattribute_pending(settings) == [sale_id]
    assert credit(session, sale_id) == ("click", "wang", "late-click")
    assert commissions(session, sale_id) == [("wang", 1000)]  # the same leader: the money stays put
    assert reattribute_pending(settings) == []  # done once


def test_a_sale_with_no_provisional_credit_gets_its_click_and_commission(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    link = make_link(session, shop.clip_id, "wang")
    ten_percent(session)
    session.commit()
    sale_id = record(settings, session, shop_sale("R-2", click_id="late-click", customer_id="buyer"))
    assert credit(session, sale_id) is None and commissions(session, sale_id) == []
    add_click(session, link, utcnow() - timedelta(minutes=2), click_id="late-click")
    session.commit()
    assert reattribute_pending(settings) == [sale_id]
    assert credit(session, sale_id) == ("click", "wang", "late-click")
    assert commissions(session, sale_id) == [("wang", 1000)]
    assert [b.leader_id for b in repo.bindings(session, "buyer")] == ["wang"]  # the click binds the customer


def test_another_leaders_booked_commission_is_never_moved(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    wang, zhao = make_link(session, shop.clip_id, "wang"), make_link(session, shop.clip_id, "zhao")
    ten_percent(session)
    session.commit()
    booked = record(settings, session, shop_sale("R-3", click_id="click-z", share_code=wang.code))
    add_click(session, zhao, utcnow() - timedelta(minutes=2), click_id="click-z")
    session.commit()
    assert reattribute_pending(settings) == []
    assert credit(session, booked) == ("share_code", "wang", None)
    assert commissions(session, booked) == [("wang", 1000)]


def test_an_unbooked_provisional_credit_moves_to_the_clicks_leader(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    wang, zhao = make_link(session, shop.clip_id, "wang"), make_link(session, shop.clip_id, "zhao")
    session.commit()  # no commission rate: nothing is booked for the provisional leader
    sale_id = record(settings, session, shop_sale("R-4", click_id="click-z", share_code=wang.code))
    add_click(session, zhao, utcnow() - timedelta(minutes=2), click_id="click-z")
    session.commit()
    assert reattribute_pending(settings) == [sale_id]
    assert credit(session, sale_id) == ("click", "zhao", "click-z")


def test_a_click_outside_the_window_leaves_the_provisional_credit(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    link = make_link(session, shop.clip_id, "wang")
    session.commit()
    sale_id = record(settings, session, shop_sale("R-5", click_id="old-click", share_code=link.code))
    add_click(session, link, utcnow() - timedelta(days=8), click_id="old-click")
    session.commit()
    assert reattribute_pending(settings) == []
    assert credit(session, sale_id) == ("share_code", "wang", None)
