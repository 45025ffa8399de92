"""The sample plan: deterministic, self-consistent, and carrying the planted truth."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from services.sample_data import SamplePlan, SamplePlanError, make_plan
from studio.synth import validate_spec

TALK_PHRASES = ("上链接", "秒杀", "库存", "优惠券")


@pytest.fixture(scope="module")
def plan() -> SamplePlan:
    return make_plan()


def test_plan_is_deterministic_per_seed() -> None:
    assert make_plan(seed=3) == make_plan(seed=3)
    assert make_plan(seed=3) != make_plan(seed=4)


def test_default_plan_is_a_five_minute_five_product_stream(plan: SamplePlan) -> None:
    assert plan.duration >= 300
    assert [p.sku for p in plan.products] == ["LS-0001", "LS-0002", "LS-0003", "LS-0004", "LS-0005"]
    names = [p.name for p in plan.products]
    assert "保湿面霜 Hydrating Cream" in names and "蓝牙耳机 Wireless Earbuds" in names
    for product in plan.products:
        assert product.buy_url == f"https://shop.example.com/p/{product.sku}"
        assert product.original_price > product.price > 0
        assert re.fullmatch(r"满\d+减\d+", product.coupon)


def test_segments_follow_an_intro_and_never_overlap(plan: SamplePlan) -> None:
    first = plan.segments[0]
    assert 12 <= first.start <= 16
    skus = {p.sku for p in plan.products}
    for seg, nxt in zip(plan.segments, plan.segments[1:], strict=False):
        assert seg.end <= nxt.start <= seg.end + 3  # touching or a short gap
    for seg in plan.segments:
        assert seg.sku in skus
        assert 54 <= seg.end - seg.start <= 67
        assert seg.start + 10 < seg.selling_moment < seg.end - 10
    assert plan.segments[-1].end <= plan.duration
    assert [s.sku for s in plan.segments] == [p.sku for p in plan.products]  # one segment per product


def test_orders_cluster_after_selling_moments_with_unique_ids(plan: SamplePlan) -> None:
    ids = [o.order_id for o in plan.orders]
    assert len(ids) == len(set(ids))
    assert all(i is not None and re.fullmatch(r"DY20261120-\d{6}", i) for i in ids)
    for order in plan.orders:
        seg = next(s for s in plan.segments if s.start <= order.ts < s.end)
        assert order.sku == seg.sku
        assert order.qty >= 1
        assert order.amount == (plan.product(order.sku).price * order.qty).quantize(Decimal("0.01"))
    for seg in plan.segments:
        mine = [o for o in plan.orders if o.sku == seg.sku]
        spike = [o for o in mine if seg.selling_moment <= o.ts <= seg.selling_moment + 20]
        assert len(spike) >= 10 and len(spike) >= 0.7 * len(mine)


def test_chat_bursts_at_selling_moments_and_is_quiet_at_decoys(plan: SamplePlan) -> None:
    outside = [c for c in plan.chat if not any(m - 5 <= c.ts <= m + 15 for m in plan.selling_moments)]
    baseline = len(outside) / (plan.duration - 20 * len(plan.selling_moments))
    assert 0.2 < baseline < 1.0
    for m in plan.selling_moments:
        burst = [c for c in plan.chat if m <= c.ts < m + 10]
        assert len(burst) / 10 > 5 * baseline
        assert any(c.text.startswith("上链接") for c in burst)
    assert {c.kind for c in plan.chat} == {"comment", "gift", "like", "join"}
    assert len(plan.decoys) == 2
    for decoy in plan.decoys:
        assert 2.0 <= decoy.length <= 3.0
        assert not [c for c in plan.chat if decoy.start - 1 <= c.ts <= decoy.end + 3]
        assert not [o for o in plan.orders if decoy.start - 1 <= o.ts <= decoy.end + 3]
        assert all(abs(decoy.start - m) > 8 for m in plan.selling_moments)
    assert list(plan.chat) == sorted(plan.chat, key=lambda c: c.ts)
    assert len(set(plan.chat)) == len(plan.chat)


def test_speech_has_talk_spurts_and_short_pauses(plan: SamplePlan) -> None:
    assert len(plan.speech) > 60
    for spurt in plan.speech:
        assert 1.0 <= spurt.length <= 4.0 + 1e-9
    for a, b in zip(plan.speech, plan.speech[1:], strict=False):
        assert b.start > a.end
    decoy_gaps = [p for p in plan.pauses if any(p.start <= d.start and d.end <= p.end for d in plan.decoys)]
    assert len(decoy_gaps) == len(plan.decoys)  # the host is silent while the crowd cheers
    for pause in plan.pauses:
        if pause not in decoy_gaps:
            assert 0.3 - 1e-9 <= pause.length <= 1.0 + 1e-9


def test_transcript_follows_speech_and_says_the_key_phrases(plan: SamplePlan) -> None:
    assert [(c.start, c.end) for c in plan.transcript] == [(s.start, s.end) for s in plan.speech]
    text = "\n".join(c.text for c in plan.transcript)
    for phrase in TALK_PHRASES:
        assert phrase in text
    for seg in plan.segments:
        cue = next(c for c in plan.transcript if c.start <= seg.selling_moment <= c.end)
        assert "上链接" in cue.text
        assert plan.product(seg.sku).name.split(" ")[0] in cue.text


def test_stream_spec_mirrors_the_plan(plan: SamplePlan) -> None:
    spec = plan.stream_spec()
    validate_spec(spec)
    assert spec.duration == plan.duration
    assert spec.speech == plan.speech and spec.cheers == plan.decoys
    product_scenes = spec.scenes[1:]
    assert [(s.start, s.end, s.title) for s in product_scenes] == [
        (seg.start, seg.end, plan.product(seg.sku).name) for seg in plan.segments
    ]
    assert "¥89.00" in product_scenes[0].lines[0] and "满99减10" in product_scenes[0].lines[1]
    colours = [s.colour for s in spec.scenes]
    assert len(set(colours)) == len(colours)


def test_short_plan_with_two_products_still_plants_everything() -> None:
    plan = make_plan(duration=40, products=2)
    assert len(plan.segments) == 2 and len(plan.decoys) == 1
    assert all(any(o.sku == s.sku for o in plan.orders) for s in plan.segments)


@pytest.mark.parametrize(("duration", "products"), [(20.0, 5), (330.0, 0), (330.0, 99)])
def test_impossible_plans_are_refused(duration: float, products: int) -> None:
    with pytest.raises(SamplePlanError):
        make_plan(duration=duration, products=products)
