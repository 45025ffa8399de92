"""docs/FORMATS.md is the repository's own format page: its examples import, and the README links to it."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from sidedata import TimeContext, parse_side_data
from sidedata.leaders import parse_leaders
from sidedata.shop_sales import parse_shop_sales

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ROOT / "docs" / "FORMATS.md"
KNOWN_SKUS = {"LS-0001", "LS-0002"}
START = datetime.fromisoformat("2026-11-20T20:00:00+08:00")
RESULT_FIELD = {
    "catalog": "products",
    "timeline": "segments",
    "chat": "events",
    "orders": "orders",
    "transcript": "cues",
}


def examples() -> list[tuple[str, str]]:
    """(info string, text) of every fenced example in the Examples section."""
    section = FORMATS.read_text(encoding="utf-8").split("## Examples", 1)[1]
    return [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w+)\n(.*?)```", section, flags=re.S)]


def kind_of(info: str, text: str) -> str:
    if info == "srt":
        return "transcript"
    header = text.splitlines()[0]
    if info == "jsonl":
        return "chat"
    names = set(re.split(r"[,\t]", header))
    if names & {"phone", "手机", "手机号"}:
        return "leaders"
    if names & {"order_id", "订单编号"} and not names & {"ts", "时间"}:
        return "sales"
    if names & {"sku", "商品编码"} and names & {"name", "商品名称"}:
        return "catalog"
    if "start" in names:
        return "timeline"
    if "qty" in names:
        return "orders"
    return "chat"


def test_every_kind_has_an_example() -> None:
    kinds = {kind_of(info, text) for info, text in examples()}
    assert kinds == {"catalog", "timeline", "chat", "orders", "transcript", "leaders", "sales"}


@pytest.mark.parametrize(("info", "text"), examples(), ids=lambda v: v[:24] if isinstance(v, str) else v)
def test_examples_import(info: str, text: str) -> None:
    kind = kind_of(info, text)
    if kind == "leaders":
        leaders = parse_leaders(text.encode("utf-8"), "leaders.csv").leaders
        assert len(leaders) == len(text.splitlines()) - 1 and all(r.phone for r in leaders)
        assert leaders[-1].recruiter is not None and leaders[-1].recruiter.line == leaders[0].line
        return
    if kind == "sales":
        result = parse_shop_sales(text.encode("gb18030"), "sales.csv")
        order_ids = {line.split(",")[0] for line in text.splitlines()[1:]}
        assert [s.order_id for s in result.sales] == sorted(order_ids) and not result.warnings
        assert sum(len(s.lines) for s in result.sales) == len(text.splitlines()) - 1
        return
    name = {"csv": f"{kind}.csv", "tsv": f"{kind}.tsv", "jsonl": f"{kind}.jsonl", "srt": "transcript.srt"}[info]
    ctx = TimeContext(stream_started_at=START, duration=3600.0)
    kwargs: dict[str, object] = {} if kind == "catalog" else {"ctx": ctx}
    if kind in ("timeline", "orders"):
        kwargs["known_skus"] = KNOWN_SKUS
    result = parse_side_data(kind, text.encode("utf-8"), name, **kwargs)
    items = getattr(result, RESULT_FIELD[kind])
    rows = len([line for line in text.splitlines()[1:] if line.strip()]) if info != "srt" else 2
    if info == "jsonl":
        rows += 1  # no header line
    assert len(items) == rows and not [w for w in result.warnings if "ignored" in w]


def test_wall_clock_example_lands_on_the_stream_clock() -> None:
    (text,) = [t for info, t in examples() if info == "csv" and t.startswith("时间")]
    result = parse_side_data("chat", text.encode(), "chat.csv", ctx=TimeContext(stream_started_at=START))
    assert [(e.ts, e.kind) for e in result.events] == [(182.0, "comment"), (184.0, "like")]


def test_readme_links_the_format_page_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)]*FORMATS\.md[^)]*)\)", readme)
    assert links and set(links) == {"docs/FORMATS.md"}
    assert "../shared" not in readme
    for target in re.findall(r"\]\((?!https?:|#)([^)#]+)", readme):
        assert (ROOT / target).exists(), f"README links {target}, which is not in the repository"
