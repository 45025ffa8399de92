"""Two leaders, each given a different approved clip (real files in storage, nothing rendered)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config import Settings
from tests.support.portal_clips import TwoLeaders, ensure_leader, give_clip


@pytest.fixture
def two_leaders(settings: Settings, small_mp4: Path) -> TwoLeaders:
    ensure_leader(settings, "ann", "安团长")
    ensure_leader(settings, "bo", "Bo")
    ann = give_clip(
        settings,
        leader_id="ann",
        video=small_mp4,
        title="春季新品 连衣裙",
        caption="今晚直播同款，限时优惠 <b>不要错过</b>",
        hashtags=["春装", "#直播"],
        product={"name": "连衣裙", "buy_url": "https://shop.example/item/1"},
    )
    bo = give_clip(
        settings,
        leader_id="bo",
        video=small_mp4,
        title="Bo's only clip",
        caption="Bo caption",
        color=(40, 90, 200),
    )
    return TwoLeaders(ann=ann, bo=bo)
