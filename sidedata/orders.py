"""Stream orders import (``ts, sku, qty, amount[, order_id]``)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sidedata.errors import ProblemCollector
from sidedata.fields import in_range, optional_text, out_of_range_warning, read_money, read_time, required_text
from sidedata.records import StreamOrder
from sidedata.tables import read_table
from sidedata.timeparse import TimeContext

COLUMNS = ("ts", "sku", "qty", "amount", "order_id")
REQUIRED = ("ts", "sku", "qty", "amount")


@dataclass
class OrdersResult:
    """Orders sorted by ts (stable), duplicate/out-of-range counts, warnings, rows read."""

    orders: list[StreamOrder]
    duplicates: int = 0
    out_of_range: int = 0
    warnings: list[str] = field(default_factory=list)
    rows: int = 0


def parse_qty(value: str) -> int:
    """Parse a positive whole quantity; ``"2"`` and ``"2.0"`` are accepted."""
    try:
        number = Decimal(value.strip())
    except InvalidOperation as exc:
        raise ValueError(f"quantity {value!r} is not a number") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError(f"quantity {value!r} is not a whole number")
    if number <= 0:
        raise ValueError(f"quantity {value!r} must be positive")
    return int(number)


def parse_orders(data: bytes, filename: str, *, known_skus: Collection[str] | None, ctx: TimeContext) -> OrdersResult:
    """Parse stream orders. All or nothing: raises SideDataImportError on any problem.

    A repeated ``order_id`` counts once (``duplicates``); if the repeated row differs,
    that is an error. Identical rows without ``order_id`` are separate orders.
    Unknown SKUs are errors when ``known_skus`` is given. Orders before 0 or after
    ``ctx.duration`` are dropped and counted in ``out_of_range``.
    """
    problems = ProblemCollector(filename)
    table = read_table(data, filename, columns=COLUMNS, required=REQUIRED, problems=problems)
    located: list[tuple[int, StreamOrder]] = []
    for row in table.rows:
        ts = read_time(row, "ts", ctx, problems)
        sku = required_text(row, "sku", problems)
        if sku is not None and known_skus is not None and sku not in known_skus:
            problems.add(row.line, "sku", f"SKU {sku!r} is not in the product catalog")
        qty: int | None = None
        raw_qty = required_text(row, "qty", problems)
        if raw_qty is not None:
            try:
                qty = parse_qty(raw_qty)
            except ValueError as exc:
                problems.add(row.line, "qty", str(exc))
        amount = read_money(row, "amount", problems)
        if ts is None or sku is None or qty is None or amount is None:
            continue
        order = StreamOrder(ts=ts, sku=sku, qty=qty, amount=amount, order_id=optional_text(row, "order_id"))
        located.append((row.line, order))
    first: dict[str, tuple[int, StreamOrder]] = {}
    unique: list[tuple[int, StreamOrder]] = []
    for line, order in located:
        if order.order_id is None:
            unique.append((line, order))
            continue
        if order.order_id not in first:
            first[order.order_id] = (line, order)
            unique.append((line, order))
        elif first[order.order_id][1] != order:
            problems.add(
                line,
                "order_id",
                f"conflicting duplicate order_id {order.order_id!r}: differs from line {first[order.order_id][0]}",
            )
    problems.raise_if_any()
    dropped = [line for line, order in unique if not in_range(order.ts, ctx)]
    kept = sorted((order for _, order in unique if in_range(order.ts, ctx)), key=lambda o: o.ts)
    duplicates = len(located) - len(unique)
    warnings = list(table.warnings)
    if duplicates:
        warnings.append(f"{filename}: counted {duplicates} repeated order_id rows once")
    if dropped:
        warnings.append(out_of_range_warning(filename, "order", dropped, ctx))
    return OrdersResult(
        orders=kept, duplicates=duplicates, out_of_range=len(dropped), warnings=warnings, rows=len(table.rows)
    )
