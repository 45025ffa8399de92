"""The sales dashboard in a real headless Chromium: sign in as a merchant, pick a range and a time zone, and
see the funnel and GMV charts drawn (server-side SVG, no script) with the data, the top clips and the
leaderboard, a CSV download, and the leader's own numbers in the portal."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from runtime.config import Settings
from store.db import session_scope
from tests.api.pages.conftest import sign_in
from tests.support import sales_data as data
from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[3]


def test_the_dashboard_draws_its_charts_with_data(
    settings: Settings, live_server: LiveServer, issue_key: Callable[..., str], page: Page
) -> None:
    from playwright.sync_api import expect

    with session_scope(settings.database_url) as session:
        data.shop(session)
    sign_in(page, live_server.url, issue_key("merchant"), next_page="/dashboard")
    page.select_option("select[name=tz]", "Asia/Shanghai")
    page.fill("input[name=from]", "2024-05-09")
    page.fill("input[name=to]", "2024-05-11")
    page.click("#range-form [type=submit]")
    page.wait_for_url("**/dashboard?from=2024-05-09&to=2024-05-11&tz=Asia%2FShanghai")

    funnel = page.locator("svg.funnel")
    expect(funnel).to_be_visible()
    box = funnel.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    widths = {
        step: float(page.locator(f'svg.funnel [data-step="{step}"] rect').get_attribute("width") or 0)
        for step in ("scans", "clicks", "unique_visitors", "orders", "bot_hits")
    }
    assert widths["unique_visitors"] > widths["clicks"] > widths["scans"] == widths["orders"] > 0  # 13, 11, 3, 3
    assert widths["bot_hits"] > 0
    expect(page.locator('svg.funnel [data-step="orders"]')).to_contain_text("3 (23%)")

    bars = page.locator("svg.gmv-chart rect.bar")
    expect(bars).to_have_count(3)
    peak = page.locator('svg.gmv-chart rect.bar[data-date="2024-05-10"]')
    assert peak.bounding_box() is not None and (peak.bounding_box() or {}).get("height", 0) > 100
    expect(page.locator("svg.gmv-chart")).to_contain_text("199.00")

    expect(page.locator("#totals [data-total=orders]")).to_have_text("3")
    expect(page.locator("#top-clips tbody tr")).to_have_count(3)  # cups (100.00), tea (99.00), tea in USD
    expect(page.locator("#top-clips tbody tr").nth(1)).to_contain_text("Tea clip")
    expect(page.locator("#leaderboard tbody tr").first).to_contain_text("安团长")

    if os.environ.get("LIVESLICE_TEST_SCREENSHOTS"):
        page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard.png"), full_page=True)
    with page.expect_download() as download:
        page.click('a[data-csv="leader"]')
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("key,label,scans,clicks") and "安团长" in text
