"""Money and time parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sidedata import TimeContext, WallClockTimeError, parse_money, parse_offset


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("129.00", "129.00"),
        ("89", "89.00"),
        ("89.5", "89.50"),
        (" ¥89.00 ", "89.00"),
        ("￥1,299.5", "1299.50"),
        ("CNY 10", "10.00"),
        ("0", "0.00"),
        ("1.500", "1.50"),
    ],
)
def test_parse_money_valid(raw: str, expected: str) -> None:
    value = parse_money(raw)
    assert isinstance(value, Decimal)
    assert value == Decimal(expected)
    assert str(value) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("-5", "negative"),
        ("¥-5", "negative"),
        ("NaN", "not a valid amount"),
        ("inf", "not a valid amount"),
        ("1.005", "more than 2 decimal"),
        ("abc", "not a valid amount"),
        ("12,5", "misplaced"),
        ("", "empty"),
        ("1e3", "not a valid amount"),
    ],
)
def test_parse_money_rejects(raw: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_money(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("97.5", 97.5),
        ("0", 0.0),
        ("00:02:10", 130.0),
        ("1:02:03.250", 3723.25),
        ("02:10", 130.0),
        ("03:02.4", 182.4),
        ("00:00:01,500", 1.5),
        ("-2.5", -2.5),
    ],
)
def test_parse_offset_relative(raw: str, expected: float) -> None:
    assert parse_offset(raw, TimeContext()) == pytest.approx(expected)


def test_wall_clock_with_offset_and_naive_in_shanghai() -> None:
    ctx = TimeContext(stream_started_at=datetime(2026, 11, 20, 20, 0, 0))  # naive: read in Asia/Shanghai
    assert parse_offset("2026-11-20T20:01:37+08:00", ctx) == pytest.approx(97.0)
    assert parse_offset("2026-11-20 20:01:37", ctx) == pytest.approx(97.0)
    assert parse_offset("2026-11-20 20:01:37.250", ctx) == pytest.approx(97.25)
    assert parse_offset("2026-11-20T12:01:37Z", ctx) == pytest.approx(97.0)
    assert parse_offset("2026/11/20 19:59:50", ctx) == pytest.approx(-10.0)


def test_wall_clock_with_aware_start_and_other_timezone() -> None:
    start = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
    assert parse_offset("2026-11-20 20:00:05", TimeContext(stream_started_at=start)) == pytest.approx(5.0)
    tokyo = TimeContext(stream_started_at=start, timezone="Asia/Tokyo")
    assert parse_offset("2026-11-20 21:00:05", tokyo) == pytest.approx(5.0)


def test_wall_clock_without_stream_start_explains() -> None:
    with pytest.raises(WallClockTimeError) as info:
        parse_offset("2026-11-20T20:01:37+08:00", TimeContext())
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "wall-clock" in message
    assert "stream_started_at" in message
    assert "upload or import" in message


@pytest.mark.parametrize("raw", ["", "abc", "1:2:3:4", "00:61:00", "2026-13-01 00:00:00", "nan"])
def test_parse_offset_rejects(raw: str) -> None:
    ctx = TimeContext(stream_started_at=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        parse_offset(raw, ctx)


@pytest.mark.parametrize("currency", ["CNY", "USD", "EUR", "HKD", "TWD", "JPY", "KRW", "VND", "KWD", "BHD", "OMR"])
def test_one_precision_source_for_every_currency(currency: str) -> None:
    from babel.numbers import get_currency_precision

    from sidedata.money import currency_digits, format_minor, to_minor

    digits = currency_digits(currency)
    assert digits == get_currency_precision(currency)  # what the report charts show (api.report_charts.money)
    minor = to_minor(Decimal("1234.5"), currency) if digits else to_minor(Decimal("1234"), currency)
    assert format_minor(minor, currency) == ("1234" if digits == 0 else f"1234.5{'0' * (digits - 1)}")


def test_minor_units_in_and_out_for_yen_and_dinars() -> None:
    from sidedata.money import currency_digits, format_minor

    assert (currency_digits("JPY"), currency_digits("KWD"), currency_digits("cny")) == (0, 3, 2)
    assert format_minor(1200, "JPY") == "1200" and format_minor(-7, "JPY") == "-7"
    assert format_minor(1234, "KWD") == "1.234" and format_minor(-5, "KWD") == "-0.005"
    assert format_minor(12345, "CNY") == "123.45" and format_minor(-5, "CNY") == "-0.05"
    assert parse_money("12.345", places=3) == Decimal("12.345") and parse_money("1200", places=0) == Decimal(1200)
    with pytest.raises(ValueError, match="more than 0 decimal"):
        parse_money("12.5", places=0)
