"""The dashboard in a real headless Chromium on the demo's own data: ``liveslice demo`` (a short stream)
renders, publishes and simulates a week of traffic and sales plus live visits and a signed order; the
merchant's dashboard then draws the funnel and GMV charts and ranks the demo's two leaders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from liveslice.cli.demo_run import run_demo
from runtime.config import Settings
from tests.api.pages.conftest import sign_in
from tests.support.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_dashboard_shows_the_demos_sales(
    settings: Settings, live_server: LiveServer, issue_key: Callable[..., str], page: Page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    result = run_demo(settings, out=tmp_path / "demo", duration=60.0)
    assert result.sales is not None
    history = result.sales.history
    sign_in(page, live_server.url, issue_key("merchant"), next_page="/dashboard")
    orders = sum(row.orders for row in result.sales.by_leader)
    assert orders == history.sales + len(result.sales.live_orders)
    expect(page.locator("#totals [data-total=orders]")).to_have_text(str(orders))
    expect(page.locator("#totals [data-total=bot_hits]")).to_have_text(str(history.bot_hits + 4))
    for step in ("scans", "clicks", "orders"):
        width = page.locator(f'svg.funnel [data-step="{step}"] rect').get_attribute("width")
        assert width is not None and float(width) > 0
    assert page.locator("svg.gmv-chart rect.bar").count() >= 2  # sales on more than one day of the week
    board = page.locator("#leaderboard tbody")
    expect(board).to_contain_text("小王团长")
    expect(board).to_contain_text("Lily")
