"""Side-data files: exact FORMATS.md headers, atomic writes, and a lossless round trip through the importer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.sample_data import SamplePlan, format_hms, make_plan, write_side_data
from sidedata import TimeContext, parse_side_data


@pytest.fixture(scope="module")
def plan() -> SamplePlan:
    return make_plan()


def test_files_have_the_formats_headers(plan: SamplePlan, tmp_path: Path) -> None:
    files = write_side_data(plan, tmp_path)
    assert files.catalog == tmp_path / "catalog.csv"
    first_line = {p.name: p.read_bytes().split(b"\n", 1)[0].decode("utf-8") for p in tmp_path.iterdir()}
    assert first_line["catalog.csv"] == "sku,name,price,original_price,currency,coupon,image,buy_url"
    assert first_line["timeline.csv"] == "sku,start,end"
    assert first_line["orders.csv"] == "ts,sku,qty,amount,order_id"
    assert first_line["transcript.srt"] == "1"
    assert list(json.loads(first_line["chat.jsonl"])) == ["ts", "user", "text", "kind"]
    assert sorted(first_line) == ["catalog.csv", "chat.jsonl", "orders.csv", "timeline.csv", "transcript.srt"]
    catalog = files.catalog.read_text(encoding="utf-8").splitlines()
    assert (
        catalog[1] == "LS-0001,保湿面霜 Hydrating Cream,89.00,129.00,CNY,满99减10,,https://shop.example.com/p/LS-0001"
    )
    assert not files.catalog.read_bytes().startswith(b"\xef\xbb\xbf")


def test_srt_cues_are_well_formed(plan: SamplePlan, tmp_path: Path) -> None:
    srt = write_side_data(plan, tmp_path).transcript.read_text(encoding="utf-8")
    blocks = srt.strip().split("\n\n")
    assert len(blocks) == len(plan.transcript)
    index, timing, text = blocks[0].split("\n")
    cue = plan.transcript[0]
    assert index == "1"
    assert timing == f"{format_hms(cue.start).replace('.', ',')} --> {format_hms(cue.end).replace('.', ',')}"
    assert text == cue.text


def test_files_round_trip_through_the_importer(plan: SamplePlan, tmp_path: Path) -> None:
    files = write_side_data(plan, tmp_path)
    ctx = TimeContext(duration=plan.duration)
    catalog = parse_side_data("catalog", files.catalog.read_bytes(), "catalog.csv")
    skus = [p.sku for p in catalog.products]
    assert [(p.sku, p.name, p.price, p.original_price, p.coupon, p.buy_url) for p in catalog.products] == [
        (p.sku, p.name, p.price, p.original_price, p.coupon, p.buy_url) for p in plan.products
    ]
    timeline = parse_side_data("timeline", files.timeline.read_bytes(), "timeline.csv", known_skus=skus, ctx=ctx)
    assert [(s.sku, s.start, s.end) for s in timeline.segments] == [(s.sku, s.start, s.end) for s in plan.segments]
    chat = parse_side_data("chat", files.chat.read_bytes(), "chat.jsonl", ctx=ctx)
    assert chat.duplicates == 0 and not chat.warnings
    assert [(c.ts, c.user, c.text, c.kind) for c in chat.events] == [(c.ts, c.user, c.text, c.kind) for c in plan.chat]
    orders = parse_side_data("orders", files.orders.read_bytes(), "orders.csv", known_skus=skus, ctx=ctx)
    assert [(o.ts, o.sku, o.qty, o.amount, o.order_id) for o in orders.orders] == [
        (o.ts, o.sku, o.qty, o.amount, o.order_id) for o in plan.orders
    ]
    transcript = parse_side_data("transcript", files.transcript.read_bytes(), "transcript.srt", ctx=ctx)
    assert [(c.start, c.end, c.text) for c in transcript.cues] == [(c.start, c.end, c.text) for c in plan.transcript]


def test_rewrite_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    write_side_data(make_plan(seed=1), tmp_path)
    files = write_side_data(make_plan(seed=2), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "catalog.csv",
        "chat.jsonl",
        "orders.csv",
        "timeline.csv",
        "transcript.srt",
    ]
    expected_first_order = make_plan(seed=2).orders[0].order_id
    assert expected_first_order is not None
    assert files.orders.read_text(encoding="utf-8").splitlines()[1].endswith(expected_first_order)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "00:00:00.000"), (97.5, "00:01:37.500"), (3725.0406, "01:02:05.041"), (59.9996, "00:01:00.000")],
)
def test_format_hms(seconds: float, text: str) -> None:
    assert format_hms(seconds) == text
