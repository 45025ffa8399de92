"""Rows for ledger tests: leaders and attributed sales inserted directly (the sales webhook and import are tested
on their own), as the sales code leaves them before it calls ``services.ledger.on_sale_changed``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from store.models import Attribution, Leader, Sale, SaleLine, new_id


def add_leader(session: Session, leader_id: str, *, recruiter_id: str | None = None, name: str | None = None) -> Leader:
    leader = Leader(id=leader_id, name=name or leader_id, recruiter_id=recruiter_id, phone="13800000000")
    session.add(leader)
    session.flush()
    return leader


def add_sale(
    session: Session,
    *,
    leader_id: str | None,
    lines: list[tuple[str, int, int]],
    paid_at: datetime,
    currency: str = "CNY",
    order_id: str | None = None,
) -> Sale:
    """A paid sale of ``lines`` (sku, quantity, amount), attributed to ``leader_id`` (None: to no one)."""
    sale = Sale(
        order_id=order_id or new_id(),
        source="import",
        status="paid",
        currency=currency,
        amount=sum(amount for _sku, _qty, amount in lines),
        refund_amount=0,
        paid_at=paid_at,
    )
    session.add(sale)
    session.flush()
    for sku, quantity, amount in lines:
        session.add(SaleLine(sale_id=sale.id, sku=sku, quantity=quantity, amount=amount))
    session.add(Attribution(sale_id=sale.id, leader_id=leader_id, method="share_code"))
    session.flush()
    return sale


def refund_sale(session: Session, sale: Sale, refund_amount: int, *, status: str | None = None) -> None:
    """Set the sale's cumulative refund (and the status it implies) as the sales code does."""
    sale.refund_amount = min(refund_amount, sale.amount)
    if status is not None:
        sale.status = status
    elif sale.status not in ("refunded", "cancelled"):
        sale.status = "refunded" if sale.refund_amount >= sale.amount else "partially_refunded"
    session.flush()
