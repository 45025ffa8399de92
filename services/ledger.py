"""The commission ledger: commissions, reversals and clawbacks appended as sales change, balances, each entry's
derived state, and the commission rates. The arithmetic is :mod:`distribution.ledger`; payouts are
:mod:`services.payouts`.

Entries are appended, never updated or deleted. A sale earns its commissions once, when it is first seen with an
attributed leader (rates changed later do not touch it); a refund or cancellation appends the difference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution import ledger as rules
from distribution.ledger import Balances, Entry, Line, Rate, SaleFacts, State
from runtime.config import Settings
from services.errors import Conflict, InvalidValue, NotFound, ServiceError
from store import ledger as repo
from store.models import Attribution, Leader, LedgerEntry, Sale, SaleLine, utcnow

DEFAULT_CURRENCY = "CNY"


class LedgerError(ServiceError):
    """The ledger cannot do what was asked."""

    code = "ledger_error"


class InvalidRate(InvalidValue, LedgerError):
    """A commission rate that cannot be used (the message says which and why)."""

    code = "invalid_rate"


class LeaderNotFound(NotFound, LedgerError):
    code = "leader_not_found"


class PayoutNotFound(NotFound, LedgerError):
    code = "payout_not_found"


class PayoutConflict(Conflict, LedgerError):
    """The batch is already confirmed, or there is nothing to pay."""

    code = "payout_conflict"


# --- sales ----------------------------------------------------------------------------------------


def sale_facts(session: Session, sale: Sale) -> SaleFacts:
    """The sale as the ledger rules see it (with the attributed leader and their recruiter)."""
    attribution = session.scalar(select(Attribution).where(Attribution.sale_id == sale.id))
    leader_id = attribution.leader_id if attribution is not None else None
    leader = session.get(Leader, leader_id) if leader_id else None
    lines = session.scalars(select(SaleLine).where(SaleLine.sale_id == sale.id).order_by(SaleLine.id))
    return SaleFacts(
        id=sale.id,
        amount=sale.amount,
        refund_amount=sale.refund_amount or 0,
        status=sale.status,
        currency=sale.currency,
        paid_at=sale.paid_at,
        lines=tuple(Line(sku=line.sku, quantity=line.quantity, amount=line.amount) for line in lines),
        leader_id=leader.id if leader is not None else None,
        recruiter_id=leader.recruiter_id if leader is not None else None,
    )


def _states_for(session: Session, leader_ids: Sequence[str], now: datetime) -> dict[int, State]:
    entries = [repo.as_entry(row) for row in repo.entry_rows(session, leader_ids)]
    return rules.derive_states(entries, repo.batches_for(session, entries), now=now)


def on_sale_changed(
    settings: Settings, session: Session, *, sale_id: str, now: datetime | None = None, created: bool = False
) -> None:
    """Called in the transaction that created (``created=True``, with its attribution) or changed a sale (status,
    refund): appends the commission (only when ``created``: a sale earns at the rates of its first arrival, and a
    later refund never makes one), reversal or clawback entries that follow. Idempotent: calling it twice appends
    nothing more. Holds the ledger's lock (:func:`store.ledger.lock_ledger`) to the end of the transaction."""
    now = now or utcnow()
    repo.lock_ledger(session)
    sale = session.scalar(select(Sale).where(Sale.id == sale_id).with_for_update())
    if sale is None:
        return
    facts = sale_facts(session, sale)
    existing = repo.sale_entry_rows(session, sale.id)
    if created and not any(row.kind == rules.COMMISSION for row in existing):
        earned = rules.new_commissions(
            facts, rate_records(session), freeze=timedelta(days=settings.commission_freeze_days)
        )
        if not earned:
            return
        repo.append(session, earned)
        existing = repo.sale_entry_rows(session, sale.id)
    entries = [repo.as_entry(row) for row in existing]
    leaders = sorted({e.leader_id for e in entries})
    owed = rules.refund_entries(facts, entries, _states_for(session, leaders, now), now=now)
    repo.append(session, owed)


# --- reading --------------------------------------------------------------------------------------


def _leader(session: Session, leader_id: str) -> Leader:
    leader = session.get(Leader, leader_id)
    if leader is None:
        raise LeaderNotFound(f"no leader {leader_id!r}")
    return leader


def balances(
    session: Session, leader_id: str, *, currency: str = DEFAULT_CURRENCY, now: datetime | None = None
) -> Balances:
    """A leader's pending, available, in-payout and paid money and their debt, in ``currency``."""
    rows = repo.entry_rows(session, [leader_id])
    entries = [repo.as_entry(row) for row in rows]
    states = rules.derive_states(entries, repo.batches_for(session, entries), now=now or utcnow())
    return rules.balances(entries, states, currency=currency)


def entry_payload(row: LedgerEntry, state: State, order_ids: Mapping[str, str]) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "kind": row.kind,
        "level": row.level,
        "amount": row.amount,
        "currency": row.currency,
        "state": state.state,
        "sale_id": row.sale_id,
        "order_id": order_ids.get(row.sale_id or ""),
        "batch_id": row.batch_id,
        "refers_to": row.refers_to,
        "taken_by": state.taken_by,
        "available_at": row.available_at.isoformat() if row.available_at else None,
        "note": row.note,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


def ledger_for(
    session: Session, leader_id: str, *, currency: str = DEFAULT_CURRENCY, now: datetime | None = None
) -> dict[str, Any]:
    """A leader's entries (newest first) with their derived states, and their balances in ``currency``."""
    leader = _leader(session, leader_id)
    rows = repo.entry_rows(session, [leader_id])
    entries = [repo.as_entry(row) for row in rows]
    states = rules.derive_states(entries, repo.batches_for(session, entries), now=now or utcnow())
    sale_ids = {row.sale_id for row in rows if row.sale_id}
    order_ids = dict(session.execute(select(Sale.id, Sale.order_id).where(Sale.id.in_(sale_ids))).all())
    return {
        "leader": {"id": leader.id, "name": leader.name},
        "currency": currency,
        "balances": rules.balances(entries, states, currency=currency).as_dict(),
        "entries": [entry_payload(row, states[row.seq], order_ids) for row in reversed(rows)],
    }


def entries_and_states(session: Session, now: datetime) -> tuple[list[Entry], dict[int, State]]:
    """Everyone's entries and their states (for a payout)."""
    entries = [repo.as_entry(row) for row in repo.entry_rows(session)]
    return entries, rules.derive_states(entries, repo.batches_for(session, entries), now=now)


# --- rates ----------------------------------------------------------------------------------------


def rate_records(session: Session) -> list[Rate]:
    return [repo.as_rate(row) for row in repo.rate_rows(session)]


def rate_payload(rate: Rate) -> dict[str, Any]:
    return {
        "scope": rate.scope,
        "key": rate.key or None,
        "level": rate.level,
        "kind": rate.kind,
        "percent": rules.format_percent(rate.basis_points)
        if rate.kind == "percent" and rate.basis_points is not None
        else None,
        "fixed_amount": rate.amount_per_unit if rate.kind == "fixed" else None,
        "currency": rate.currency,
    }


def list_rates(session: Session) -> list[dict[str, Any]]:
    """The commission rates in force, level 1 first."""
    return [rate_payload(rate) for rate in rate_records(session)]


def parse_rate(item: Mapping[str, Any]) -> Rate:
    """A rate from ``{"scope", "key"?, "level", "percent"? | "fixed_amount"?, "currency"?}``."""
    percent, fixed = item.get("percent"), item.get("fixed_amount")
    if (percent is None) == (fixed is None):
        raise InvalidRate("give a rate either a percent or a fixed_amount (minor units per unit)")
    try:
        return Rate(
            scope=str(item.get("scope") or ""),
            key=str(item.get("key") or "").strip(),
            level=int(item.get("level") or 1),
            kind="percent" if percent is not None else "fixed",
            basis_points=rules.parse_percent(percent) if percent is not None else None,
            amount_per_unit=int(fixed) if fixed is not None else None,
            currency=str(item.get("currency") or DEFAULT_CURRENCY).upper(),
        )
    except (rules.LedgerRuleError, ValueError, TypeError) as exc:
        raise InvalidRate(str(exc)) from None


def set_rates(session: Session, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Replace the whole set of rates with ``items`` (an empty list removes every rate). All or nothing: a bad
    rate, a repeated (scope, key, level) or an unknown leader changes nothing."""
    rates = []
    seen: set[tuple[str, str, int]] = set()
    for index, item in enumerate(items):
        try:
            rate = parse_rate(item)
        except InvalidRate as exc:
            raise InvalidRate(f"rate {index + 1}: {exc}") from None
        if (rate.scope, rate.key, rate.level) in seen:
            raise InvalidRate(f"rate {index + 1}: {rate.scope} {rate.key or ''} level {rate.level} is given twice")
        if rate.scope == "leader" and session.get(Leader, rate.key) is None:
            raise InvalidRate(f"rate {index + 1}: no leader {rate.key!r}")
        seen.add((rate.scope, rate.key, rate.level))
        rates.append(rate)
    repo.replace_rates(session, rates)
    return list_rates(session)
