"""Rows for the sales reports' tests: clips with share links, clicks, attributed sales with lines, ledger
entries. Written straight into the tables (the tracking, webhook and ledger code is tested on its own)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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

DAY = datetime(2024, 5, 10, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai


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


def shop(session: Session) -> dict[str, str]:
    """Two clips (tea, cups) of one recording shared by Ann on WeCom and Telegram and by Bo directly, on
    :data:`DAY`: traffic with bots, sales with a refund, commissions, a cancelled and an unattributed sale."""
    ann, bo = leader(session, "ann", "安团长"), leader(session, "bo", "Bo")
    rec = recording(session, "春季直播")
    product(session, "TEA", "龙井茶")
    product(session, "CUP", "茶杯")
    tea = clip(session, rec, sku="TEA", title="Tea clip")
    cups = clip(session, rec, sku="CUP")
    tea_ann = link(session, tea, ann, "wecom")
    tea_bo = link(session, tea, bo, None)
    cups_ann = link(session, cups, ann, "telegram")
    # tea via Ann: 3 unique clicks, 1 repeat click, 2 scans; bots: 2 previews, one HEAD; none counted
    clicks(session, tea_ann, DAY, count=3)
    clicks(session, tea_ann, DAY, unique=False)
    clicks(session, tea_ann, DAY, kind="scan", count=2)
    clicks(session, tea_ann, DAY, bot="preview:wecom", count=2)
    clicks(session, tea_ann, DAY, bot="head", method="HEAD")
    clicks(session, tea_bo, DAY, kind="scan")
    clicks(session, cups_ann, DAY, count=2)
    # a click out of range (the day before in Shanghai)
    clicks(session, cups_ann, datetime(2024, 5, 9, 15, 0, tzinfo=UTC), count=5)
    # tea via Ann: a 99.00 sale, 10.00 refunded: commission 9.90 to Ann, 0.99 to Bo (level 2), reversal -1.00
    sale(
        session,
        tea_ann,
        DAY,
        lines=[("TEA", 1, 9900)],
        refund=1000,
        status="partially_refunded",
        commissions=[(ann, "commission", 1, 990), (bo, "commission", 2, 99), (ann, "reversal", 1, -100)],
    )
    # cups via Ann: 100.00 over two lines (cups 60, tea 40), commission 10.00 then clawed back 2.00, paid out (ignored)
    sale(
        session,
        cups_ann,
        DAY,
        lines=[("CUP", 2, 6000), ("TEA", 1, 4000)],
        commissions=[(ann, "commission", 1, 1000), (ann, "clawback", 1, -200), (ann, "payout", 1, -800)],
    )
    sale(session, tea_ann, DAY, status="cancelled", commissions=[(ann, "commission", 1, 500)])
    sale(session, tea_bo, DAY, attributed=False)  # no attribution: not counted
    sale(session, tea_bo, DAY, lines=[("TEA", 1, 1500)], currency="USD")
    return {"tea": tea, "cups": cups, "rec": rec}
