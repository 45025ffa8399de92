"""The reconciler stores the clicks a crashed API process left in its buffer."""

from __future__ import annotations

from runtime.config import Settings
from services.click_buffer import ClickBuffer, clicks_dir
from tests.support.clicks import make_link, raw_click, stored_clicks
from workers.reconcile import reconcile


def test_reconcile_drains_leftover_click_files(settings: Settings) -> None:
    _, link_id = make_link(settings)
    buffer = ClickBuffer(clicks_dir(settings.run_dir))
    for _ in range(3):
        buffer.append(raw_click(link_id))
    buffer.close()  # the API stopped before its drainer's last pass
    report = reconcile(settings)
    assert report.clicks_stored == 3 and "clicks stored 3" in report.summary()
    assert len(stored_clicks(settings)) == 3 and not list(clicks_dir(settings.run_dir).iterdir())
