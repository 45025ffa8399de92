"""Sales reports over rows written straight into the tables: counts per group with bots apart, money per
currency, refunds and commission sums, time-zone day boundaries, and a leader's scope."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from runtime.config import Settings
from services import reports
from services.report_period import InvalidReport, period
from store.db import session_scope
from tests.support import sales_data as data


def shanghai(start: str, end: str | None = None) -> reports.Period:
    return period(start, end or start, "Asia/Shanghai", default_tz="UTC")


@pytest.fixture
def shop(settings: Settings) -> dict[str, str]:
    """Two clips (tea, cups) shared by Ann on WeCom and Telegram and by Bo directly, with traffic and sales."""
    with session_scope(settings.database_url) as session:
        return data.shop(session)


def _rows(settings: Settings, group_by: str, span: reports.Period, leader_id: str | None = None) -> dict:
    with session_scope(settings.database_url) as session:
        rows = reports.report(session, group_by=group_by, span=span, leader_id=leader_id)
    return {(row.key, row.currency): row.to_dict() for row in rows}


def test_by_clip_counts_humans_and_shows_bots_apart(settings: Settings, shop: dict[str, str]) -> None:
    rows = _rows(settings, "clip", shanghai("2024-05-10"))
    tea = rows[(shop["tea"], "CNY")]
    assert tea["label"] == "Tea clip"
    assert (tea["scans"], tea["clicks"], tea["unique_visitors"], tea["bot_hits"]) == (3, 4, 6, 3)
    assert (tea["orders"], tea["gmv"], tea["refunds"], tea["commission"]) == (1, 9900, 1000, 990 + 99 - 100)
    assert tea["conversion"] == round(1 / 6, 4)
    tea_usd = rows[(shop["tea"], "USD")]  # a second currency is a row of its own, without the traffic
    assert (tea_usd["orders"], tea_usd["gmv"], tea_usd["clicks"], tea_usd["conversion"]) == (1, 1500, 0, None)
    cups = rows[(shop["cups"], "CNY")]
    assert cups["label"] == "CUP"  # no title: the product's name on the clip
    assert (cups["clicks"], cups["unique_visitors"], cups["orders"], cups["gmv"], cups["commission"]) == (
        2,
        2,
        1,
        10000,
        800,
    )


def test_by_leader_channel_recording_and_product(settings: Settings, shop: dict[str, str]) -> None:
    span = shanghai("2024-05-10")
    leaders = _rows(settings, "leader", span)
    ann = leaders[("ann", "CNY")]
    assert ann["label"] == "安团长"
    assert (ann["scans"], ann["clicks"], ann["bot_hits"], ann["orders"], ann["gmv"]) == (2, 6, 3, 2, 19900)
    assert ann["commission"] == 990 - 100 + 1000 - 200  # Ann's own entries on the sales she made
    assert leaders[("bo", "CNY")]["commission"] == 99  # Bo's level 2 on Ann's sale is on Bo's row
    assert leaders[("bo", "CNY")]["orders"] == 0
    assert leaders[("bo", "USD")]["gmv"] == 1500
    assert leaders[("bo", "USD")]["scans"] == 1  # traffic sits on the row of the key's main currency
    channels = _rows(settings, "channel", span)
    assert {key for key, _ in channels} == {"wecom", "telegram", "direct"}
    assert channels[("direct", "USD")]["scans"] == 1
    assert channels[("telegram", "CNY")]["gmv"] == 10000
    recordings = _rows(settings, "recording", span)
    assert recordings[(shop["rec"], "CNY")]["label"] == "春季直播"
    assert recordings[(shop["rec"], "CNY")]["gmv"] == 19900
    products = _rows(settings, "product", span)
    tea, cup = products[("TEA", "CNY")], products[("CUP", "CNY")]
    assert tea["label"] == "龙井茶"
    assert (tea["orders"], tea["gmv"], cup["orders"], cup["gmv"]) == (2, 9900 + 4000, 1, 6000)
    assert (tea["clicks"], tea["scans"], cup["clicks"]) == (4, 3, 2)  # traffic under the clip's SKU
    assert cup["commission"] == 480 and tea["commission"] == 989 + 320  # the second sale's 800 spread 60:40


def test_day_boundaries_follow_the_time_zone(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        data.leader(session, "ann")
        share = data.link(session, data.clip(session, data.recording(session)), "ann")
        data.sale(session, share, datetime(2024, 5, 10, 15, 30, tzinfo=UTC))  # 23:30 on the 10th in Shanghai
        data.sale(session, share, datetime(2024, 5, 10, 16, 30, tzinfo=UTC))  # 00:30 on the 11th in Shanghai
        data.clicks(session, share, datetime(2024, 5, 10, 16, 30, tzinfo=UTC))

    def orders(day: str, tz: str) -> int:
        return sum(r["orders"] for r in _rows(settings, "leader", period(day, day, tz, default_tz="UTC")).values())

    assert orders("2024-05-10", "Asia/Shanghai") == 1
    assert orders("2024-05-11", "Asia/Shanghai") == 1
    assert orders("2024-05-10", "UTC") == 2
    assert orders("2024-05-11", "UTC") == 0
    assert orders("2024-05-10", "America/Los_Angeles") == 2  # 08:30 and 09:30 there
    with session_scope(settings.database_url) as session:
        series = reports.timeseries(session, span=period("2024-05-09", "2024-05-11", "Asia/Shanghai", default_tz="UTC"))
    assert [(d["date"], d["orders"], d["clicks"]) for d in series["days"]] == [
        ("2024-05-09", 0, 0),
        ("2024-05-10", 1, 0),
        ("2024-05-11", 1, 1),
    ]
    assert series["days"][1]["gmv"] == {"CNY": 9900}
    assert series["totals"]["orders"] == 2 and series["currency"] == "CNY"


def test_a_leader_sees_only_their_own(settings: Settings, shop: dict[str, str]) -> None:
    rows = _rows(settings, "clip", shanghai("2024-05-10"), leader_id="bo")
    assert set(rows) == {(shop["tea"], "USD"), (shop["tea"], "CNY")}
    tea = rows[(shop["tea"], "USD")]
    assert (tea["scans"], tea["clicks"], tea["orders"], tea["gmv"], tea["commission"]) == (1, 0, 1, 1500, 0)
    level2 = rows[(shop["tea"], "CNY")]  # Bo's 0.99 (level 2) on Ann's sale: his money, not his order
    assert (level2["orders"], level2["gmv"], level2["commission"]) == (0, 0, 99)
    ann = _rows(settings, "clip", shanghai("2024-05-10"), leader_id="ann")
    assert ann[(shop["tea"], "CNY")]["commission"] == 890  # Ann's own entries only
    assert _rows(settings, "clip", shanghai("2024-05-10"), leader_id="nobody") == {}


def test_timeseries_totals_and_csv(settings: Settings, shop: dict[str, str]) -> None:
    with session_scope(settings.database_url) as session:
        series = reports.timeseries(session, span=shanghai("2024-05-09", "2024-05-10"))
        rows = reports.report(session, group_by="channel", span=shanghai("2024-05-10"))
    assert series["totals"]["scans"] == 3 and series["totals"]["clicks"] == 6 + 5
    assert series["totals"]["bot_hits"] == 3 and series["totals"]["gmv"] == {"CNY": 19900, "USD": 1500}
    text = reports.report_csv(rows)
    lines = text.splitlines()
    assert lines[0] == ",".join(reports.COLUMNS)
    assert len(lines) == 1 + len(rows)
    assert lines[1].startswith("telegram,telegram,0,2,2,0,1,10000,0,800,CNY,0.5")


def test_bad_requests_are_refused() -> None:
    with pytest.raises(InvalidReport, match="time zone"):
        period("2024-05-01", "2024-05-02", "Mars/Olympus", default_tz="UTC")
    with pytest.raises(InvalidReport, match="after"):
        period("2024-05-03", "2024-05-02", "UTC", default_tz="UTC")
    with pytest.raises(InvalidReport, match="YYYY-MM-DD"):
        period("May 1", None, "UTC", default_tz="UTC")
    default = period(None, None, None, default_tz="Asia/Shanghai", today=date(2024, 5, 30))
    assert (default.start, default.end, default.tz) == (date(2024, 5, 1), date(2024, 5, 30), "Asia/Shanghai")
    with pytest.raises(InvalidReport, match="group_by"):
        reports.report(None, group_by="colour", span=default)  # type: ignore[arg-type]


def test_a_recruiters_level_two_is_theirs_on_the_leaderboard_and_in_their_own_report(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        data.leader(session, "boss")
        data.leader(session, "amy")
        share = data.link(session, data.clip(session, data.recording(session), sku="TEA"), "amy", "wecom")
        entries = [("amy", "commission", 1, 1_000), ("boss", "commission", 2, 200), ("boss", "reversal", 2, -50)]
        data.sale(session, share, data.DAY, lines=[("TEA", 1, 10_000)], refund=2_500, commissions=entries)
    span = shanghai("2024-05-10")
    board = _rows(settings, "leader", span)
    assert (board[("amy", "CNY")]["orders"], board[("amy", "CNY")]["commission"]) == (1, 1_000)  # level 1 only
    assert (board[("boss", "CNY")]["orders"], board[("boss", "CNY")]["commission"]) == (0, 150)  # level 2 net
    own = _rows(settings, "leader", span, leader_id="boss")
    assert {k: (r["orders"], r["gmv"], r["commission"]) for k, r in own.items()} == {("boss", "CNY"): (0, 0, 150)}
    with session_scope(settings.database_url) as session:
        portal = reports.leader_summary(session, leader_id="boss", span=span)
        assert [(r.key, r.commission) for r in portal] == [("boss", 150)]
        assert [(r.key, r.commission) for r in reports.leader_summary(session, leader_id="amy", span=span)] == [
            ("amy", 1_000)
        ]
    by_product = _rows(settings, "product", span, leader_id="boss")
    assert {k: (r["orders"], r["gmv"], r["commission"]) for k, r in by_product.items()} == {("TEA", "CNY"): (0, 0, 150)}


def test_product_rows_add_up_to_the_sales_totals_in_whole_units(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        data.leader(session, "amy")
        share = data.link(session, data.clip(session, data.recording(session)), "amy")
        three = [("A", 1, 1), ("B", 1, 1), ("C", 1, 1)]
        data.sale(session, share, data.DAY, lines=three, refund=1, commissions=[("amy", "commission", 1, 1)])
        even = [("D", 1, 1_000), ("E", 1, 1_000), ("F", 2, 1_000)]
        data.sale(session, share, data.DAY, lines=even, refund=2, commissions=[("amy", "commission", 1, 2)])
    span = shanghai("2024-05-10")
    products = _rows(settings, "product", span)

    def sums(skus: str) -> tuple[int, int, int]:
        rows = [products[(sku, "CNY")] for sku in skus]
        return sum(r["gmv"] for r in rows), sum(r["refunds"] for r in rows), sum(r["commission"] for r in rows)

    assert sums("ABC") == (3, 1, 1)  # a third each would round to nothing on every row
    assert sums("DEF") == (3_000, 2, 2)  # two thirds each would round to one on every row: 3
    assert [products[(sku, "CNY")]["commission"] for sku in "ABC"] == [1, 0, 0]  # a tie goes to the first SKU
    assert all(isinstance(r["commission"], int) and isinstance(r["refunds"], int) for r in products.values())
    assert all(products[(sku, "CNY")]["orders"] == 1 for sku in "ABCDEF")
    total = _rows(settings, "leader", span)[("amy", "CNY")]
    assert (total["gmv"], total["refunds"], total["commission"]) == (3_003, 3, 3)
