"""Shop sales exports (orders placed in the shop after a share; not the stream orders of
:mod:`sidedata.orders`), pure.

Columns: ``order_id, paid_at (or ordered_at), sku, amount[, quantity, status, refund_amount, currency,
share_code, click_id, customer_id]``, with the Chinese names shop exports use (订单编号, 支付时间,
商品编码, 实付金额, 订单状态…). Several rows with the same ``order_id`` are the lines of one sale: the
order's fields must agree where given, amounts and refunds add up, and the statuses of the lines settle
into the sale's (:func:`combine_lines`). Times without an offset are the wall clock in ``timezone``.
All or nothing: every problem is reported as ``file:line: field: problem``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sidedata.errors import ProblemCollector
from sidedata.fields import MISSING
from sidedata.money import currency_digits, parse_money, to_minor
from sidedata.orders import parse_qty
from sidedata.tables import Row, read_table
from sidedata.timeparse import parse_instant

PAID, PARTIALLY_REFUNDED, REFUNDED, CANCELLED = "paid", "partially_refunded", "refunded", "cancelled"
STATUSES = (PAID, PARTIALLY_REFUNDED, REFUNDED, CANCELLED)
#: How far along a sale is: a delivery that would move it back is stale. Refunded and cancelled both end it.
STATUS_RANK = {PAID: 0, PARTIALLY_REFUNDED: 1, REFUNDED: 2, CANCELLED: 2}

COLUMNS = (
    "order_id",
    "paid_at",
    "ordered_at",
    "sku",
    "quantity",
    "amount",
    "status",
    "refund_amount",
    "currency",
    "share_code",
    "click_id",
    "customer_id",
)
REQUIRED = ("order_id", "sku", "amount")
#: This kind's own header names (normalised: lower case, spaces and hyphens as ``_``).
ALIASES: dict[str, str] = {
    "订单编号": "order_id",
    "订单号": "order_id",
    "订单id": "order_id",
    "主订单编号": "order_id",
    "支付时间": "paid_at",
    "付款时间": "paid_at",
    "订单付款时间": "paid_at",
    "下单时间": "ordered_at",
    "创建时间": "ordered_at",
    "订单创建时间": "ordered_at",
    "商品编码": "sku",
    "商品id": "sku",
    "商家编码": "sku",
    "商品数量": "quantity",
    "购买数量": "quantity",
    "数量": "quantity",
    "qty": "quantity",
    "实付金额": "amount",
    "商品实付金额": "amount",
    "支付金额": "amount",
    "金额": "amount",
    "订单状态": "status",
    "状态": "status",
    "退款金额": "refund_amount",
    "refund": "refund_amount",
    "币种": "currency",
    "推广码": "share_code",
    "分享码": "share_code",
    "点击id": "click_id",
    "lsclid": "click_id",
    "买家id": "customer_id",
    "用户id": "customer_id",
    "客户id": "customer_id",
}
STATUS_WORDS: dict[str, str] = {
    **{s: s for s in STATUSES},
    "canceled": CANCELLED,
    **dict.fromkeys(("已支付", "已付款", "买家已付款", "待发货", "等待卖家发货", "已发货", "卖家已发货"), PAID),
    **dict.fromkeys(("待收货", "已收货", "已完成", "交易成功"), PAID),
    **dict.fromkeys(("部分退款", "部分退款成功"), PARTIALLY_REFUNDED),
    **dict.fromkeys(("已退款", "退款成功", "全额退款"), REFUNDED),
    **dict.fromkeys(("已取消", "交易关闭", "订单关闭", "交易取消"), CANCELLED),
}
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")
#: The longest value of each identifying field (what the database keeps).
MAX_LENGTH = {"order_id": 128, "sku": 128, "click_id": 32, "share_code": 16, "customer_id": 128}
_ORDER_FIELDS = ("paid_at", "currency", "share_code", "click_id", "customer_id")


class SaleFactsError(ValueError):
    """A sale's status, amount and refund do not fit together; ``field`` names the one to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ShopSaleLine:
    """One line: SKU, quantity and the amount paid for it (minor units)."""

    sku: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class ShopSale:
    """A shop sale as the webhook or an export states it, settled (:func:`settle_status`).

    ``paid_at`` is aware (UTC); amounts are integer minor units; ``refund_amount`` is cumulative.
    ``line`` is the first source line of an imported sale (None from the webhook)."""

    order_id: str
    status: str
    currency: str
    amount: int
    paid_at: datetime
    lines: tuple[ShopSaleLine, ...]
    refund_amount: int = 0
    click_id: str | None = None
    share_code: str | None = None
    customer_id: str | None = None
    line: int | None = None


@dataclass
class ShopSalesResult:
    sales: list[ShopSale]
    warnings: list[str] = field(default_factory=list)
    rows: int = 0


def settle_status(status: str, amount: int, refund_amount: int) -> tuple[str, int]:
    """The status and cumulative refund a sale really has.

    ``refunded`` and ``cancelled`` without a refund amount refund everything; ``paid`` with a refund is a
    (partial) refund; a full refund is ``refunded``. Raises :class:`SaleFactsError` for an unknown status,
    a refund above the amount, or a partial refund without its amount.
    """
    if status not in STATUSES:
        raise SaleFactsError("status", f"unknown status {status!r} (one of {', '.join(STATUSES)})")
    if amount < 0 or refund_amount < 0:
        raise SaleFactsError("amount" if amount < 0 else "refund_amount", "must not be negative")
    if refund_amount > amount:
        raise SaleFactsError("refund_amount", f"refund {refund_amount} is more than the amount {amount}")
    if status in (REFUNDED, CANCELLED):
        return status, refund_amount or amount
    if refund_amount == 0:
        if status == PARTIALLY_REFUNDED:
            raise SaleFactsError("refund_amount", "a partial refund needs its refund amount")
        return PAID, 0
    return (REFUNDED if refund_amount == amount else PARTIALLY_REFUNDED), refund_amount


def combine_lines(settled: list[tuple[str, int, int]]) -> tuple[str, int, int]:
    """(status, amount, refund) of each line -> the sale's: amounts and refunds add up; every line
    cancelled is a cancelled sale, else the refund decides (none: paid; all: refunded; some: partial)."""
    amount = sum(a for _s, a, _r in settled)
    refund = sum(r for _s, _a, r in settled)
    if settled and all(s == CANCELLED for s, _a, _r in settled):
        return CANCELLED, amount, refund
    if refund == 0:
        return PAID, amount, 0
    return (REFUNDED if refund >= amount else PARTIALLY_REFUNDED), amount, refund


def is_stale(stored: tuple[str, int], new: tuple[str, int]) -> bool:
    """Whether (status, refund) ``new`` would move a sale back from ``stored``: an earlier status, a
    smaller refund, or the other of the two ends (refunded after cancelled)."""
    (old_status, old_refund), (new_status, new_refund) = stored, new
    if new_refund < old_refund or STATUS_RANK[new_status] < STATUS_RANK[old_status]:
        return True
    return STATUS_RANK[new_status] == STATUS_RANK[old_status] and new_status != old_status


def check_token(name: str, value: str) -> str | None:
    """Why ``value`` cannot be the ``name`` (an id or code: printable ASCII, no spaces, bounded)."""
    if len(value) > MAX_LENGTH[name]:
        return f"longer than {MAX_LENGTH[name]} characters"
    if name != "sku" and not _TOKEN.match(value):
        return f"{value!r} may only hold printable ASCII without spaces"
    return None


@dataclass
class _Line:
    row: Row
    status: str
    amount: int
    refund: int
    sku: str
    quantity: int


def _text(row: Row, name: str, problems: ProblemCollector) -> str | None:
    value = row.get(name) or None
    if value is not None and name in MAX_LENGTH and (why := check_token(name, value)):
        problems.add(row.line, name, why)
        return None
    return value


def _money(row: Row, name: str, currency: str, problems: ProblemCollector) -> int | None:
    value = row.get(name)
    if not value:
        if name == "amount":
            problems.add(row.line, name, MISSING)
            return None
        return 0
    try:
        return to_minor(parse_money(value, places=currency_digits(currency)), currency)
    except ValueError as exc:
        problems.add(row.line, name, str(exc))
    return None


def _currency(row: Row, problems: ProblemCollector | None) -> str | None:
    """The row's currency code (default CNY); None, and a problem when ``problems`` is given, if invalid."""
    value = (row.get("currency") or "CNY").upper()
    value = {"RMB": "CNY", "人民币": "CNY"}.get(value, value)
    if _CURRENCY.match(value):
        return value
    if problems is not None:
        problems.add(row.line, "currency", f"{row.get('currency')!r} is not a three-letter currency code")
    return None


def _line(row: Row, problems: ProblemCollector) -> _Line | None:
    before = len(problems.problems)
    currency = _currency(row, problems) or "CNY"
    sku = row.get("sku")
    if not sku:
        problems.add(row.line, "sku", MISSING)
    elif why := check_token("sku", sku):
        problems.add(row.line, "sku", why)
    quantity = 1
    if row.get("quantity"):
        try:
            quantity = parse_qty(row.get("quantity"))
        except ValueError as exc:
            problems.add(row.line, "quantity", str(exc))
    amount = _money(row, "amount", currency, problems)
    refund = _money(row, "refund_amount", currency, problems)
    raw_status = row.get("status")
    status = STATUS_WORDS.get(raw_status.lower()) if raw_status else PAID
    if status is None:
        known = "已支付/已发货/已完成, 部分退款, 已退款/退款成功, 已取消/交易关闭"
        problems.add(
            row.line,
            "status",
            f"unknown status {raw_status!r} (paid, partially_refunded, refunded, cancelled, or {known})",
        )
    if len(problems.problems) != before or amount is None or refund is None or status is None:
        return None
    try:
        status, refund = settle_status(status, amount, refund)
    except SaleFactsError as exc:
        problems.add(row.line, exc.field, str(exc))
        return None
    return _Line(row, status, amount, refund, sku, quantity)


def _order_values(rows: list[Row], timezone: str, problems: ProblemCollector) -> dict[str, str | datetime] | None:
    """The order-level fields of one sale's rows: the first value given; a later different one is a problem."""
    values: dict[str, str | datetime] = {}
    first_line: dict[str, int] = {}
    ok = True
    for row in rows:
        for name in _ORDER_FIELDS:
            source, raw = name, row.get(name)
            if name == "paid_at" and not raw:
                source, raw = "ordered_at", row.get("ordered_at")
            if not raw:
                continue
            value: str | datetime
            if name == "paid_at":
                try:
                    value = parse_instant(raw, timezone).astimezone(UTC)
                except ValueError as exc:
                    problems.add(row.line, source, str(exc))
                    ok = False
                    continue
            elif name == "currency":
                currency = _currency(row, None)
                if currency is None:  # reported with the line
                    ok = False
                    continue
                value = currency
            else:
                checked = _text(row, name, problems)
                if checked is None:
                    ok = False
                    continue
                value = checked
            if name not in values:
                values[name], first_line[name] = value, row.line
            elif values[name] != value:
                problems.add(row.line, source, f"differs from line {first_line[name]} of the same order")
                ok = False
    if "paid_at" not in values:
        problems.add(rows[0].line, "paid_at", f"{MISSING} (支付时间 or 下单时间)")
        ok = False
    return values if ok else None


def _sale(order_id: str, rows: list[Row], timezone: str, problems: ProblemCollector) -> ShopSale | None:
    lines = [_line(row, problems) for row in rows]
    values = _order_values(rows, timezone, problems)
    if values is None or any(line is None for line in lines):
        return None
    settled = [line for line in lines if line is not None]
    status, amount, refund = combine_lines([(line.status, line.amount, line.refund) for line in settled])

    def text(name: str) -> str | None:
        value = values.get(name)
        return value if isinstance(value, str) else None

    paid_at = values["paid_at"]
    assert isinstance(paid_at, datetime)
    return ShopSale(
        order_id=order_id,
        status=status,
        currency=text("currency") or "CNY",
        amount=amount,
        paid_at=paid_at,
        lines=tuple(ShopSaleLine(line.sku, line.quantity, line.amount) for line in settled),
        refund_amount=refund,
        click_id=text("click_id"),
        share_code=text("share_code"),
        customer_id=text("customer_id"),
        line=rows[0].line,
    )


def parse_shop_sales(data: bytes, filename: str, *, timezone: str = "Asia/Shanghai") -> ShopSalesResult:
    """Parse a shop's sales export (CSV/TSV/XLSX/JSONL; UTF-8, BOM, UTF-16 or GB18030) into sales in file
    order, one per ``order_id``. Raises :class:`~sidedata.errors.SideDataImportError` listing every problem."""
    problems = ProblemCollector(filename)
    table = read_table(data, filename, columns=COLUMNS, required=REQUIRED, problems=problems, aliases=ALIASES)
    if table.rows and not {"paid_at", "ordered_at"} & set(table.columns):
        problems.add(None, "paid_at", "missing column: 支付时间 (paid_at) or 下单时间 (ordered_at)")
        problems.raise_if_any()
    groups: dict[str, list[Row]] = {}
    for row in table.rows:
        order_id = row.get("order_id")
        if not order_id:
            problems.add(row.line, "order_id", MISSING)
        elif why := check_token("order_id", order_id):
            problems.add(row.line, "order_id", why)
        else:
            groups.setdefault(order_id, []).append(row)
    sales = [_sale(order_id, rows, timezone, problems) for order_id, rows in groups.items()]
    problems.raise_if_any()
    warnings = list(table.warnings)
    if not groups:
        warnings.append(f"{filename}: no sales found")
    return ShopSalesResult(sales=[s for s in sales if s is not None], warnings=warnings, rows=len(table.rows))
