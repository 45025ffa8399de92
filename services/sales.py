"""Shop sales: store one as the webhook or an export states it, idempotently on the shop's ``order_id``.

A new ``order_id`` makes a sale with its lines, its first event, its attribution
(:func:`services.attribution.attribute_sale`) and the ledger's entries (:func:`services.ledger.on_sale_changed`).
The same ``order_id`` again, with the same status and refund, changes nothing; a later status
(paid -> partially_refunded -> refunded, or cancelled) or a larger cumulative refund updates the sale and
appends an event; one that would move it back (an earlier status, a smaller refund) is **ignored as
stale**, since deliveries arrive out of order (the answer says ``"stale": true``). The amount, lines,
time and attribution facts of a sale are those of its first arrival, whichever way it came.

Everything is written in the caller's transaction; :func:`import_sales` holds a whole file in one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from runtime.config import Settings
from services import ledger
from services.attribution import attribute_sale
from services.errors import InvalidRequest, InvalidValue, ServiceError, TooLarge
from sidedata.errors import SideDataError
from sidedata.shop_sales import ShopSale, is_stale, parse_shop_sales
from store import sales as repo
from store.ledger import lock_ledger
from store.models import Attribution, Sale, SaleLine

WEBHOOK, IMPORT = "webhook", "import"
MAX_SALES_FILE_BYTES = 50 * 1024 * 1024


class SalesError(ServiceError):
    """The sales domain's root."""

    code = "sales_error"


class InvalidSale(InvalidValue, SalesError):
    """A delivery contradicts the stored sale (a refund above its amount)."""

    code = "invalid_sale"


class SalesFileTooLarge(TooLarge, SalesError, SideDataError):
    pass


class EmptySalesFile(InvalidRequest, SalesError, SideDataError):
    pass


@dataclass
class SaleOutcome:
    """What one delivery did to its sale: ``created``, ``changed`` (a later status or a larger refund),
    ``stale`` (ignored: it would move the sale back), ``duplicate`` (a replayed webhook-id), or none of
    these (the same facts again)."""

    order_id: str
    sale_id: str | None
    status: str | None
    refund_amount: int | None
    created: bool = False
    changed: bool = False
    stale: bool = False
    duplicate: bool = False
    attribution: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def attribution_payload(row: Attribution | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "method": row.method,
        "leader_id": row.leader_id,
        "clip_id": row.clip_id,
        "channel": row.channel,
        "link_id": row.link_id,
        "recording_id": row.recording_id,
        "click_id": row.click_id,
    }


def outcome_for(session: Session, sale: Sale, **flags: bool) -> SaleOutcome:
    return SaleOutcome(
        order_id=sale.order_id,
        sale_id=sale.id,
        status=sale.status,
        refund_amount=sale.refund_amount,
        attribution=attribution_payload(repo.attribution(session, sale.id)),
        **flags,
    )


def record_sale(
    settings: Settings, session: Session, sale: ShopSale, *, source: str, reference: str | None
) -> SaleOutcome:
    """Store ``sale`` (new, changed, the same again, or stale: see the module). Flushes, never commits.
    Takes the ledger's lock first, before the sale's row lock, as every ledger writer does (no deadlocks)."""
    lock_ledger(session)
    row = repo.sale_by_order(session, sale.order_id, lock=True)
    if row is None:
        row = Sale(
            order_id=sale.order_id,
            source=source,
            status=sale.status,
            currency=sale.currency,
            amount=sale.amount,
            refund_amount=sale.refund_amount,
            paid_at=sale.paid_at,
            click_id=sale.click_id,
            share_code=sale.share_code,
            customer_id=sale.customer_id,
        )
        lines = [SaleLine(sku=ln.sku, quantity=ln.quantity, amount=ln.amount) for ln in sale.lines]
        if repo.insert_sale(session, row, lines):
            repo.add_event(session, row, source=source, reference=reference)
            attribute_sale(settings, session, row)
            ledger.on_sale_changed(settings, session, sale_id=row.id, created=True)
            return outcome_for(session, row, created=True)
        row = repo.sale_by_order(session, sale.order_id, lock=True)  # a concurrent delivery made it first
        if row is None:  # pragma: no cover - the insert failed on something else than the order id
            raise SalesError(f"sale {sale.order_id!r} could not be stored")
    return _update(settings, session, row, sale, source=source, reference=reference)


def _update(
    settings: Settings, session: Session, row: Sale, sale: ShopSale, *, source: str, reference: str | None
) -> SaleOutcome:
    stored, new = (row.status, row.refund_amount), (sale.status, sale.refund_amount)
    if new == stored:
        return outcome_for(session, row)
    if is_stale(stored, new):
        return outcome_for(session, row, stale=True)
    if sale.refund_amount > row.amount:
        where = f"{reference}: " if source == IMPORT and reference else ""
        raise InvalidSale(
            f"{where}order {sale.order_id!r}: refund_amount {sale.refund_amount} is more than the stored sale's "
            f"amount {row.amount}"
        )
    row.status, row.refund_amount = new
    session.flush()
    repo.add_event(session, row, source=source, reference=reference)
    ledger.on_sale_changed(settings, session, sale_id=row.id)
    return outcome_for(session, row, changed=True)


@dataclass
class SalesImportReport:
    filename: str
    rows: int
    sales: int
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    order_ids: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_sales(settings: Settings, session: Session, *, data: bytes, filename: str) -> SalesImportReport:
    """Parse a shop's sales export and store every sale in one transaction (committed on success, rolled
    back on any problem). Raises :class:`sidedata.errors.SideDataImportError` listing every bad row as
    ``file:line: field: problem``; importing the same file again changes nothing."""
    if len(data) > MAX_SALES_FILE_BYTES:
        raise SalesFileTooLarge(f"the sales file is larger than {MAX_SALES_FILE_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise EmptySalesFile(f"{filename}: the file is empty")
    result = parse_shop_sales(data, filename, timezone=settings.timezone)
    report = SalesImportReport(filename, rows=result.rows, sales=len(result.sales), warnings=list(result.warnings))
    try:
        for sale in result.sales:
            outcome = record_sale(settings, session, sale, source=IMPORT, reference=f"{filename}:{sale.line}")
            report.order_ids.append(sale.order_id)
            if outcome.created:
                report.created += 1
            elif outcome.changed:
                report.changed += 1
            elif outcome.stale:
                report.stale += 1
            else:
                report.unchanged += 1
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report
