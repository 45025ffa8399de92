"""sidedata.shop_sales: shop exports with Chinese headers, GB18030, XLSX, lines of one order, errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from sidedata.errors import SideDataImportError
from sidedata.shop_sales import (
    SaleFactsError,
    ShopSaleLine,
    is_stale,
    parse_shop_sales,
    settle_status,
    to_minor,
)

EXPORT = (
    "订单编号,下单时间,商品编码,商品数量,实付金额,订单状态,退款金额,推广码,点击ID,买家ID\n"
    "DD-1,2026-11-20 20:15:00,LS-0001,2,178.00,已发货,,k7mq2xwz9d,c0ffee,buyer-1\n"
    "DD-1,,LS-0002,1,¥59.90,退款成功,,,,\n"
    "DD-2,2026/11/21 09:30,LS-0001,1,89,部分退款,10.50,,,\n"
    "DD-3,2026-11-21T10:00:00+08:00,LS-0002,1,59.9,交易关闭,,,,\n"
)


def test_a_gb18030_export_with_chinese_headers_parses_into_sales() -> None:
    result = parse_shop_sales(EXPORT.encode("gb18030"), "orders.csv")
    assert [s.order_id for s in result.sales] == ["DD-1", "DD-2", "DD-3"] and result.rows == 4
    first, second, third = result.sales
    assert first.lines == (ShopSaleLine("LS-0001", 2, 17800), ShopSaleLine("LS-0002", 1, 5990))
    assert (first.status, first.amount, first.refund_amount, first.currency) == (
        "partially_refunded",
        23790,
        5990,
        "CNY",
    )
    assert first.paid_at == datetime(2026, 11, 20, 12, 15, tzinfo=UTC)  # Asia/Shanghai wall clock
    assert (first.share_code, first.click_id, first.customer_id, first.line) == ("k7mq2xwz9d", "c0ffee", "buyer-1", 2)
    assert (second.status, second.refund_amount, second.paid_at.hour) == ("partially_refunded", 1050, 1)
    assert (third.status, third.refund_amount) == ("cancelled", 5990)
    assert not result.warnings


def test_english_headers_a_timezone_and_the_paid_time_over_the_order_time() -> None:
    text = (
        "order_id,ordered_at,paid_at,sku,quantity,amount,status,currency,lsclid\n"
        "X-1,2026-11-20 08:00,2026-11-20 09:00,SKU-1,3,30,paid,usd,abc\n"
    )
    (sale,) = parse_shop_sales(text.encode(), "x.csv", timezone="America/New_York").sales
    assert sale.paid_at == datetime(2026, 11, 20, 14, 0, tzinfo=UTC) and sale.currency == "USD"
    assert sale.click_id == "abc" and sale.lines == (ShopSaleLine("SKU-1", 3, 3000),)


def test_an_xlsx_export_with_real_dates_and_numbers(make_xlsx: Callable[[Sequence[Sequence[Any]]], bytes]) -> None:
    data = make_xlsx(
        [
            ["订单编号", "支付时间", "商品ID", "商品数量", "实付金额", "订单状态"],
            ["DD-9", datetime(2026, 11, 20, 20, 0), "LS-0001", 1, 89.9, "已完成"],
            ["DD-9", None, "LS-0002", 2, 100, "已完成"],
        ]
    )
    (sale,) = parse_shop_sales(data, "orders.xlsx").sales
    assert (sale.amount, sale.status, sale.paid_at) == (18990, "paid", datetime(2026, 11, 20, 12, 0, tzinfo=UTC))
    assert [ln.quantity for ln in sale.lines] == [1, 2]


def test_every_problem_is_reported_as_file_line_field_problem() -> None:
    text = (
        "订单编号,支付时间,商品编码,商品数量,实付金额,订单状态,退款金额,币种\n"
        "E-1,2026-11-20 20:00,LS-1,0,1.005,发货中,,CNY\n"
        ",2026-11-20 20:00,LS-1,1,1,,,\n"
        "E-2,yesterday,LS-1,1,1,,,\n"
        "E-3,2026-11-20 20:00,,1,5,已退款,9,\n"
        "E-4,2026-11-20 20:00,LS-1,1,5,,,CNY\n"
        "E-4,2026-11-20 21:00,LS-2,1,5,,,EUR\n"
        "E-5,,LS-1,1,5,,,\n"
    )
    with pytest.raises(SideDataImportError) as caught:
        parse_shop_sales(text.encode("gb18030"), "bad.csv")
    problems = {str(p) for p in caught.value.problems}
    expected = {
        "bad.csv:2: quantity: quantity '0' must be positive",
        "bad.csv:2: amount: amount '1.005' has more than 2 decimal places",
        "bad.csv:3: order_id: missing value",
        "bad.csv:5: sku: missing value",
        "bad.csv:7: paid_at: differs from line 6 of the same order",
        "bad.csv:7: currency: differs from line 6 of the same order",
        "bad.csv:8: paid_at: missing value (支付时间 or 下单时间)",
    }
    assert expected <= problems, problems
    assert any(p.startswith("bad.csv:2: status: unknown status '发货中'") for p in problems)
    assert any(p.startswith("bad.csv:4: paid_at: invalid date and time 'yesterday'") for p in problems)


def test_a_refund_above_the_line_amount_is_an_error() -> None:
    text = "订单编号,支付时间,商品编码,实付金额,订单状态,退款金额\nR-1,2026-11-20 20:00,LS-1,5,已退款,9\n"
    with pytest.raises(SideDataImportError, match=r"r.csv:2: refund_amount: refund 900 is more than the amount 500"):
        parse_shop_sales(text.encode(), "r.csv")


def test_missing_columns_are_named() -> None:
    with pytest.raises(SideDataImportError, match=r"missing required column\(s\): sku"):
        parse_shop_sales("订单编号,支付时间,实付金额\nA,2026-11-20 20:00,1\n".encode(), "m.csv")
    with pytest.raises(SideDataImportError, match=r"m.csv: paid_at: missing column: 支付时间"):
        parse_shop_sales("订单编号,商品编码,实付金额\nA,S,1\n".encode(), "m.csv")


def test_statuses_settle_and_move_only_forward() -> None:
    assert settle_status("paid", 100, 0) == ("paid", 0)
    assert settle_status("paid", 100, 30) == ("partially_refunded", 30)
    assert settle_status("partially_refunded", 100, 100) == ("refunded", 100)
    assert settle_status("refunded", 100, 0) == ("refunded", 100)
    assert settle_status("refunded", 100, 90) == ("refunded", 90)  # the shop kept the postage
    assert settle_status("cancelled", 100, 0) == ("cancelled", 100)
    for bad in (("partially_refunded", 100, 0), ("paid", 100, 101), ("shipped", 1, 0)):
        with pytest.raises(SaleFactsError):
            settle_status(*bad)
    assert is_stale(("partially_refunded", 50), ("paid", 0))
    assert is_stale(("partially_refunded", 50), ("partially_refunded", 40))
    assert is_stale(("cancelled", 100), ("refunded", 100))
    assert not is_stale(("paid", 0), ("partially_refunded", 10)) and not is_stale(("paid", 0), ("cancelled", 100))


def test_minor_units_follow_the_currency_without_floats() -> None:
    from decimal import Decimal

    assert to_minor(Decimal("0.10"), "CNY") == 10 and to_minor(Decimal("1299.99"), "CNY") == 129999
    assert to_minor(Decimal("500"), "JPY") == 500
    with pytest.raises(ValueError, match="JPY"):
        to_minor(Decimal("1.5"), "JPY")
    assert to_minor(Decimal("1.234"), "KWD") == 1234  # three decimals (fils)
    with pytest.raises(ValueError, match="KWD"):
        to_minor(Decimal("1.2345"), "KWD")


def test_an_export_in_yen_and_in_dinars_keeps_each_currencys_minor_unit() -> None:
    export = (
        "order_id,paid_at,sku,quantity,amount,refund_amount,currency\n"
        "J-1,2026-11-20 20:15:00,LS-0001,2,1200,,JPY\n"
        "K-1,2026-11-20 20:15:00,LS-0001,1,12.345,1.005,KWD\n"
    )
    yen, dinar = parse_shop_sales(export.encode(), "orders.csv").sales
    assert (yen.currency, yen.amount, yen.lines) == ("JPY", 1200, (ShopSaleLine("LS-0001", 2, 1200),))
    assert (dinar.currency, dinar.amount, dinar.refund_amount) == ("KWD", 12345, 1005)
    with pytest.raises(SideDataImportError) as caught:  # a fraction of a yen does not exist
        parse_shop_sales(b"order_id,paid_at,sku,amount,currency\nJ-2,2026-11-20 20:15:00,A,12.5,JPY\n", "o.csv")
    assert "o.csv:2: amount:" in str(caught.value)
