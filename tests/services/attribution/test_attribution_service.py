"""services.attribution through services.sales.record_sale: the Attribution row and customer bindings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.sales import WEBHOOK, record_sale
from sidedata.shop_sales import ShopSale, ShopSaleLine
from store import sales as repo
from store.db import get_sessionmaker
from store.models import Attribution, CustomerBinding
from tests.conftest import make_settings
from tests.support.sales import add_click, make_clip, make_link

PAID = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def shop_sale(order_id: str, paid_at: datetime = PAID, **kw: object) -> ShopSale:
    return ShopSale(
        order_id=order_id,
        status="paid",
        currency="CNY",
        amount=8900,
        paid_at=paid_at,
        lines=(ShopSaleLine("LS-0001", 1, 8900),),
        **kw,  # type: ignore[arg-type]
    )


def sessions(settings: Settings) -> Iterator[Session]:
    session = get_sessionmaker(settings.database_url)()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    yield from sessions(settings)


def record(settings: Settings, session: Session, sale: ShopSale) -> Attribution | None:
    outcome = record_sale(settings, session, sale, source=WEBHOOK, reference="test")
    session.commit()
    assert outcome.sale_id is not None
    return repo.attribution(session, outcome.sale_id)


def bindings(session: Session, customer: str) -> list[tuple[str, datetime, datetime | None]]:
    rows = session.scalars(
        select(CustomerBinding).where(CustomerBinding.customer_id == customer).order_by(CustomerBinding.bound_at)
    )
    return [(b.leader_id, b.bound_at, b.expires_at) for b in rows]


def test_a_click_id_credits_its_link_clip_leader_channel_and_recording(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    link = make_link(session, shop.clip_id, "lily", "telegram")
    click = add_click(session, link, PAID - timedelta(hours=3))
    session.commit()
    row = record(settings, session, shop_sale("A-1", click_id=click.id))
    assert row is not None
    assert (row.method, row.link_id, row.clip_id, row.leader_id, row.channel, row.recording_id, row.click_id) == (
        "click",
        link.id,
        shop.clip_id,
        "lily",
        "telegram",
        shop.recording_id,
        click.id,
    )
    pairs = repo.attributed_sales(session, leader_id="lily")
    assert [(s.order_id, s.amount, s.refund_amount, a.method if a else None) for s, a in pairs] == [
        ("A-1", 8900, 0, "click")
    ]


def test_a_share_code_credits_its_link_when_no_click_id_came_back(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    link = make_link(session, shop.clip_id, "wang", "wecom")
    session.commit()
    row = record(settings, session, shop_sale("A-2", click_id="unknown-click", share_code=link.code))
    assert row is not None and (row.method, row.leader_id, row.channel, row.click_id) == (
        "share_code",
        "wang",
        "wecom",
        None,
    )
    assert record(settings, session, shop_sale("A-3", share_code="nosuchcode")) is None
    assert repo.attribution(session, repo.sale_by_order(session, "A-3").id) is None  # type: ignore[union-attr]


def test_a_strangers_later_click_never_takes_the_carried_clicks_sale(tmp_path: Path) -> None:
    """The reviewer's case: the sale carries wang's lsclid; a later click on zhao's link from the same
    hashed identity (carrier NAT, the same WeChat user agent) must not take it. ``first_click`` may credit
    an earlier click of wang's, never zhao's."""
    for model in ("last_click", "first_click"):
        settings = make_settings(tmp_path / model, attribution_model=model)
        session = next(sessions(settings))
        shop = make_clip(session)
        wang, zhao = make_link(session, shop.clip_id, "wang"), make_link(session, shop.clip_id, "zhao")
        wang_tg = make_link(session, shop.clip_id, "wang", "telegram")
        carried = add_click(session, wang, PAID - timedelta(days=2))
        earlier = add_click(session, wang_tg, PAID - timedelta(days=3))
        add_click(session, zhao, PAID - timedelta(days=4))  # another leader, earlier: never either
        add_click(session, zhao, PAID - timedelta(hours=1))  # the stranger's later click
        session.commit()
        row = record(settings, session, shop_sale("M-1", click_id=carried.id))
        expected = carried if model == "last_click" else earlier
        assert row is not None and (row.leader_id, row.click_id, row.method) == ("wang", expected.id, "click"), model
        session.close()


def test_first_binding_wins_by_default_and_later_sales_use_it(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    wang, zhao = make_link(session, shop.clip_id, "wang"), make_link(session, shop.clip_id, "zhao")
    session.commit()
    record(settings, session, shop_sale("B-1", share_code=wang.code, customer_id="buyer"))
    second = record(
        settings, session, shop_sale("B-2", PAID + timedelta(days=1), share_code=zhao.code, customer_id="buyer")
    )
    assert second is not None and second.leader_id == "zhao"  # the share code outranks the binding
    assert bindings(session, "buyer") == [("wang", PAID, PAID + timedelta(days=30))]
    third = record(settings, session, shop_sale("B-3", PAID + timedelta(days=2), customer_id="buyer"))
    assert third is not None and (third.method, third.leader_id, third.link_id, third.clip_id) == (
        "binding",
        "wang",
        None,
        None,
    )


def test_last_click_mode_moves_the_customer_to_the_new_leader(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, binding_mode="last")
    session = next(sessions(settings))
    shop = make_clip(session)
    wang, zhao = make_link(session, shop.clip_id, "wang"), make_link(session, shop.clip_id, "zhao")
    session.commit()
    record(settings, session, shop_sale("L-1", share_code=wang.code, customer_id="buyer"))
    record(settings, session, shop_sale("L-2", PAID + timedelta(days=1), share_code=zhao.code, customer_id="buyer"))
    later = record(settings, session, shop_sale("L-3", PAID + timedelta(days=2), customer_id="buyer"))
    assert later is not None and later.leader_id == "zhao"
    assert [b[0] for b in bindings(session, "buyer")] == ["wang", "zhao"]
    session.close()


def test_a_binding_expires(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, binding_days=5)
    session = next(sessions(settings))
    shop = make_clip(session)
    wang = make_link(session, shop.clip_id, "wang")
    session.commit()
    record(settings, session, shop_sale("E-1", share_code=wang.code, customer_id="buyer"))
    assert record(settings, session, shop_sale("E-2", PAID + timedelta(days=4), customer_id="buyer")) is not None
    assert record(settings, session, shop_sale("E-3", PAID + timedelta(days=6), customer_id="buyer")) is None
    session.close()


def test_a_permanent_binding_never_expires(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, binding_days=0)
    session = next(sessions(settings))
    shop = make_clip(session)
    wang = make_link(session, shop.clip_id, "wang")
    session.commit()
    record(settings, session, shop_sale("P-1", share_code=wang.code, customer_id="buyer"))
    row = record(settings, session, shop_sale("P-2", PAID + timedelta(days=900), customer_id="buyer"))
    assert row is not None and row.leader_id == "wang" and bindings(session, "buyer")[0][2] is None
    session.close()


def test_an_expired_click_falls_through_to_the_share_code(settings: Settings, session: Session) -> None:
    shop = make_clip(session)
    old_link, code_link = make_link(session, shop.clip_id, "wang"), make_link(session, shop.clip_id, "zhao")
    old = add_click(session, old_link, PAID - timedelta(days=8))
    session.commit()
    row = record(settings, session, shop_sale("X-1", click_id=old.id, share_code=code_link.code))
    assert row is not None and (row.method, row.leader_id) == ("share_code", "zhao")
