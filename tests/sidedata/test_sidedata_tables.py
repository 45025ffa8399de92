"""Table reading: CSV/TSV/XLSX/JSONL, headers, line numbers."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sidedata import (
    SideDataImportError,
    TimeContext,
    TimelineSegment,
    UnsupportedFormatError,
    parse_catalog,
    parse_chat,
    parse_timeline,
)
from sidedata.errors import ProblemCollector
from sidedata.tables import canonical_header, cell_to_str, read_table

MakeXlsx = Callable[[Sequence[Sequence[Any]]], bytes]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (89, "89"),
        (89.0, "89"),
        (89.5, "89.5"),
        (None, ""),
        (time(0, 2, 10), "00:02:10"),
        (time(0, 3, 2, 400000), "00:03:02.400"),
        (datetime(2026, 11, 20, 20, 1, 37), "2026-11-20T20:01:37"),
        (date(2026, 11, 20), "2026-11-20"),
        (timedelta(hours=25, seconds=3), "25:00:03"),
    ],
)
def test_cell_to_str(value: Any, expected: str) -> None:
    assert cell_to_str(value) == expected


@pytest.mark.parametrize(
    ("header", "canonical"),
    [
        (" SKU ", "sku"),
        ("商品ID", "sku"),
        ("商品编码", "sku"),
        ("直播价", "price"),
        ("Original Price", "original_price"),
        ("实付金额", "amount"),
        ("订单号", "order_id"),
        ("评论", "text"),
        ("时间", "ts"),
    ],
)
def test_canonical_header(header: str, canonical: str) -> None:
    assert canonical_header(header) == canonical


def test_tab_separated_catalog() -> None:
    data = "商品ID\t商品名称\t价格\nLS-0001\t面霜, 50ml\t89\n".encode()
    products = parse_catalog(data, "catalog.tsv").products
    assert [(p.sku, p.name, p.price) for p in products] == [("LS-0001", "面霜, 50ml", Decimal("89.00"))]


def test_xlsx_catalog_with_numeric_cells(make_xlsx: MakeXlsx) -> None:
    data = make_xlsx(
        [
            ["SKU", "商品名称", "直播价", "原价"],
            [10001, "面霜", 89, 129.5],
            [None, None, None, None],
            ["LS-2", "乳液", 59.9, None],
        ]
    )
    products = parse_catalog(data, "catalog.xlsx").products
    assert [(p.sku, p.price, p.original_price) for p in products] == [
        ("10001", Decimal("89.00"), Decimal("129.50")),
        ("LS-2", Decimal("59.90"), None),
    ]


def test_xlsx_timeline_with_time_cells_and_line_numbers(make_xlsx: MakeXlsx) -> None:
    data = make_xlsx(
        [["sku", "开始时间", "结束时间"], ["A", time(0, 2, 10), time(0, 6, 45)], [], ["B", 405, "00:07:00"]]
    )
    result = parse_timeline(data, "timeline.xlsx", known_skus={"A", "B"}, ctx=TimeContext())
    assert result.segments == [TimelineSegment("A", 130.0, 405.0), TimelineSegment("B", 405.0, 420.0)]
    bad = make_xlsx([["sku", "start", "end"], ["A", 10, 20], [], ["B", 30, 25]])
    with pytest.raises(SideDataImportError) as info:
        parse_timeline(bad, "timeline.xlsx", known_skus={"A", "B"}, ctx=TimeContext())
    assert [(p.line, p.field) for p in info.value.problems] == [(4, "end")]


def test_xlsx_chat_with_datetime_cells(make_xlsx: MakeXlsx) -> None:
    data = make_xlsx([["时间", "用户", "内容"], [datetime(2026, 11, 20, 20, 1, 37), "u", "hi"]])
    ctx = TimeContext(stream_started_at=datetime(2026, 11, 20, 20, 0, 0))
    assert parse_chat(data, "chat.xlsx", ctx=ctx).events[0].ts == pytest.approx(97.0)


def test_missing_required_columns_is_one_problem() -> None:
    with pytest.raises(SideDataImportError) as info:
        parse_catalog(b"sku,title\nA,x\n", "c.csv")
    assert len(info.value.problems) == 1
    problem = info.value.problems[0]
    assert problem.line == 1
    assert "name" in problem.problem and "price" in problem.problem


def test_line_numbers_skip_blank_rows_and_count_multiline_cells() -> None:
    data = b'sku,name,price\n\nA,"two\nlines",1\n,,\nB,x,oops\n'
    with pytest.raises(SideDataImportError) as info:
        parse_catalog(data, "c.csv")
    assert [str(p) for p in info.value.problems] == ["c.csv:6: price: not a valid amount 'oops'"]


def test_unknown_columns_warn_and_extra_values_error() -> None:
    ok = parse_catalog("sku,name,price,库存\nA,x,1,5\n".encode(), "c.csv")
    assert ok.warnings == ["c.csv: ignored unknown columns: 库存"]
    with pytest.raises(SideDataImportError, match=re.escape("c.csv:2: row has 4 values but the header has 3")):
        parse_catalog(b"sku,name,price\nA,x,1,oops\n", "c.csv")


def test_duplicate_alias_columns_error() -> None:
    with pytest.raises(SideDataImportError, match="duplicate column"):
        parse_catalog("sku,name,价格,直播价\nA,x,1,2\n".encode(), "c.csv")


def test_empty_file_error() -> None:
    with pytest.raises(SideDataImportError, match="empty"):
        parse_catalog(b"\n\n", "c.csv")


def test_jsonl_problems_and_line_numbers() -> None:
    data = b'{"ts": 1, "text": "a"}\n\nnot json\n[1]\n{"ts": "x", "text": "b"}\n'
    with pytest.raises(SideDataImportError) as info:
        parse_chat(data, "chat.jsonl", ctx=TimeContext())
    assert [(p.line, p.field) for p in info.value.problems] == [(3, None), (4, None), (5, "ts")]


def test_legacy_xls_and_bad_xlsx_unsupported() -> None:
    with pytest.raises(UnsupportedFormatError, match="xls"):
        parse_catalog(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", "c.xls")
    with pytest.raises(UnsupportedFormatError):
        parse_catalog(b"sku,name,price\n", "c.xlsx")
    with pytest.raises(UnsupportedFormatError, match="not a readable XLSX"):
        parse_catalog(b"PK\x03\x04 truncated zip", "c.xlsx")
    with pytest.raises(UnsupportedFormatError, match="JSON array"):
        parse_chat(b'[{"ts": 1}]', "chat.json", ctx=TimeContext())


def test_read_table_reports_format() -> None:
    problems = ProblemCollector("t")
    table = read_table(b"a\tb\n1\t2\n", "t.txt", columns=("a", "b"), required=("a",), problems=problems)
    assert table.format == "tsv"
    assert [(r.line, r.values) for r in table.rows] == [(2, {"a": "1", "b": "2"})]
    assert not problems
