"""Every example in FORMATS.md imports exactly (verbatim copies)."""

from __future__ import annotations

from decimal import Decimal

from sidedata import (
    ChatEvent,
    Product,
    StreamOrder,
    TimeContext,
    TimelineSegment,
    parse_catalog,
    parse_chat,
    parse_orders,
    parse_side_data,
    parse_timeline,
)

TIMELINE_EXAMPLE = "sku,start,end\nLS-0001,00:02:10,00:06:45\n"
CHAT_EXAMPLE = '{"ts": "00:03:02.4", "user": "小米粥", "text": "上链接！", "kind": "comment"}\n'
ORDERS_EXAMPLE = "ts,sku,qty,amount,order_id\n00:03:15,LS-0001,2,178.00,DY20261120-000123\n"


def test_catalog_example(catalog_example: str) -> None:
    result = parse_catalog(catalog_example.encode(), "catalog.csv")
    assert result.products == [
        Product(
            sku="LS-0001",
            name="保湿面霜 Hydrating Cream",
            price=Decimal("89.00"),
            original_price=Decimal("129.00"),
            currency="CNY",
            coupon="满99减10",
            image=None,
            buy_url="https://shop.example.com/p/LS-0001",
        )
    ]
    assert result.warnings == []
    assert result.rows == 1


def test_timeline_example(ctx: TimeContext) -> None:
    result = parse_timeline(TIMELINE_EXAMPLE.encode(), "timeline.csv", known_skus={"LS-0001"}, ctx=ctx)
    assert result.segments == [TimelineSegment("LS-0001", 130.0, 405.0)]


def test_chat_example(ctx: TimeContext) -> None:
    result = parse_chat(CHAT_EXAMPLE.encode(), "chat.jsonl", ctx=ctx)
    assert result.events == [ChatEvent(ts=182.4, user="小米粥", text="上链接！", kind="comment")]
    assert (result.duplicates, result.out_of_range) == (0, 0)


def test_orders_example(ctx: TimeContext) -> None:
    result = parse_orders(ORDERS_EXAMPLE.encode(), "orders.csv", known_skus={"LS-0001"}, ctx=ctx)
    assert result.orders == [
        StreamOrder(ts=195.0, sku="LS-0001", qty=2, amount=Decimal("178.00"), order_id="DY20261120-000123")
    ]


def test_facade_dispatches_examples(catalog_example: str, ctx: TimeContext) -> None:
    catalog = parse_side_data("catalog", catalog_example.encode(), "c.csv")
    skus = {p.sku for p in catalog.products}
    timeline = parse_side_data("timeline", TIMELINE_EXAMPLE.encode(), "t.csv", known_skus=skus, ctx=ctx)
    assert timeline.segments[0].start == 130.0
