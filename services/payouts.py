"""Payout batches: take what each leader has available (commissions less reversals and clawbacks) when it reaches
a minimum, append one payout line per leader, export the batch as CSV for finance, and confirm it once the money
went out (its lines then count as paid).

Entries already taken by a batch, confirmed or not, are never taken again; a leader with an open batch still gets
what became available since in the next one. A debt (a negative available sum) is not paid: it waits to be netted.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution import ledger as rules
from distribution.ledger import NewEntry
from runtime.config import Settings
from services.ledger import DEFAULT_CURRENCY, PayoutConflict, PayoutNotFound, entries_and_states
from sidedata.money import format_minor
from store import ledger as repo
from store.models import Leader, LedgerEntry, PayoutBatch, utcnow

CSV_COLUMNS = ("leader_id", "name", "phone", "wechat", "amount", "currency", "entries")
#: cells a spreadsheet would run as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def create_payout(
    settings: Settings,
    session: Session,
    *,
    minimum: int = 0,
    currency: str = DEFAULT_CURRENCY,
    created_by: str | None = None,
    now: datetime | None = None,
) -> PayoutBatch:
    """A new batch paying every leader whose available sum in ``currency`` is positive and at least ``minimum``
    (minor units). :class:`PayoutConflict` when no leader qualifies (no empty batch is made). ``settings`` is
    taken like the other ledger services' (no setting changes a payout yet)."""
    del settings
    currency = currency.upper()
    if minimum < 0:
        raise PayoutConflict("the minimum cannot be negative")
    repo.lock_ledger(session)  # no sale or refund appends between reading the states and writing the batch
    now = now or utcnow()
    entries, states = entries_and_states(session, now)
    plan = rules.payout_plan(entries, states, currency=currency, minimum=minimum)
    if not plan:
        least = fmt_amount(max(minimum, 1), currency)
        raise PayoutConflict(f"no leader has {least} {currency} or more available to pay out")
    batch = PayoutBatch(
        currency=currency,
        minimum=minimum,
        total=sum(line.amount for line in plan),
        created_by=created_by,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    lines = [
        NewEntry(
            leader_id=line.leader_id,
            kind=rules.PAYOUT,
            amount=-line.amount,
            currency=currency,
            batch_id=batch.id,
            available_at=now,
            note=f"{line.entries} entries",
        )
        for line in plan
    ]
    repo.append(session, lines)
    return batch


def get_batch(session: Session, batch_id: str) -> PayoutBatch:
    batch = session.get(PayoutBatch, batch_id)
    if batch is None:
        raise PayoutNotFound(f"no payout batch {batch_id!r}")
    return batch


def confirm_payout(session: Session, batch_id: str, *, now: datetime | None = None) -> PayoutBatch:
    """Mark the batch's money as sent: its lines and what they took count as paid. Once only."""
    batch = session.scalar(select(PayoutBatch).where(PayoutBatch.id == batch_id).with_for_update())
    if batch is None:
        raise PayoutNotFound(f"no payout batch {batch_id!r}")
    if batch.confirmed_at is not None:
        raise PayoutConflict(f"payout batch {batch_id} was already confirmed at {batch.confirmed_at.isoformat()}")
    batch.confirmed_at = now or utcnow()
    session.flush()
    return batch


def batch_lines(session: Session, batch: PayoutBatch) -> list[dict[str, Any]]:
    """The batch's lines: leader, contact, amount (positive minor units) and how many entries it took."""
    rows = session.execute(
        select(LedgerEntry, Leader)
        .join(Leader, Leader.id == LedgerEntry.leader_id)
        .where(LedgerEntry.batch_id == batch.id)
        .order_by(Leader.name, Leader.id)
    )
    entries, states = entries_and_states(session, utcnow())
    taken: dict[int, int] = {}
    for entry in entries:
        taken_by = states[entry.seq].taken_by
        if taken_by is not None:
            taken[taken_by] = taken.get(taken_by, 0) + 1
    return [
        {
            "leader_id": leader.id,
            "name": leader.name,
            "phone": leader.phone,
            "wechat": leader.wechat,
            "amount": -entry.amount,
            "currency": entry.currency,
            "entries": taken.get(entry.seq, 0),
        }
        for entry, leader in rows
    ]


def batch_payload(session: Session, batch: PayoutBatch, *, with_lines: bool = True) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": batch.id,
        "currency": batch.currency,
        "minimum": batch.minimum,
        "total": batch.total,
        "created_by": batch.created_by,
        "created_at": batch.created_at.isoformat(),
        "confirmed_at": batch.confirmed_at.isoformat() if batch.confirmed_at else None,
        "status": "paid" if batch.confirmed_at else "in_payout",
    }
    if with_lines:
        payload["lines"] = batch_lines(session, batch)
    return payload


def list_batches(session: Session, *, limit: int = 100) -> list[PayoutBatch]:
    return list(session.scalars(select(PayoutBatch).order_by(PayoutBatch.created_at.desc()).limit(limit)))


def fmt_amount(minor: int, currency: str = DEFAULT_CURRENCY) -> str:
    """Minor units as the major unit with the currency's decimals (:func:`sidedata.money.format_minor`): 12345 CNY
    -> ``123.45``, -5 -> ``-0.05``, 1200 JPY -> ``1200``, 1234 KWD -> ``1.234``."""
    return format_minor(minor, currency)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def payout_csv(session: Session, batch_id: str) -> str:
    """The batch for finance: one row per leader (id, name, phone, WeChat, amount in the major unit with the
    currency's decimals, currency, entries). Text a spreadsheet would run as a formula is prefixed with ``'``."""
    batch = get_batch(session, batch_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in batch_lines(session, batch):
        writer.writerow(
            [
                _cell(line["leader_id"]),
                _cell(line["name"]),
                _cell(line["phone"]),
                _cell(line["wechat"]),
                fmt_amount(line["amount"], line["currency"]),
                line["currency"],
                line["entries"],
            ]
        )
    return out.getvalue()
