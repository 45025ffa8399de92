"""Sales tune the highlight engine: the breakdown by signal, the refusal below the minimum of sales, a synthetic
shop where clips picked by orders sold more, and saved presets (checked, unique, resolved for the detector)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from runtime.config import Settings
from services import tuning, weight_presets
from store.db import session_scope
from studio.highlights.presets import WEIGHT_PRESETS, resolve_weights
from tests.support import sales_data as data

ORDERS_PICKED = {"orders": 0.8, "chat": 0.2}
CHAT_PICKED = {"chat": 0.8, "orders": 0.2}


def synthetic_shop(session: Session, *, per_orders_clip: int = 5, per_chat_clip: int = 1) -> None:
    """Ten highlights made into clips: five picked mostly by orders, five mostly by chat. The orders-picked
    clips sell ``per_orders_clip`` sales of 100.00 each, the chat-picked ones ``per_chat_clip``."""
    data.leader(session, "ann")
    rec = data.recording(session)
    for contributions, sales in [(ORDERS_PICKED, per_orders_clip)] * 5 + [(CHAT_PICKED, per_chat_clip)] * 5:
        share = data.link(session, data.clip(session, rec, sku="TEA", contributions=contributions), "ann", "wecom")
        for _ in range(sales):
            data.sale(session, share, data.DAY, lines=[("TEA", 1, 10000)])
    # none of these count: a clip without a highlight, a cancelled and a fully refunded sale
    plain = data.link(session, data.clip(session, rec), "ann")
    data.sale(session, plain, data.DAY)
    picked = data.link(session, data.clip(session, rec, contributions=CHAT_PICKED), "ann")
    data.sale(session, picked, data.DAY, status="cancelled")
    data.sale(session, picked, data.DAY, status="refunded", refund=9900)


def test_clips_picked_by_orders_that_sold_more_raise_the_orders_weight(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        synthetic_shop(session)
        result = tuning.suggest(session, base="sales", min_sales=20)
    assert result.sales_count == 30 and result.gmv == 300_000 and result.currency == "CNY"
    assert (result.highlights_made, result.highlights_sold) == (11, 10)
    rows = {row.signal: row for row in result.signals}
    assert rows["orders"].pick_share == pytest.approx((5 * 0.8 + 6 * 0.2) / 11)
    assert rows["orders"].sales_share == pytest.approx((25 * 0.8 + 5 * 0.2) / 30)
    weights = result.suggested_weights
    current = WEIGHT_PRESETS["sales"]
    assert weights["orders"] > current["orders"] and weights["chat"] < current["chat"]
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-3)
    assert rows["keywords"].ratio == 1.0  # picked nothing here: kept as it was (before normalising)
    body = result.to_dict()
    assert body["suggested_weights"] == weights and body["method"] == tuning.METHOD and body["sales_count"] == 30


def test_below_the_minimum_it_refuses_with_the_counts(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        synthetic_shop(session, per_orders_clip=2, per_chat_clip=1)
        with pytest.raises(tuning.NotEnoughSales, match=r"at least 20 attributed sales.*there are 15") as refused:
            tuning.suggest(session, base="sales", min_sales=20)
        assert refused.value.extra == {"sales_count": 15, "min_sales": 20}
        shown = tuning.breakdown(session, base="sales", min_sales=20)  # the dashboard still shows the breakdown
        assert not shown.enough and shown.to_dict()["suggested_weights"] is None
        assert tuning.suggest(session, base="sales", min_sales=15).sales_count == 15
        with pytest.raises(tuning.UnknownBase):
            tuning.breakdown(session, base="nope")


def test_a_saved_preset_is_resolved_for_the_detector(settings: Settings) -> None:
    learned = {"orders": 0.5, "chat": 0.1, "keywords": 0.2, "loudness": 0.2}
    with session_scope(settings.database_url) as session:
        weight_presets.save_preset(session, name="learned-1", weights=learned, based_on_sales=30)
    with session_scope(settings.database_url) as session:
        preset, weights, named = weight_presets.analysis_preset(session, "learned-1", None)
        assert (preset, named) == ("sales", "learned-1")
        assert resolve_weights(preset, weights) == learned  # gifts (in the base, not saved) is switched off
        _, overridden, _ = weight_presets.analysis_preset(session, "learned-1", {"chat": 0.3})
        assert resolve_weights("sales", overridden)["chat"] == 0.3
        assert weight_presets.analysis_preset(session, "engagement", {"chat": 1}) == ("engagement", {"chat": 1.0}, None)
        assert weight_presets.analysis_preset(session, "unknown", None) == ("unknown", {}, None)
        assert tuning.breakdown(session, base="learned-1").base == "learned-1"  # a saved preset can be improved


@pytest.mark.parametrize(
    ("name", "weights", "problem"),
    [
        ("sales", {"orders": 1}, "built-in"),
        ("Bad Name", {"orders": 1}, "lower-case"),
        ("ok", {"smell": 1}, "unknown signal"),
        ("ok", {"orders": -1}, ">= 0"),
        ("ok", {"orders": 0}, "above 0"),
        ("ok", {}, "at least one"),
    ],
)
def test_bad_presets_are_refused(settings: Settings, name: str, weights: dict, problem: str) -> None:
    with session_scope(settings.database_url) as session, pytest.raises(weight_presets.InvalidPreset, match=problem):
        weight_presets.save_preset(session, name=name, weights=weights)


def test_a_name_is_saved_once(settings: Settings) -> None:
    with session_scope(settings.database_url) as session:
        weight_presets.save_preset(session, name="spring", weights={"orders": 1})
        with pytest.raises(weight_presets.PresetExists):
            weight_presets.save_preset(session, name="spring", weights={"chat": 1})
        assert [row.name for row in weight_presets.list_presets(session)] == ["spring"]
