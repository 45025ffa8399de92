"""The demo's simulated traffic and sales: the report over the period shows exactly what was written, bots
apart, one sale partly refunded, every sale attributed to the clicked link's clip, leader and channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from runtime.config import Settings
from services.demo_sales import simulate_sales
from services.report_period import period
from services.reports import report, timeseries
from store.db import session_scope
from store.models import Attribution, Click, Sale
from tests.support import sales_data as data

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=UTC)


def test_the_report_shows_what_the_demo_simulated(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        data.leader(session, "ann")
        data.leader(session, "bo")
        rec = data.recording(session)
        clips = [data.clip(session, rec, sku=sku, title=sku) for sku in ("TEA", "CUP")]
        made = simulate_sales(settings, session, clip_ids=clips, leader_ids=["ann", "bo"], now=NOW)
    assert made.sales >= 4 and made.bot_hits >= 8 and 0 < made.refunds < made.gmv
    span = period((NOW - timedelta(days=8)).date().isoformat(), NOW.date().isoformat(), "UTC", default_tz="UTC")
    with session_scope(settings.database_url) as session:
        totals = timeseries(session, span=span)["totals"]
        by_channel = report(session, group_by="channel", span=span)
        heads = session.scalar(select(func.count()).select_from(Click).where(Click.method == "HEAD", Click.bot))
        wechat = session.scalar(select(func.count()).select_from(Click).where(Click.in_app == "wechat"))
        unattributed = session.scalar(
            select(func.count()).select_from(Sale).where(~Sale.id.in_(select(Attribution.sale_id)))
        )
    assert (totals["scans"], totals["clicks"], totals["unique_visitors"], totals["bot_hits"]) == (
        made.scans,
        made.clicks,
        made.unique_visitors,
        made.bot_hits,
    )
    assert (totals["orders"], totals["gmv"]["CNY"], totals["refunds"]["CNY"]) == (made.sales, made.gmv, made.refunds)
    assert made.clicks + made.scans > made.unique_visitors  # repeats within the hour are not unique
    assert heads == 2 * 2 * 2 and wechat > 0 and unattributed == 0
    assert {row.key for row in by_channel} == {"wecom", "telegram"}
