"""Persisting parsed side data. Each function runs inside the caller's transaction.

A recording's timeline, chat, orders or transcript import replaces that kind's previous rows, so
importing the same file twice leaves the same state. The catalog upserts by SKU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from sidedata.records import ChatEvent as ChatRecord
from sidedata.records import Product as ProductRecord
from sidedata.records import StreamOrder as OrderRecord
from sidedata.records import TimelineSegment as SegmentRecord
from sidedata.records import TranscriptCue as CueRecord
from store.models import (
    ChatEvent,
    Product,
    SideDataImport,
    StreamOrder,
    TimelineSegment,
    TranscriptCue,
    utcnow,
)

PER_RECORDING_KINDS = ("timeline", "chat", "orders", "transcript")


def known_skus(session: Session) -> set[str]:
    return set(session.scalars(select(Product.sku)))


def upsert_products(session: Session, products: Iterable[ProductRecord]) -> tuple[int, int]:
    """Insert new SKUs and update existing ones. Returns (created, updated)."""
    incoming = {p.sku: p for p in products}
    existing = {row.sku: row for row in session.scalars(select(Product).where(Product.sku.in_(incoming)))}
    created = updated = 0
    for sku, record in incoming.items():
        row = existing.get(sku)
        if row is None:
            row = Product(sku=sku)
            session.add(row)
            created += 1
        else:
            updated += 1
        row.name = record.name
        row.price = record.price
        row.original_price = record.original_price
        row.currency = record.currency
        row.coupon = record.coupon
        row.coupon_expires = record.coupon_expires
        row.image = record.image
        row.buy_url = record.buy_url
        row.updated_at = utcnow()
    return created, updated


def replace_timeline(session: Session, recording_id: str, segments: Sequence[SegmentRecord]) -> None:
    session.execute(delete(TimelineSegment).where(TimelineSegment.recording_id == recording_id))
    session.add_all(TimelineSegment(recording_id=recording_id, sku=s.sku, start=s.start, end=s.end) for s in segments)


def replace_chat(session: Session, recording_id: str, events: Sequence[ChatRecord]) -> None:
    session.execute(delete(ChatEvent).where(ChatEvent.recording_id == recording_id))
    if events:
        session.execute(
            insert(ChatEvent),
            [
                {"recording_id": recording_id, "ts": e.ts, "user": e.user, "text": e.text, "kind": e.kind}
                for e in events
            ],
        )


def replace_orders(session: Session, recording_id: str, orders: Sequence[OrderRecord]) -> None:
    session.execute(delete(StreamOrder).where(StreamOrder.recording_id == recording_id))
    if orders:
        session.execute(
            insert(StreamOrder),
            [
                {
                    "recording_id": recording_id,
                    "ts": o.ts,
                    "sku": o.sku,
                    "qty": o.qty,
                    "amount": o.amount,
                    "order_id": o.order_id,
                }
                for o in orders
            ],
        )


def replace_transcript(session: Session, recording_id: str, cues: Sequence[CueRecord]) -> None:
    session.execute(delete(TranscriptCue).where(TranscriptCue.recording_id == recording_id))
    if cues:
        session.execute(
            insert(TranscriptCue),
            [{"recording_id": recording_id, "start": c.start, "end": c.end, "text": c.text} for c in cues],
        )


def record_import(
    session: Session,
    *,
    recording_id: str | None,
    kind: str,
    filename: str,
    sha256: str,
    rows: int,
    duplicates: int,
    warnings: list[str],
) -> SideDataImport:
    """Remember the latest import of ``kind`` (for the recording, or the catalog when None)."""
    query = select(SideDataImport).where(SideDataImport.kind == kind)
    query = query.where(
        SideDataImport.recording_id.is_(None) if recording_id is None else SideDataImport.recording_id == recording_id
    )
    row = session.scalar(query)
    if row is None:
        row = SideDataImport(recording_id=recording_id, kind=kind)
        session.add(row)
    row.filename = filename
    row.sha256 = sha256
    row.rows = rows
    row.duplicates = duplicates
    row.warnings = warnings
    row.imported_at = utcnow()
    return row


def side_data_counts(session: Session, recording_id: str) -> dict[str, int]:
    """How many rows of each kind the recording has."""
    counts = {}
    for kind, model in (
        ("timeline", TimelineSegment),
        ("chat", ChatEvent),
        ("orders", StreamOrder),
        ("transcript", TranscriptCue),
    ):
        counts[kind] = (
            session.scalar(select(func.count()).select_from(model).where(model.recording_id == recording_id)) or 0
        )
    return counts
