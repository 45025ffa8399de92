"""Shop sales, their history and attribution, customer bindings and webhook receipts: queries and writes.

Writes flush and never commit: the caller's transaction holds one delivery (receipt, sale, lines,
event, attribution, binding, ledger entries) together. Inserts that may race (a receipt, a sale's
``order_id``) go through a savepoint, so the loser learns it lost instead of failing the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import (
    Attribution,
    Click,
    Clip,
    CustomerBinding,
    LedgerEntry,
    Sale,
    SaleEvent,
    SaleLine,
    ShareLink,
    WebhookReceipt,
    new_id,
)

#: The most bindings of one customer read when deciding (newest first; older ones are long superseded).
BINDINGS_READ = 50
#: The most clicks of one visitor read as candidates.
VISITOR_CLICKS_READ = 200


def _insert(session: Session, rows: Sequence[object]) -> bool:
    """Add ``rows`` in a savepoint; False when a unique key is taken (nothing added then).

    Not on SQLite: pysqlite opens no transaction before the first write, so a SAVEPOINT there would open
    the outer transaction and its RELEASE commit it. SQLite runs one writer at a time, so the insert goes
    in plainly (a lost race then fails the whole transaction, which the sender retries)."""
    if session.get_bind().dialect.name == "sqlite":
        session.add_all(rows)
        session.flush()
        return True
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        return False
    return True


def add_receipt(session: Session, webhook_id: str) -> bool:
    """Note ``webhook_id`` as processed; False when it already was (a replay, maybe concurrent)."""
    if session.get(WebhookReceipt, webhook_id) is not None:
        return False
    return _insert(session, [WebhookReceipt(webhook_id=webhook_id)])


def sale_by_order(session: Session, order_id: str, *, lock: bool = False) -> Sale | None:
    """The sale with the shop's ``order_id`` (row-locked with ``lock`` where the database can)."""
    query = select(Sale).where(Sale.order_id == order_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def insert_sale(session: Session, sale: Sale, lines: Sequence[SaleLine]) -> bool:
    """Insert ``sale`` with its lines; False when its ``order_id`` is taken (then nothing was added)."""
    sale.id = sale.id or new_id()
    for line in lines:
        line.sale_id = sale.id
    return _insert(session, [sale, *lines])


def add_event(
    session: Session, sale: Sale, *, source: str, reference: str | None, at: datetime | None = None
) -> SaleEvent:
    """Append the sale's current status and refund to its history."""
    event = SaleEvent(
        sale_id=sale.id,
        source=source,
        reference=(reference or "")[:200] or None,
        status=sale.status,
        refund_amount=sale.refund_amount,
    )
    if at is not None:
        event.at = at
    session.add(event)
    session.flush()
    return event


def sale_lines(session: Session, sale_id: str) -> list[SaleLine]:
    return list(session.scalars(select(SaleLine).where(SaleLine.sale_id == sale_id).order_by(SaleLine.id)))


def sale_events(session: Session, sale_id: str) -> list[SaleEvent]:
    return list(session.scalars(select(SaleEvent).where(SaleEvent.sale_id == sale_id).order_by(SaleEvent.at)))


def click_with_link(session: Session, click_id: str) -> tuple[Click, ShareLink] | None:
    """The click with id ``click_id`` and its link."""
    row = session.execute(
        select(Click, ShareLink).join(ShareLink, ShareLink.id == Click.link_id).where(Click.id == click_id)
    ).first()
    return None if row is None else (row[0], row[1])


def visitor_clicks(session: Session, identity: str, since: datetime, until: datetime) -> list[tuple[Click, ShareLink]]:
    """A visitor's human clicks (same hashed identity, any link) between ``since`` and ``until``."""
    rows = session.execute(
        select(Click, ShareLink)
        .join(ShareLink, ShareLink.id == Click.link_id)
        .where(Click.identity == identity, Click.bot.is_(False), Click.at >= since, Click.at <= until)
        .order_by(Click.at)
        .limit(VISITOR_CLICKS_READ)
    ).all()
    return [(click, link) for click, link in rows]


def link_by_code(session: Session, code: str) -> ShareLink | None:
    """The link with ``code``, disabled or not (a disabled link still names its leader)."""
    return session.scalars(select(ShareLink).where(ShareLink.code == code)).first()


def link(session: Session, link_id: str) -> ShareLink | None:
    return session.get(ShareLink, link_id)


def clip_recording(session: Session, clip_id: str) -> str | None:
    """The recording a clip was cut from."""
    return session.scalar(select(Clip.recording_id).where(Clip.id == clip_id))


def lock_customer(session: Session, customer_id: str) -> None:
    """Serialise the transactions that read and append one customer's bindings (PostgreSQL: a transaction
    advisory lock on the customer id, released at commit; SQLite runs one writer at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:customer))"), {"customer": customer_id})


def bindings(session: Session, customer_id: str) -> list[CustomerBinding]:
    """The customer's bindings, newest first."""
    query = (
        select(CustomerBinding)
        .where(CustomerBinding.customer_id == customer_id)
        .order_by(CustomerBinding.bound_at.desc())
        .limit(BINDINGS_READ)
    )
    return list(session.scalars(query))


def add_binding(
    session: Session,
    *,
    customer_id: str,
    leader_id: str,
    bound_at: datetime,
    expires_at: datetime | None,
    link_id: str | None,
) -> CustomerBinding:
    row = CustomerBinding(
        customer_id=customer_id, leader_id=leader_id, bound_at=bound_at, expires_at=expires_at, link_id=link_id
    )
    session.add(row)
    session.flush()
    return row


def attribution(session: Session, sale_id: str) -> Attribution | None:
    return session.scalars(select(Attribution).where(Attribution.sale_id == sale_id)).first()


def add_attribution(session: Session, row: Attribution) -> Attribution:
    session.add(row)
    session.flush()
    return row


def sales_awaiting_click(session: Session, *, paid_since: datetime, limit: int = 500) -> list[str]:
    """Ids of sales paid since ``paid_since`` that carried a click id which is stored now but did not credit
    them (attributed provisionally by share code or binding, or not at all: the click was still in a buffer
    file when the sale arrived), newest first. Only those a re-attribution may change without moving
    money: no attribution yet, an attribution to the click's own leader, or no ledger entry for the sale."""
    entries = exists().where(LedgerEntry.sale_id == Sale.id)
    query = (
        select(Sale.id)
        .join(Click, Click.id == Sale.click_id)
        .join(ShareLink, ShareLink.id == Click.link_id)
        .outerjoin(Attribution, Attribution.sale_id == Sale.id)
        .where(
            Sale.paid_at >= paid_since,
            or_(Attribution.id.is_(None), Attribution.method != "click"),
            or_(
                Attribution.id.is_(None),
                func.coalesce(Attribution.leader_id, "") == func.coalesce(ShareLink.leader_id, ""),
                ~entries,
            ),
        )
        .order_by(Sale.paid_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def sale(session: Session, sale_id: str, *, lock: bool = False) -> Sale | None:
    """The sale with id ``sale_id`` (row-locked with ``lock`` where the database can)."""
    query = select(Sale).where(Sale.id == sale_id)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def has_ledger_entries(session: Session, sale_id: str) -> bool:
    return session.scalar(select(exists().where(LedgerEntry.sale_id == sale_id))) or False


def recording_traffic(session: Session, recording_id: str) -> tuple[int, int]:
    """``(clicks, attributed sales)`` through the share links of the recording's clips: the history
    deleting the recording would erase (clicks go with their links, attributions lose their clip)."""
    clips = select(Clip.id).where(Clip.recording_id == recording_id)
    clicks = session.scalar(
        select(func.count())
        .select_from(Click)
        .join(ShareLink, ShareLink.id == Click.link_id)
        .where(ShareLink.clip_id.in_(clips))
    )
    sales = session.scalar(
        select(func.count())
        .select_from(Attribution)
        .where(or_(Attribution.recording_id == recording_id, Attribution.clip_id.in_(clips)))
    )
    return clicks or 0, sales or 0


def attributed_sales(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    leader_id: str | None = None,
) -> list[tuple[Sale, Attribution | None]]:
    """Sales paid in ``[since, until)`` with their attribution (None: not attributed), oldest first.

    Each sale carries ``amount`` and the cumulative ``refund_amount``: a refund reverses the credit in
    proportion (``refund_amount / amount`` of it).
    """
    query = select(Sale, Attribution).outerjoin(Attribution, Attribution.sale_id == Sale.id).order_by(Sale.paid_at)
    if since is not None:
        query = query.where(Sale.paid_at >= since)
    if until is not None:
        query = query.where(Sale.paid_at < until)
    if leader_id is not None:
        query = query.where(Attribution.leader_id == leader_id)
    return [(sale, attr) for sale, attr in session.execute(query).all()]
