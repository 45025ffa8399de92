"""The ledger services on a migrated database (SQLite and PostgreSQL): commissions from attributed sales,
reversals and clawbacks, payouts with a minimum, confirmation, the finance CSV, balances and rates."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services import ledger, payouts
from services.ledger import InvalidRate, PayoutConflict
from store.db import get_sessionmaker
from store.models import LedgerEntry
from tests.conftest import make_settings
from tests.support.ledger_db import add_leader, add_sale, refund_sale

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
AFTER_FREEZE = T0 + timedelta(days=8)


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Every test here runs on SQLite and on PostgreSQL (row locks, sequences)."""
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    session = get_sessionmaker(settings.database_url)()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def leaders(session: Session) -> None:
    add_leader(session, "boss", name="王姐")
    add_leader(session, "amy", recruiter_id="boss", name="Amy")
    ledger.set_rates(
        session,
        [
            {"scope": "default", "level": 1, "percent": "10"},
            {"scope": "default", "level": 2, "percent": "2.5"},
            {"scope": "product", "key": "TEA", "level": 1, "fixed_amount": 300},
        ],
    )
    session.commit()


def kinds(session: Session, leader_id: str) -> list[tuple[str, int]]:
    rows = session.scalars(select(LedgerEntry).where(LedgerEntry.leader_id == leader_id).order_by(LedgerEntry.seq))
    return [(row.kind, row.amount) for row in rows]


def test_order_commission_payout_refund_after_payout_reduces_the_next_payout(
    settings: Settings, session: Session, leaders: None
) -> None:
    sale = add_sale(session, leader_id="amy", lines=[("SOAP", 2, 10_000)], paid_at=T0)
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0, created=True)
    assert kinds(session, "amy") == [("commission", 1_000)]
    assert ledger.balances(session, "amy", now=T0).pending == 1_000

    with pytest.raises(PayoutConflict):  # still frozen: nothing to pay
        payouts.create_payout(settings, session, minimum=0, currency="CNY", created_by="k", now=T0)
    first = payouts.create_payout(settings, session, minimum=0, currency="CNY", created_by="k", now=AFTER_FREEZE)
    assert [line["amount"] for line in payouts.batch_lines(session, first) if line["leader_id"] == "amy"] == [1_000]
    payouts.confirm_payout(session, first.id, now=AFTER_FREEZE)
    assert ledger.balances(session, "amy", now=AFTER_FREEZE).paid == 1_000

    later = AFTER_FREEZE + timedelta(days=1)
    refund_sale(session, sale, 5_000)  # half refunded after the payout
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=later)
    assert kinds(session, "amy")[-1] == ("clawback", -500)
    b = ledger.balances(session, "amy", now=later)
    assert (b.available, b.debt, b.paid) == (-500, 500, 1_000)

    second_sale = add_sale(session, leader_id="amy", lines=[("SOAP", 1, 20_000)], paid_at=later)
    ledger.on_sale_changed(settings, session, sale_id=second_sale.id, now=later, created=True)
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=later)  # nothing changed: nothing appended
    third = later + timedelta(days=8)
    batch = payouts.create_payout(settings, session, minimum=0, currency="CNY", created_by="k", now=third)
    amy = next(line for line in payouts.batch_lines(session, batch) if line["leader_id"] == "amy")
    assert amy["amount"] == 2_000 - 500  # the clawback is netted: the debt is paid back from the next payout
    assert amy["entries"] == 2
    b = ledger.balances(session, "amy", now=third)
    assert (b.available, b.debt, b.in_payout, b.paid, b.balance) == (0, 0, 1_500, 1_000, 0)


def test_a_second_level_commission_goes_to_the_recruiter(settings: Settings, session: Session, leaders: None) -> None:
    sale = add_sale(session, leader_id="amy", lines=[("SOAP", 1, 8_000), ("TEA", 2, 4_000)], paid_at=T0)
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0, created=True)
    assert kinds(session, "amy") == [("commission", 800 + 600)]  # 10 % of the soap, 3.00 per tea (product rate)
    assert kinds(session, "boss") == [("commission", 200 + 100)]  # 2.5 % of both lines
    entry = session.scalar(select(LedgerEntry).where(LedgerEntry.leader_id == "boss"))
    assert entry is not None and entry.level == 2 and entry.available_at == T0 + timedelta(days=7)

    refund_sale(session, sale, 0, status="cancelled")
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0 + timedelta(hours=1))
    assert kinds(session, "boss")[-1] == ("reversal", -300)
    assert ledger.balances(session, "boss").balance == 0


def test_no_level_two_without_a_rate_and_none_for_a_leaderless_sale(settings: Settings, session: Session) -> None:
    add_leader(session, "boss")
    add_leader(session, "amy", recruiter_id="boss")
    ledger.set_rates(session, [{"scope": "default", "level": 1, "percent": "5"}])
    sale = add_sale(session, leader_id="amy", lines=[("X", 1, 999)], paid_at=T0)
    nobody = add_sale(session, leader_id=None, lines=[("X", 1, 999)], paid_at=T0)
    for sale_id in (sale.id, nobody.id, sale.id):
        ledger.on_sale_changed(settings, session, sale_id=sale_id, now=T0, created=True)
    assert kinds(session, "amy") == [("commission", 49)]  # 49.95 rounded down
    assert kinds(session, "boss") == []
    assert session.scalars(select(LedgerEntry).where(LedgerEntry.sale_id == nobody.id)).all() == []


def test_partial_refunds_before_payout_reverse_cumulatively_and_sum_exactly(
    settings: Settings, session: Session, leaders: None
) -> None:
    sale = add_sale(session, leader_id="amy", lines=[("SOAP", 3, 333)], paid_at=T0)
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0, created=True)  # 33
    for refund in (100, 100, 250, 333):
        refund_sale(session, sale, refund)
        ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0)
        ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0)
    # cumulative targets 33*100//333 = 9, then 33*250//333 = 24 (15 more), then all 33 (9 more)
    assert kinds(session, "amy") == [("commission", 33), ("reversal", -9), ("reversal", -15), ("reversal", -9)]
    assert sum(amount for _k, amount in kinds(session, "amy")) == 0


def test_open_batches_are_not_taken_twice_and_confirm_is_once(
    settings: Settings, session: Session, leaders: None
) -> None:
    sale = add_sale(session, leader_id="amy", lines=[("SOAP", 1, 10_000)], paid_at=T0)
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0, created=True)
    with pytest.raises(PayoutConflict):  # below the minimum: nothing goes out, nothing is made
        payouts.create_payout(settings, session, minimum=5_000, currency="CNY", created_by=None, now=AFTER_FREEZE)
    batch = payouts.create_payout(settings, session, minimum=1_000, currency="CNY", created_by=None, now=AFTER_FREEZE)
    assert batch.total == 1_000  # amy; her recruiter's 2.50 is under the minimum and waits
    assert ledger.balances(session, "amy", now=AFTER_FREEZE).in_payout == 1_000
    with pytest.raises(PayoutConflict):  # taken by the open batch: not taken again
        payouts.create_payout(settings, session, minimum=500, currency="CNY", created_by=None, now=AFTER_FREEZE)
    refund_sale(session, sale, 10_000)  # refunded while the batch is open: a clawback all the same
    ledger.on_sale_changed(settings, session, sale_id=sale.id, now=AFTER_FREEZE)
    assert kinds(session, "amy")[-1] == ("clawback", -1_000)
    payouts.confirm_payout(session, batch.id, now=AFTER_FREEZE)
    with pytest.raises(PayoutConflict):
        payouts.confirm_payout(session, batch.id)
    states = [e["state"] for e in ledger.ledger_for(session, "amy", now=AFTER_FREEZE)["entries"]]
    assert states == ["available", "paid", "paid"]  # newest first: the clawback, the payout line, the commission
    assert ledger.balances(session, "amy", now=AFTER_FREEZE).debt == 1_000


def test_the_csv_for_finance(settings: Settings, session: Session, leaders: None) -> None:
    add_leader(session, "eve", name="=HYPERLINK(1)")
    for leader_id in ("amy", "eve"):
        sale = add_sale(session, leader_id=leader_id, lines=[("SOAP", 1, 12_345)], paid_at=T0)
        ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0, created=True)
    batch = payouts.create_payout(settings, session, minimum=0, currency="CNY", created_by=None, now=AFTER_FREEZE)
    rows = list(csv.reader(io.StringIO(payouts.payout_csv(session, batch.id))))
    assert rows[0] == ["leader_id", "name", "phone", "wechat", "amount", "currency", "entries"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id["amy"] == ["amy", "Amy", "13800000000", "", "12.34", "CNY", "1"]
    assert by_id["boss"][1:] == ["王姐", "13800000000", "", "3.08", "CNY", "1"]  # 2.5 % of amy's sale
    assert by_id["eve"][1] == "'=HYPERLINK(1)"  # never a formula in a spreadsheet


def test_rates_replace_the_whole_set_all_or_nothing(session: Session, leaders: None) -> None:
    with pytest.raises(InvalidRate, match="rate 2"):
        ledger.set_rates(
            session,
            [
                {"scope": "default", "level": 1, "percent": "3"},
                {"scope": "leader", "key": "nobody", "level": 1, "percent": "3"},
            ],
        )
    for bad in (
        {"scope": "default", "level": 1, "percent": "101"},
        {"scope": "default", "level": 1, "percent": "1.234"},
        {"scope": "default", "level": 3, "percent": "1"},
        {"scope": "product", "level": 1, "percent": "1"},
        {"scope": "default", "level": 1},
        {"scope": "default", "level": 1, "percent": "1", "fixed_amount": 5},
    ):
        with pytest.raises(InvalidRate):
            ledger.set_rates(session, [bad])
    assert len(ledger.list_rates(session)) == 3  # unchanged
    got = ledger.set_rates(session, [{"scope": "leader", "key": "amy", "level": 2, "percent": "7.25"}])
    assert got == [
        {
            "scope": "leader",
            "key": "amy",
            "level": 2,
            "kind": "percent",
            "percent": "7.25",
            "fixed_amount": None,
            "currency": "CNY",
        }
    ]
    assert ledger.list_rates(session) == got


def test_the_csv_and_messages_use_each_currencys_decimals(settings: Settings, session: Session, leaders: None) -> None:
    for currency in ("JPY", "KWD"):
        sale = add_sale(session, leader_id="amy", lines=[("SOAP", 1, 12_345)], paid_at=T0, currency=currency)
        ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0, created=True)
    amounts = {}
    for currency in ("JPY", "KWD"):
        batch = payouts.create_payout(settings, session, minimum=0, currency=currency, now=AFTER_FREEZE)
        rows = list(csv.reader(io.StringIO(payouts.payout_csv(session, batch.id))))[1:]
        amounts[currency] = {row[0]: (row[4], row[5]) for row in rows}
    assert amounts["JPY"] == {"amy": ("1234", "JPY"), "boss": ("308", "JPY")}  # yen have no decimals
    assert amounts["KWD"] == {"amy": ("1.234", "KWD"), "boss": ("0.308", "KWD")}  # dinars three
    with pytest.raises(PayoutConflict, match=r"no leader has 5 JPY or more"):
        payouts.create_payout(settings, session, minimum=5, currency="JPY", now=AFTER_FREEZE)
    assert payouts.fmt_amount(-5) == "-0.05" and payouts.fmt_amount(500, "JPY") == "500"
