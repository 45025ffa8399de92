"""Ledger queries: read entries and batches as :mod:`distribution.ledger` records, append entries, lock the ledger.

Entries are only ever inserted (:func:`append`); nothing here updates or deletes one. Writers hold
:func:`lock_ledger`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from distribution.ledger import Batch, Entry, NewEntry, Rate
from store.models import CommissionRate, LedgerEntry, PayoutBatch


def as_entry(row: LedgerEntry) -> Entry:
    return Entry(
        seq=row.seq,
        leader_id=row.leader_id,
        kind=row.kind,
        amount=row.amount,
        currency=row.currency,
        level=row.level,
        sale_id=row.sale_id,
        batch_id=row.batch_id,
        refers_to=row.refers_to,
        available_at=row.available_at,
    )


def as_batch(row: PayoutBatch) -> Batch:
    return Batch(id=row.id, created_at=row.created_at, confirmed_at=row.confirmed_at)


def as_rate(row: CommissionRate) -> Rate:
    return Rate(
        scope=row.scope,
        key=row.key or "",
        level=row.level,
        kind=row.kind,
        basis_points=row.basis_points,
        amount_per_unit=row.amount_per_unit,
        currency=row.currency,
    )


#: The key of the ledger's PostgreSQL advisory lock (any constant the app uses for nothing else: "LSLEDGER").
LEDGER_LOCK_KEY = 0x4C534C4544474552


def lock_ledger(session: Session) -> None:
    """Serialise ledger writers: a transaction-scoped advisory lock on PostgreSQL, held to the commit or rollback
    (taking it again in the same transaction is free). Every writer takes it first, before any row lock, so
    writers never deadlock whatever order they lock leaders or sales in, and states read under it stay true
    until the writer's entries are committed. No-op on SQLite, which serialises writers anyway."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LEDGER_LOCK_KEY)))


def entry_rows(session: Session, leader_ids: Iterable[str] | None = None) -> list[LedgerEntry]:
    """The entries of ``leader_ids`` (None: everyone's), in ``seq`` order."""
    query = select(LedgerEntry).order_by(LedgerEntry.seq)
    if leader_ids is not None:
        query = query.where(LedgerEntry.leader_id.in_(sorted(set(leader_ids))))
    return list(session.scalars(query))


def sale_entry_rows(session: Session, sale_id: str) -> list[LedgerEntry]:
    return list(session.scalars(select(LedgerEntry).where(LedgerEntry.sale_id == sale_id).order_by(LedgerEntry.seq)))


def batches_for(session: Session, entries: Iterable[Entry]) -> dict[str, Batch]:
    """The batches the payout lines among ``entries`` belong to."""
    ids = {e.batch_id for e in entries if e.batch_id}
    if not ids:
        return {}
    return {row.id: as_batch(row) for row in session.scalars(select(PayoutBatch).where(PayoutBatch.id.in_(ids)))}


def append(session: Session, entries: Sequence[NewEntry]) -> list[LedgerEntry]:
    """Insert ``entries`` (flushed, so each has its ``seq``)."""
    rows = [
        LedgerEntry(
            leader_id=e.leader_id,
            kind=e.kind,
            level=e.level,
            amount=e.amount,
            currency=e.currency,
            sale_id=e.sale_id,
            batch_id=e.batch_id,
            refers_to=e.refers_to,
            available_at=e.available_at,
            note=e.note,
        )
        for e in entries
    ]
    session.add_all(rows)
    if rows:
        session.flush()
    return rows


def rate_rows(session: Session) -> list[CommissionRate]:
    order = (CommissionRate.level, CommissionRate.scope, CommissionRate.key)
    return list(session.scalars(select(CommissionRate).order_by(*order)))


def replace_rates(session: Session, rates: Sequence[Rate]) -> list[CommissionRate]:
    """Replace every commission rate with ``rates`` (rates are settings, not ledger entries: past commissions
    keep the amounts they were appended with)."""
    for row in session.scalars(select(CommissionRate)):
        session.delete(row)
    session.flush()
    rows = [
        CommissionRate(
            scope=r.scope,
            key=r.key,
            level=r.level,
            kind=r.kind,
            basis_points=r.basis_points,
            amount_per_unit=r.amount_per_unit,
            currency=r.currency,
        )
        for r in rates
    ]
    session.add_all(rows)
    session.flush()
    return rows
