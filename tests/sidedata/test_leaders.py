"""The leaders file: Chinese headers, GB18030 and XLSX, matching, recruiters, all-or-nothing errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import pytest

from sidedata.catalog import parse_catalog
from sidedata.errors import SideDataImportError
from sidedata.leaders import KnownLeader, normalize_phone, parse_leaders

CHINESE = (
    "姓名,手机,微信,推荐人,社群,状态\n"
    "王芳,+86 138-0013-8000,wf88,,宝妈群;小区一群,启用\n"
    "李娜,13900139000,,王芳,团购群、二群,停用\n"
)


def problems(data: bytes, name: str = "leaders.csv", **kwargs: Any) -> list[str]:
    with pytest.raises(SideDataImportError) as caught:
        parse_leaders(data, name, **kwargs)
    return [str(p) for p in caught.value.problems]


def test_chinese_headers_in_gb18030() -> None:
    result = parse_leaders(CHINESE.encode("gb18030"), "团长.csv")
    first, second = result.leaders
    assert (first.name, first.phone, first.wechat, first.communities, first.status) == (
        "王芳",
        "13800138000",
        "wf88",
        ("宝妈群", "小区一群"),
        "active",
    )
    assert second.recruiter is not None and second.recruiter.line == 2 and second.status == "inactive"
    assert second.communities == ("团购群", "二群") and result.warnings == []


def test_xlsx_with_numeric_phone_cells(make_xlsx: Callable[[Sequence[Sequence[Any]]], bytes]) -> None:
    data = make_xlsx([["姓名", "手机号"], ["王芳", 13800138000], ["Ann", "+44 20 7946 0000"]])
    result = parse_leaders(data, "leaders.xlsx")
    assert [(r.line, r.phone) for r in result.leaders] == [(2, "13800138000"), (3, "+442079460000")]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("138 0013 8000", "13800138000"), ("0086-13800138000", "13800138000"), ("+1 (415) 555-0100", "+14155550100")],
)
def test_phone_forms(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_every_problem_is_listed_with_file_line_and_field() -> None:
    data = "name,phone,recruiter,status\n,13800138000,,\nBea,12345,,\nCat,13900139000,Zed,\nDan,13900139000,,maybe\n"
    assert problems(data.encode()) == [
        "leaders.csv:2: name: missing value",
        "leaders.csv:3: phone: invalid phone '12345': expected a mainland mobile (11 digits starting with 1, "
        "optionally +86) or an international number starting with +",
        "leaders.csv:5: status: unknown status 'maybe' (active or inactive, 启用 or 停用)",
        "leaders.csv:5: phone: duplicate phone 13900139000 (first on line 4)",
        "leaders.csv:4: recruiter: no leader 'Zed' in this file or among the stored leaders",
    ]


def test_missing_columns_and_loops_are_errors() -> None:
    assert problems(b"name,wechat\nA,x\n") == ["leaders.csv:1: missing required column(s): phone (found: name, wechat)"]
    loop = "name,phone,recruiter\nA,13800138000,B\nB,13900139000,A\n"
    assert problems(loop.encode()) == [
        "leaders.csv:2: recruiter: recruiters loop: A -> B -> A",
        "leaders.csv:3: recruiter: recruiters loop: B -> A -> B",
    ]
    assert problems(b"name,phone,recruiter\nA,13800138000,A\n") == [
        "leaders.csv:2: recruiter: a leader cannot recruit themselves"
    ]


def test_rows_match_stored_leaders_by_id_or_phone_and_recruit_across_them() -> None:
    known = [KnownLeader("ann", "Ann", "13800138000"), KnownLeader("bea", "Bea", "13700137000", "ann")]
    data = "id,name,phone,recruiter\n,Ann Lee,+8613800138000,\ncat,Cat,13600136000,Bea\nbea,Bea,13700137000,cat\n"
    with pytest.raises(SideDataImportError) as caught:  # ann <- bea <- cat <- bea: a loop through the file
        parse_leaders(data.encode(), "l.csv", known=known)
    assert "l.csv:3: recruiter: recruiters loop: Cat -> Bea -> Cat" in [str(p) for p in caught.value.problems]
    ok = "id,name,phone,recruiter\n,Ann Lee,+8613800138000,\ncat,Cat,13600136000,Bea\n"
    first, second = parse_leaders(ok.encode(), "l.csv", known=known).leaders
    assert first.match_id == "ann" and second.match_id is None and second.recruiter is not None
    assert second.recruiter.leader_id == "bea"
    taken = "id,name,phone\ndan,Dan,13800138000\n"
    assert problems(taken.encode(), known=known) == [
        "leaders.csv:2: phone: phone 13800138000 belongs to leader 'ann', not 'dan'"
    ]


def test_catalog_coupon_expiry_column() -> None:
    data = "商品编码,商品名称,价格,优惠券,券截止时间\nA,面霜,89,满99减10,2026-11-20\nB,口红,59,,2026-11-20 20:00:00\n"
    first, second = parse_catalog(data.encode(), "catalog.csv").products
    assert first.coupon_expires == datetime.fromisoformat("2026-11-21T00:00:00+08:00")
    assert second.coupon_expires == datetime.fromisoformat("2026-11-20T20:00:00+08:00")
    with pytest.raises(SideDataImportError, match=r"catalog\.csv:2: coupon_expires: invalid coupon expiry"):
        parse_catalog(b"sku,name,price,coupon_expires\nA,x,1,tomorrow\n", "catalog.csv")
