"""Sales reports: traffic, sales and commission per clip, product, leader, channel or recording.

Every figure is one ``GROUP BY`` query over the range's rows (never a Python loop over clicks):

- traffic from ``clicks`` (by ``at``) through their share link: ``scans`` and ``clicks`` count human
  requests only, ``unique_visitors`` the human first visits of an identity within an hour, and
  ``bot_hits`` every flagged request, shown apart and never in the other counts;
- sales from attributed ``sales`` paid in the range (by ``paid_at``), cancelled ones left out: ``orders``,
  ``gmv`` (the amounts paid) and ``refunds`` (their cumulative refund amounts), in minor units, one row per
  currency when a key sold in several;
- ``commission``: the signed ledger entries (commission, reversal, clawback; levels 1 and 2; payouts
  excluded) of those sales. By leader, an entry counts for the leader who earns it (a recruiter's level 2 on
  their row, not the recruit's); a leader's own report counts exactly the leader's own entries, level 2 on
  recruits' sales included.

By product, a sale counts under each SKU of its lines, with the line's amount; its refund and
commission are split over its lines in proportion to their amounts in whole minor units (largest
remainder), so the product rows add up to the sales' totals exactly. Traffic counts under the clip's SKU.
A missing channel is ``direct``; a missing clip, leader or recording has the key ``None``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from sqlalchemy import Select, case, func, literal_column, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from services.report_period import InvalidReport, Period, check_series, csv_text
from sidedata.money import allocate
from store.models import Attribution, Click, Clip, Leader, LedgerEntry, Product, Recording, Sale, SaleLine, ShareLink

GROUPS = ("clip", "product", "leader", "channel", "recording")
DIRECT = "direct"
DEFAULT_CURRENCY = "CNY"
COMMISSION_KINDS = ("commission", "reversal", "clawback")
COLUMNS = (
    "key",
    "label",
    "scans",
    "clicks",
    "unique_visitors",
    "bot_hits",
    "orders",
    "gmv",
    "refunds",
    "commission",
    "currency",
    "conversion",
)
NONE_LABELS = {"clip": "(no clip)", "product": "(no product)", "leader": "(no leader)", "recording": "(no recording)"}


@dataclass
class ReportRow:
    """One key's figures in one currency (money in minor units)."""

    key: str | None
    label: str
    currency: str
    scans: int = 0
    clicks: int = 0
    unique_visitors: int = 0
    bot_hits: int = 0
    orders: int = 0
    gmv: int = 0
    refunds: int = 0
    commission: int = 0

    @property
    def conversion(self) -> float | None:
        """Orders per unique visitor (None without visitors)."""
        return round(self.orders / self.unique_visitors, 4) if self.unique_visitors else None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in COLUMNS}


def _check_group(group_by: str) -> None:
    if group_by not in GROUPS:
        raise InvalidReport(f"group_by must be one of {', '.join(GROUPS)}, got {group_by!r}")


def _traffic_key(group_by: str) -> Any:
    return {
        "clip": ShareLink.clip_id,
        "product": Clip.sku,
        "leader": ShareLink.leader_id,
        "channel": func.coalesce(ShareLink.channel, literal_column(f"'{DIRECT}'")),
        "recording": Clip.recording_id,
    }[group_by]


def _sale_key(group_by: str) -> Any:
    return {
        "clip": Attribution.clip_id,
        "product": SaleLine.sku,
        "leader": Attribution.leader_id,
        "channel": func.coalesce(Attribution.channel, literal_column(f"'{DIRECT}'")),
        "recording": Attribution.recording_id,
    }[group_by]


def _human(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def traffic_query(group_by: str, span: Period, leader_id: str | None) -> Select[Any]:
    """Per key: scans, clicks, unique visitors (humans only) and bot hits in the range."""
    inner = (
        select(_traffic_key(group_by).label("key"), Click.kind, Click.bot, Click.unique_visit)
        .select_from(Click)
        .join(ShareLink, ShareLink.id == Click.link_id)
        .where(Click.at >= span.start_utc, Click.at < span.end_utc)
    )
    if group_by in ("product", "recording"):
        inner = inner.join(Clip, Clip.id == ShareLink.clip_id)
    if leader_id is not None:
        inner = inner.where(ShareLink.leader_id == leader_id)
    rows = inner.subquery()
    human = rows.c.bot.is_(False)
    return select(
        rows.c.key,
        _human(human & (rows.c.kind == "scan")),
        _human(human & (rows.c.kind == "click")),
        _human(human & rows.c.unique_visit.is_(True)),
        _human(rows.c.bot.is_(True)),
    ).group_by(rows.c.key)


def counted_sales(span: Period, leader_id: str | None) -> list[ColumnElement[bool]]:
    """The conditions of a sale the reports count: attributed, paid in the range, not cancelled."""
    conditions = [
        Sale.paid_at >= span.start_utc,
        Sale.paid_at < span.end_utc,
        Sale.status != "cancelled",
        or_(Attribution.clip_id.is_not(None), Attribution.leader_id.is_not(None), Attribution.link_id.is_not(None)),
    ]
    if leader_id is not None:
        conditions.append(Attribution.leader_id == leader_id)
    return conditions


def sales_query(group_by: str, span: Period, leader_id: str | None) -> Select[Any]:
    """Per key and currency: orders, GMV and refunds of the counted sales (not by product: :func:`product_money`)."""
    rows = (
        select(Sale.id, Sale.currency, _sale_key(group_by).label("key"), Sale.amount, Sale.refund_amount)
        .select_from(Attribution)
        .join(Sale, Sale.id == Attribution.sale_id)
        .where(*counted_sales(span, leader_id))
        .subquery()
    )
    return select(
        rows.c.key,
        rows.c.currency,
        func.count(func.distinct(rows.c.id)),
        func.coalesce(func.sum(rows.c.amount), 0),
        func.coalesce(func.sum(rows.c.refund_amount), 0),
    ).group_by(rows.c.key, rows.c.currency)


def _entries_of(span: Period, leader_id: str | None) -> list[ColumnElement[bool]]:
    """The commission entries a report counts: of the counted sales, whoever the sale is attributed to; scoped to
    a leader, that leader's own (their level-2 commission on a recruit's sale included)."""
    conditions = [LedgerEntry.kind.in_(COMMISSION_KINDS), *counted_sales(span, None)]
    if leader_id is not None:
        conditions.append(LedgerEntry.leader_id == leader_id)
    return conditions


def commission_query(group_by: str, span: Period, leader_id: str | None) -> Select[Any]:
    """Per key and currency: the signed commission entries (not by product: :func:`product_money`). By leader the
    key is the leader who earns the entry (a recruiter's level 2 is theirs, not the recruit's)."""
    key = LedgerEntry.leader_id if group_by == "leader" else _sale_key(group_by)
    rows = (
        select(key.label("key"), LedgerEntry.currency, LedgerEntry.amount)
        .select_from(LedgerEntry)
        .join(Sale, Sale.id == LedgerEntry.sale_id)
        .join(Attribution, Attribution.sale_id == Sale.id)
        .where(*_entries_of(span, leader_id))
        .subquery()
    )
    return select(rows.c.key, rows.c.currency, func.coalesce(func.sum(rows.c.amount), 0)).group_by(
        rows.c.key, rows.c.currency
    )


def product_money(session: Session, span: Period, leader_id: str | None) -> dict[tuple[str | None, str], list[int]]:
    """Per SKU and currency: [orders, GMV, refunds, commission]. A sale counts under each SKU of its lines with the
    line's amount; its refund and commission are split over its lines in proportion to their amounts in whole
    minor units (:func:`sidedata.money.allocate`), so a sale's parts add up to its totals exactly."""
    commission = dict(
        session.execute(
            select(LedgerEntry.sale_id, func.sum(LedgerEntry.amount))
            .join(Sale, Sale.id == LedgerEntry.sale_id)
            .join(Attribution, Attribution.sale_id == Sale.id)
            .where(*_entries_of(span, leader_id))
            .group_by(LedgerEntry.sale_id)
        ).all()
    )
    lines = (
        select(Sale.id, Sale.currency, Sale.refund_amount, Attribution.leader_id, SaleLine.sku, SaleLine.amount)
        .select_from(Attribution)
        .join(Sale, Sale.id == Attribution.sale_id)
        .join(SaleLine, SaleLine.sale_id == Sale.id)
        .where(*counted_sales(span, None))
        .order_by(Sale.id, SaleLine.sku, SaleLine.id)  # a tie in the split goes to the first SKU
    )
    if leader_id is not None:  # the leader's sales, and others' where the leader earned (level 2)
        earned = select(LedgerEntry.sale_id).where(LedgerEntry.leader_id == leader_id)
        lines = lines.where(or_(Attribution.leader_id == leader_id, Sale.id.in_(earned)))
    money: dict[tuple[str | None, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for sale_id, group in groupby(session.execute(lines), key=lambda row: row[0]):
        rows = list(group)
        weights = [int(row.amount) for row in rows]
        counted = leader_id is None or rows[0].leader_id == leader_id
        refunds = allocate(int(rows[0].refund_amount or 0) if counted else 0, weights)
        earned_parts = allocate(int(commission.get(sale_id) or 0), weights)
        seen: set[tuple[str | None, str]] = set()
        for row, refund, part in zip(rows, refunds, earned_parts, strict=True):
            cell = money[(row.sku, row.currency)]
            if counted:
                if (row.sku, row.currency) not in seen:  # one order per SKU, however many lines
                    cell[0] += 1
                    seen.add((row.sku, row.currency))
                cell[1] += int(row.amount)
                cell[2] += refund
            cell[3] += part
    return money


def labels(session: Session, group_by: str, keys: Iterable[str | None]) -> dict[str | None, str]:
    """A readable label per key: the clip's title (else its product's name), the product's, leader's or
    recording's name, the channel itself."""
    wanted = {k for k in keys if k is not None}
    found: dict[str | None, str] = {None: NONE_LABELS.get(group_by, DIRECT)}
    if group_by == "clip" and wanted:
        for clip_id, title, product in session.execute(
            select(Clip.id, Clip.title, Clip.product).where(Clip.id.in_(wanted))
        ):
            name = (product or {}).get("name") if isinstance(product, dict) else None
            found[clip_id] = title or (str(name) if name else f"Clip {clip_id[:8]}")
    elif group_by == "product" and wanted:
        found.update(dict(session.execute(select(Product.sku, Product.name).where(Product.sku.in_(wanted))).all()))
    elif group_by == "leader" and wanted:
        found.update(dict(session.execute(select(Leader.id, Leader.name).where(Leader.id.in_(wanted))).all()))
    elif group_by == "recording" and wanted:
        found.update(dict(session.execute(select(Recording.id, Recording.title).where(Recording.id.in_(wanted))).all()))
    return {key: found.get(key) or (key or "") for key in {*wanted, None}}


def report(session: Session, *, group_by: str, span: Period, leader_id: str | None = None) -> list[ReportRow]:
    """The report's rows, most GMV first (then most visits). ``leader_id`` scopes it to one leader's links,
    attributed sales and ledger entries. Traffic goes on the key's row in its main currency (most GMV)."""
    _check_group(group_by)
    traffic = {
        row[0]: tuple(int(v) for v in row[1:]) for row in session.execute(traffic_query(group_by, span, leader_id))
    }
    money: dict[tuple[str | None, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    if group_by == "product":
        money.update(product_money(session, span, leader_id))
    else:
        for key, currency, orders, gmv, refunds in session.execute(sales_query(group_by, span, leader_id)):
            money[(key, currency)][:3] = [int(orders), int(gmv), int(refunds)]
        for key, currency, amount in session.execute(commission_query(group_by, span, leader_id)):
            money[(key, currency)][3] = int(amount)
    names = labels(session, group_by, {*traffic, *(key for key, _ in money)})
    rows: list[ReportRow] = []
    for key in {*traffic, *(key for key, _ in money)}:
        currencies = sorted((c for k, c in money if k == key), key=lambda c: (-money[(key, c)][1], c))
        for index, currency in enumerate(currencies or [DEFAULT_CURRENCY]):
            row = ReportRow(key=key, label=names[key], currency=currency)
            if index == 0 and key in traffic:
                row.scans, row.clicks, row.unique_visitors, row.bot_hits = traffic[key]
            if (key, currency) in money:
                row.orders, row.gmv, row.refunds, row.commission = money[(key, currency)]
            rows.append(row)
    rows.sort(key=lambda r: (-r.gmv, -(r.scans + r.clicks), -r.orders, r.label, r.key or ""))
    return rows


def report_csv(rows: Iterable[ReportRow]) -> str:
    """The rows as CSV with the contract's columns (empty conversion when there were no visitors)."""
    return csv_text(COLUMNS, (row.to_dict() for row in rows))


def _day_of(column: Any, span: Period) -> ColumnElement[Any]:
    """The index of the range's day (in its zone) ``column`` falls on, as SQL."""
    bounds = span.bounds()
    return case(*((column < bound, index) for index, bound in enumerate(bounds[1:])), else_=None)


def timeseries(session: Session, *, span: Period, leader_id: str | None = None) -> dict[str, Any]:
    """One point a day (in the range's zone): the funnel's counts, orders, and GMV and refunds per currency,
    plus the totals. ``currency`` is the one with the most GMV (the chart's)."""
    check_series(span)
    days: list[dict[str, Any]] = [
        {
            "date": day.isoformat(),
            "scans": 0,
            "clicks": 0,
            "unique_visitors": 0,
            "bot_hits": 0,
            "orders": 0,
            "gmv": {},
            "refunds": {},
        }
        for day in span.days
    ]
    clicks = (
        select(_day_of(Click.at, span).label("day"), Click.kind, Click.bot, Click.unique_visit)
        .join(ShareLink, ShareLink.id == Click.link_id)
        .where(Click.at >= span.start_utc, Click.at < span.end_utc)
    )
    if leader_id is not None:
        clicks = clicks.where(ShareLink.leader_id == leader_id)
    c = clicks.subquery()
    human = c.c.bot.is_(False)
    traffic = select(
        c.c.day,
        _human(human & (c.c.kind == "scan")),
        _human(human & (c.c.kind == "click")),
        _human(human & c.c.unique_visit.is_(True)),
        _human(c.c.bot.is_(True)),
    ).group_by(c.c.day)
    for day, scans, clicks_, uniques, bots in session.execute(traffic):
        if day is not None:
            days[int(day)].update(
                scans=int(scans), clicks=int(clicks_), unique_visitors=int(uniques), bot_hits=int(bots)
            )
    sales = (
        select(_day_of(Sale.paid_at, span).label("day"), Sale.id, Sale.currency, Sale.amount, Sale.refund_amount)
        .select_from(Attribution)
        .join(Sale, Sale.id == Attribution.sale_id)
        .where(*counted_sales(span, leader_id))
        .subquery()
    )
    totals_gmv: dict[str, int] = defaultdict(int)
    per_day = select(
        sales.c.day, sales.c.currency, func.count(sales.c.id), func.sum(sales.c.amount), func.sum(sales.c.refund_amount)
    ).group_by(sales.c.day, sales.c.currency)
    for day, currency, orders, gmv, refunds in session.execute(per_day):
        if day is None:
            continue
        point = days[int(day)]
        point["orders"] += int(orders)
        point["gmv"][currency] = int(gmv or 0)
        point["refunds"][currency] = int(refunds or 0)
        totals_gmv[currency] += int(gmv or 0)
    names = ("scans", "clicks", "unique_visitors", "bot_hits", "orders")
    totals: dict[str, Any] = {name: sum(int(p[name]) for p in days) for name in names}
    totals["gmv"] = dict(totals_gmv)
    totals["refunds"] = {cur: sum(int(p["refunds"].get(cur, 0)) for p in days) for cur in totals_gmv}
    main = max(sorted(totals_gmv), key=lambda cur: totals_gmv[cur], default=DEFAULT_CURRENCY)
    return {**span.to_dict(), "currency": main, "days": days, "totals": totals}


def leader_summary(session: Session, *, leader_id: str, span: Period) -> list[ReportRow]:
    """A leader's own totals over ``span`` (one row per currency): what the portal shows them."""
    return report(session, group_by="leader", span=span, leader_id=leader_id)
