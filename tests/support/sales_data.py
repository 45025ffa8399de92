"""Rows for the sales reports' tests: clips with share links, clicks, attributed sales with lines, ledger
entries. Written straight into the tables (the tracking, webhook and ledger code is tested on its own)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from store import leaders as leader_store
from store.models import (
    Attribution,
    Click,
    Clip,
    HighlightRow,
    Leader,
    LedgerEntry,
    Product,
    Recording,
    Sale,
    SaleLine,
    ShareLink,
)


def leader(session: Session, leader_id: str, name: str | None = None) -> str:
    if session.get(Leader, leader_id) is None:
        leader_store.create_leader(session, name=name or leader_id, leader_id=leader_id)
    return leader_id


def recording(session: Session, title: str = "直播回放") -> str:
    row = Recording(title=title, source="demo", original_filename="live.mp4", status="ready", duration=3600.0)
    session.add(row)
    session.flush()
    return row.id


def product(session: Session, sku: str, name: str) -> str:
    if session.get(Product, sku) is None:
        session.add(Product(sku=sku, name=name, price=99, currency="CNY", buy_url=f"https://shop.example/{sku}"))
        session.flush()
    return sku


def clip(
    session: Session,
    recording_id: str,
    *,
    sku: str | None = None,
    title: str | None = None,
    contributions: dict[str, float] | None = None,
    start: float | None = None,
) -> str:
    """A ready clip of ``recording_id``; with ``contributions`` it is made from a highlight that has them."""
    start = float(secrets.randbelow(3_000_000)) / 10 if start is None else start
    highlight_id = None
    if contributions is not None:
        h = HighlightRow(recording_id=recording_id, start=start, end=start + 30, contributions=contributions, sku=sku)
        session.add(h)
        session.flush()
        highlight_id = h.id
    row = Clip(
        recording_id=recording_id,
        highlight_id=highlight_id,
        preset="douyin",
        start=start,
        end=start + 30,
        status="ready",
        sku=sku,
        title=title,
        product={"name": title or sku or "item", "sku": sku} if sku else None,
    )
    session.add(row)
    session.flush()
    return row.id


def link(session: Session, clip_id: str, leader_id: str | None = None, channel: str | None = None) -> ShareLink:
    row = ShareLink(
        code=secrets.token_hex(5),
        clip_id=clip_id,
        leader_id=leader_id,
        channel=channel,
        target_url="https://shop.example/item",
    )
    session.add(row)
    session.flush()
    return row


def clicks(
    session: Session,
    share: ShareLink,
    at: datetime,
    *,
    kind: str = "click",
    count: int = 1,
    unique: bool = True,
    bot: str | None = None,
    method: str = "GET",
) -> list[str]:
    """``count`` clicks on ``share`` at ``at``: human (``unique`` visits or repeats) or a bot with a reason."""
    ids = []
    for _ in range(count):
        row = Click(
            id=secrets.token_hex(16),
            link_id=share.id,
            at=at,
            kind=kind,
            method=method,
            identity=secrets.token_hex(8),
            user_agent="Mozilla/5.0",
            bot=bot is not None,
            bot_reason=bot,
            unique_visit=unique and bot is None,
        )
        session.add(row)
        ids.append(row.id)
    session.flush()
    return ids


@dataclass(frozen=True)
class MadeSale:
    sale_id: str
    order_id: str


def sale(
    session: Session,
    share: ShareLink | None,
    paid_at: datetime,
    *,
    lines: Sequence[tuple[str, int, int]] = (("SKU-1", 1, 9900),),
    currency: str = "CNY",
    status: str = "paid",
    refund: int = 0,
    commissions: Sequence[tuple[str, str, int, int]] = (),
    attributed: bool = True,
) -> MadeSale:
    """A sale with ``lines`` (sku, quantity, amount) attributed to ``share``, and ledger entries
    ``commissions`` (leader, kind, level, signed amount)."""
    order_id = f"O{secrets.token_hex(6)}"
    row = Sale(
        order_id=order_id,
        source="webhook",
        status=status,
        currency=currency,
        amount=sum(amount for _, _, amount in lines),
        refund_amount=refund,
        paid_at=paid_at,
    )
    session.add(row)
    session.flush()
    for sku, quantity, amount in lines:
        session.add(SaleLine(sale_id=row.id, sku=sku, quantity=quantity, amount=amount))
    if attributed and share is not None:
        owner = session.get(Clip, share.clip_id)
        session.add(
            Attribution(
                sale_id=row.id,
                link_id=share.id,
                clip_id=share.clip_id,
                leader_id=share.leader_id,
                channel=share.channel,
                recording_id=owner.recording_id if owner else None,
                method="click",
            )
        )
    for leader_id, kind, level, amount in commissions:
        session.add(
            LedgerEntry(leader_id=leader_id, kind=kind, level=level, amount=amount, currency=currency, sale_id=row.id)
        )
    session.flush()
    return MadeSale(row.id, order_id)
