"""Chat and orders import."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pytest

from sidedata import ChatEvent, SideDataImportError, StreamOrder, TimeContext, parse_chat, parse_orders


def test_chat_unsorted_and_duplicates(ctx: TimeContext) -> None:
    data = (
        "ts,user,text,kind\n10,b,second,\n5,a,first,comment\n10,b,second,comment\n7,c,,礼物\n10,b,second,评论\n"
    ).encode()
    result = parse_chat(data, "chat.csv", ctx=ctx)
    assert result.events == [
        ChatEvent(5.0, "a", "first", "comment"),
        ChatEvent(7.0, "c", "", "gift"),
        ChatEvent(10.0, "b", "second", "comment"),
    ]
    assert result.duplicates == 2
    assert result.rows == 5


def test_chat_sort_is_stable_and_same_time_different_text_kept(ctx: TimeContext) -> None:
    data = b"ts,user,text\n3,u,z\n3,u,a\n1,u,m\n"
    assert [e.text for e in parse_chat(data, "chat.csv", ctx=ctx).events] == ["m", "z", "a"]


def test_chat_jsonl_sniffed_without_extension(ctx: TimeContext) -> None:
    lines = [{"ts": 2, "user": "u", "kind": "like"}, {"时间": "00:00:01", "用户": "v", "内容": "你好 hi"}]
    data = "\n".join(json.dumps(obj, ensure_ascii=False) for obj in lines).encode("gb18030")
    result = parse_chat(data, "chat.txt", ctx=ctx)
    assert result.events == [ChatEvent(1.0, "v", "你好 hi", "comment"), ChatEvent(2.0, "u", "", "like")]


def test_chat_out_of_range_dropped_with_warning() -> None:
    data = b"ts,user,text\n-1,a,early\n5,b,ok\n61,c,late\n"
    result = parse_chat(data, "chat.csv", ctx=TimeContext(duration=60))
    assert [e.text for e in result.events] == ["ok"]
    assert result.out_of_range == 2
    assert result.warnings == ["chat.csv: dropped 2 chat events outside the recording (0–60 s); lines 2, 4"]


def test_chat_row_errors(ctx: TimeContext) -> None:
    data = b"ts,user,text,kind\nabc,a,x,\n1,a,,comment\n2,a,x,shout\n"
    with pytest.raises(SideDataImportError) as info:
        parse_chat(data, "chat.csv", ctx=ctx)
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "ts"), (3, "text"), (4, "kind")]


def test_chat_wall_clock() -> None:
    data = b"ts,user,text\n2026-11-20T20:01:37+08:00,a,x\n2026-11-20 20:00:30,b,y\n"
    ctx = TimeContext(stream_started_at=datetime(2026, 11, 20, 20, 0))
    assert [e.ts for e in parse_chat(data, "chat.csv", ctx=ctx).events] == [30.0, 97.0]
    with pytest.raises(SideDataImportError, match="stream_started_at"):
        parse_chat(data, "chat.csv", ctx=TimeContext())


ORDERS_HEADER = "ts,sku,qty,amount,order_id\n"


def test_orders_repeated_order_id_counted_once(ctx: TimeContext) -> None:
    data = (ORDERS_HEADER + "00:03:15,A,2,178.00,X1\n00:03:15,A,2,¥178,X1\n00:01:00,B,1,59,X2\n").encode()
    result = parse_orders(data, "o.csv", known_skus={"A", "B"}, ctx=ctx)
    assert result.orders == [
        StreamOrder(60.0, "B", 1, Decimal("59.00"), "X2"),
        StreamOrder(195.0, "A", 2, Decimal("178.00"), "X1"),
    ]
    assert result.duplicates == 1


def test_orders_conflicting_duplicate_order_id(ctx: TimeContext) -> None:
    data = (ORDERS_HEADER + "10,A,2,178.00,X1\n10,A,3,267.00,X1\n").encode()
    with pytest.raises(SideDataImportError) as info:
        parse_orders(data, "o.csv", known_skus=None, ctx=ctx)
    assert str(info.value) == "o.csv:3: order_id: conflicting duplicate order_id 'X1': differs from line 2"


def test_identical_rows_without_order_id_are_separate(ctx: TimeContext) -> None:
    data = b"ts,sku,qty,amount\n10,A,1,89\n10,A,1,89\n"
    result = parse_orders(data, "o.csv", known_skus={"A"}, ctx=ctx)
    assert len(result.orders) == 2
    assert result.duplicates == 0
    assert result.orders[0] == result.orders[1] == StreamOrder(10.0, "A", 1, Decimal("89.00"), None)


def test_orders_qty_and_sku_validation(ctx: TimeContext) -> None:
    ok = parse_orders(b"ts,sku,qty,amount\n1,A,2.0,10\n", "o.csv", known_skus={"A"}, ctx=ctx)
    assert ok.orders[0].qty == 2
    data = b"ts,sku,qty,amount\n1,A,2.5,10\n2,A,0,10\n3,Z,1,10\n4,A,1,-3\n"
    with pytest.raises(SideDataImportError) as info:
        parse_orders(data, "o.csv", known_skus={"A"}, ctx=ctx)
    assert [(p.line, p.field) for p in info.value.problems] == [(2, "qty"), (3, "qty"), (4, "sku"), (5, "amount")]
    unchecked = parse_orders(b"ts,sku,qty,amount\n3,Z,1,10\n", "o.csv", known_skus=None, ctx=ctx)
    assert unchecked.orders[0].sku == "Z"


def test_orders_chinese_headers_jsonl_and_out_of_range() -> None:
    csv_data = "时间,商品ID,数量,实付金额,订单号\n5,A,1,￥1,299.00,Y\n".encode("gb18030")
    with pytest.raises(SideDataImportError, match="row has 6 values"):  # unquoted thousands separator
        parse_orders(csv_data, "o.csv", known_skus=None, ctx=TimeContext())
    rows = [{"ts": 5, "sku": "A", "qty": 1, "amount": "￥1,299.00"}, {"ts": 99, "sku": "A", "qty": 1, "amount": 1}]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    result = parse_orders(data, "o.jsonl", known_skus={"A"}, ctx=TimeContext(duration=60))
    assert [o.amount for o in result.orders] == [Decimal("1299.00")]
    assert result.out_of_range == 1
    assert "dropped 1 order outside the recording" in result.warnings[0]
