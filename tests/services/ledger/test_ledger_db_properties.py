"""The real services on SQLite, driven by random histories (fewer examples than the pure property tests): after
every step the stored ledger equals the in-memory model's, no row written before has changed, and each leader's
balances add up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from distribution import ledger as rules
from runtime.config import Settings
from services import ledger, payouts
from services.ledger import PayoutConflict
from store.models import Base, Leader, LedgerEntry, PayoutBatch, Sale
from tests.support.ledger_db import add_leader, add_sale, refund_sale
from tests.support.ledger_model import LEADERS, Model, rate_sets, recruiter_maps, step_st


@contextmanager
def fresh_session() -> Iterator[Session]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA foreign_keys=ON"))
    Base.metadata.create_all(engine)
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


def stored(session: Session) -> list[tuple[Any, ...]]:
    rows = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))
    return [
        (r.seq, r.leader_id, r.kind, r.level, r.amount, r.currency, r.sale_id, r.batch_id, r.refers_to, r.available_at)
        for r in rows
    ]


def comparable(model: Model, sale_ids: dict[str, str], batch_ids: dict[str, str]) -> list[tuple[Any, ...]]:
    return [
        (e.seq, e.leader_id, e.kind, e.level, e.amount, e.currency, sale_ids.get(e.sale_id or ""),
         batch_ids.get(e.batch_id or ""), e.refers_to, e.available_at)
        for e in model.entries
    ]  # fmt: skip


class Driver:
    """One history applied to the model and to the services alike."""

    def __init__(self, session: Session, app_settings: Settings, model: Model) -> None:
        self.session, self.settings, self.model = session, app_settings, model
        self.sales: dict[str, Sale] = {}  # model sale id -> row
        self.batches: dict[str, str] = {}  # model batch id -> row id

    def changed(self, model_sale: str, *, created: bool = False) -> None:
        self.model.sale_changed(model_sale, created=created)
        sale_id = self.sales[model_sale].id
        ledger.on_sale_changed(self.settings, self.session, sale_id=sale_id, now=self.model.now, created=created)

    def step(self, step: tuple[Any, ...]) -> None:
        kind, model = step[0], self.model
        sale_ids = sorted(model.sales, key=lambda s: int(s[1:]))
        if kind == "sale":
            model_sale = model.add_sale(step[1], step[2])
            lines = [(line.sku, line.quantity, line.amount) for line in step[2]]
            self.sales[model_sale] = add_sale(self.session, leader_id=step[1], lines=lines, paid_at=model.now)
            self.changed(model_sale, created=True)
        elif kind in ("refund", "cancel", "repeat") and step[1] < len(sale_ids):
            model_sale = sale_ids[step[1]]
            if kind == "refund":
                model.refund(model_sale, step[2])
            elif kind == "cancel":
                model.cancel(model_sale)
            facts = model.sales[model_sale]
            refund_sale(self.session, self.sales[model_sale], facts.refund_amount, status=facts.status)
            self.changed(model_sale)
        elif kind == "time":
            model.now += timedelta(hours=step[1])
        elif kind == "payout":
            model_batch = model.payout(step[1])
            try:
                batch = payouts.create_payout(
                    self.settings, self.session, minimum=step[1], currency="CNY", created_by=None, now=model.now
                )
            except PayoutConflict:
                assert model_batch is None
            else:
                assert model_batch is not None
                self.batches[model_batch] = batch.id
        elif kind == "confirm" and model.batches:
            model_batch = sorted(model.batches)[step[1] % len(model.batches)]
            if model.batches[model_batch].confirmed_at is None:
                model.confirm(model_batch)
                payouts.confirm_payout(self.session, self.batches[model_batch], now=model.now)
        self.session.flush()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rates=rate_sets(), recruiters=recruiter_maps(), steps=st.lists(step_st, min_size=10, max_size=25))
def test_the_services_keep_the_ledger_the_rules_describe(tmp_path: Path, rates, recruiters, steps) -> None:
    app_settings = Settings(_env_file=None, media_root=tmp_path / "media", secret_key="x", commission_freeze_days=7)  # type: ignore[call-arg]
    with fresh_session() as session:
        for leader in LEADERS:
            add_leader(session, leader)
        for leader, recruiter in recruiters.items():
            session.get_one(Leader, leader).recruiter_id = recruiter
        ledger.set_rates(session, [ledger.rate_payload(rate) for rate in rates])
        session.commit()
        model = Model(rates=rates, recruiters=recruiters)
        driver = Driver(session, app_settings, model)
        before: list[tuple[Any, ...]] = []
        for step in steps:
            driver.step(step)
            session.commit()
            now = stored(session)
            assert now[: len(before)] == before  # nothing written earlier changed
            sale_ids = {k: v.id for k, v in driver.sales.items()}
            assert now == comparable(model, sale_ids, driver.batches)
            before = now
            for leader in LEADERS:
                b = ledger.balances(session, leader, now=model.now)
                assert b == model.balances(leader)
                assert b.paid + b.in_payout + b.balance == b.earned - b.reversed - b.clawed_back
        confirmed = {row.id: row.confirmed_at for row in session.scalars(select(PayoutBatch))}
        assert {driver.batches[k]: v.confirmed_at for k, v in model.batches.items()} == confirmed
        assert all(e.kind != rules.PAYOUT or e.amount < 0 for e in model.entries)
