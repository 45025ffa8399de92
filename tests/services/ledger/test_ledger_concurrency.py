"""Ledger writers racing on PostgreSQL (separate connections, real row and advisory locks): a payout against a sale
and its refund, and two transactions crediting the same leaders in opposite orders. Pause points are put into the
payout (around its read of the entries) so each interleaving happens for certain; a writer that has to wait for
another is simply still running when the next step starts."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services import ledger, payouts
from services.ledger import PayoutConflict
from store.db import get_sessionmaker
from store.models import LedgerEntry, Sale
from tests.conftest import make_settings
from tests.support.ledger_db import add_leader, add_sale, refund_sale

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
AFTER_FREEZE = T0 + timedelta(days=8)
WAIT = 10.0  # for a step that must happen
BLOCKED = 1.5  # how long a step that may be waiting on a lock is given before the next one starts


@pytest.fixture
def settings(postgres_url: str, tmp_path: Path) -> Settings:
    return make_settings(tmp_path, database_url=postgres_url)


@pytest.fixture
def new_session(settings: Settings) -> Iterator[Callable[[], Session]]:
    made: list[Session] = []

    def make() -> Session:
        session = get_sessionmaker(settings.database_url)()
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


class Worker(threading.Thread):
    """Runs ``body`` in its own thread, keeping what it raised."""

    def __init__(self, name: str, body: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self.body = body
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.body()
        except BaseException as exc:  # reported by the test
            self.error = exc


def unpaid_equals_balance(session: Session, leader_id: str) -> None:
    """Every entry not paid out is still owed: the sum of all the leader's entries (payout lines included) is
    their balance (pending + available). A refund netted into a batch that did not subtract it breaks this."""
    total = sum(session.scalars(select(LedgerEntry.amount).where(LedgerEntry.leader_id == leader_id)))
    b = ledger.balances(session, leader_id, now=AFTER_FREEZE)
    assert total == b.pending + b.available, (leader_id, total, b)


def test_a_refund_racing_a_payout_is_never_lost(
    settings: Settings, new_session: Callable[[], Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = new_session()
    add_leader(setup, "kim")
    add_leader(setup, "lou")
    ledger.set_rates(setup, [{"scope": "default", "level": 1, "percent": "10"}])
    kim_sale = add_sale(setup, leader_id="kim", lines=[("SOAP", 1, 10_000)], paid_at=T0)
    ledger.on_sale_changed(settings, setup, sale_id=kim_sale.id, now=T0, created=True)
    setup.commit()

    gates = {name: threading.Event() for name in ("at_read", "go_read", "read", "go_write", "sold", "go_refund")}
    real_read = payouts.entries_and_states

    def paused_read(session: Session, now: datetime) -> Any:
        gates["at_read"].set()
        gates["go_read"].wait(WAIT)
        answer = real_read(session, now)
        gates["read"].set()
        gates["go_write"].wait(WAIT)
        return answer

    monkeypatch.setattr(payouts, "entries_and_states", paused_read)

    def pay() -> None:
        session = new_session()
        try:
            payouts.create_payout(settings, session, minimum=0, currency="CNY", now=AFTER_FREEZE)
            session.commit()
        except PayoutConflict:
            session.rollback()

    def sell_then_refund() -> None:
        session = new_session()
        sale = add_sale(session, leader_id="lou", lines=[("SOAP", 1, 10_000)], paid_at=T0)
        ledger.on_sale_changed(settings, session, sale_id=sale.id, now=T0, created=True)
        session.commit()
        gates["sold"].set()
        gates["go_refund"].wait(WAIT)
        refund_sale(session, session.get_one(Sale, sale.id), 5_000)
        ledger.on_sale_changed(settings, session, sale_id=sale.id, now=AFTER_FREEZE)
        session.commit()

    payer, seller = Worker("payout", pay), Worker("seller", sell_then_refund)
    payer.start()
    assert gates["at_read"].wait(WAIT)  # the payout has begun, before it reads the entries
    seller.start()
    gates["sold"].wait(BLOCKED)  # the sale is committed now, unless it waits for the payout
    gates["go_read"].set()
    assert gates["read"].wait(WAIT)  # the payout has read the entries (with Lou's commission, if committed)
    gates["go_refund"].set()
    seller.join(BLOCKED)  # the refund is committed now, unless it waits for the payout
    gates["go_write"].set()
    payer.join(WAIT)
    seller.join(WAIT)
    assert not payer.is_alive() and not seller.is_alive()
    assert payer.error is None and seller.error is None, (payer.error, seller.error)

    check = new_session()
    for leader_id in ("kim", "lou"):
        unpaid_equals_balance(check, leader_id)
    lou = [(e.kind, e.amount) for e in check.scalars(select(LedgerEntry).where(LedgerEntry.leader_id == "lou"))]
    refunded = sum(amount for kind, amount in lou if kind in ("reversal", "clawback"))
    assert ("commission", 1_000) in lou and refunded == -500  # the refund's half is answered, once
    paid = -sum(amount for kind, amount in lou if kind == "payout")
    assert paid in (0, 500, 1_000) and 1_000 - 500 - paid == sum(amount for kind, amount in lou if kind != "payout")


def test_writers_crediting_leaders_in_opposite_orders_do_not_deadlock(
    settings: Settings, new_session: Callable[[], Session]
) -> None:
    setup = new_session()
    add_leader(setup, "ann")
    add_leader(setup, "bea")
    ledger.set_rates(setup, [{"scope": "default", "level": 1, "percent": "10"}])
    sales = {
        name: add_sale(setup, leader_id=leader, lines=[("SOAP", 1, 1_000)], paid_at=T0).id
        for name, leader in (("a1", "ann"), ("b1", "bea"), ("b2", "bea"), ("a2", "ann"))
    }
    setup.commit()
    halfway = {"first": threading.Event(), "second": threading.Event()}

    def credit(me: str, other: str, order: tuple[str, str]) -> Callable[[], None]:
        def body() -> None:
            session = new_session()
            ledger.on_sale_changed(settings, session, sale_id=sales[order[0]], now=T0, created=True)
            halfway[me].set()
            halfway[other].wait(BLOCKED)  # each holds its first leader while the other takes its own
            ledger.on_sale_changed(settings, session, sale_id=sales[order[1]], now=T0, created=True)
            session.commit()

        return body

    first = Worker("first", credit("first", "second", ("a1", "b1")))  # like an import: file order
    second = Worker("second", credit("second", "first", ("b2", "a2")))
    first.start()
    assert halfway["first"].wait(WAIT)
    second.start()
    first.join(WAIT)
    second.join(WAIT)
    assert not first.is_alive() and not second.is_alive()
    assert first.error is None and second.error is None, (first.error, second.error)
    check = new_session()
    amounts = check.scalars(select(LedgerEntry.amount).where(LedgerEntry.kind == "commission"))
    assert sorted(amounts) == [100, 100, 100, 100]
