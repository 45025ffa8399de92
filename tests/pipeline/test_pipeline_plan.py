"""The pipeline's plan, pure: stage order, per-clip chains, outcomes, progress, time limits."""

from __future__ import annotations

from pipeline import plan
from pipeline.plan import Child


def kids(**states: str | tuple[str, dict]) -> dict[str, Child]:
    out = {}
    for key, value in states.items():
        status, result = value if isinstance(value, tuple) else (value, {})
        key = key.replace("__", ":")
        out[key] = Child(key, status, result=result, error="boom" if status == "failed" else None)
    return out


def test_head_stages_run_in_order() -> None:
    assert [n.key for n in plan.next_steps("process", {}).create] == ["probe"]
    assert plan.next_steps("process", kids(probe="running")).create == []
    assert [n.key for n in plan.next_steps("process", kids(probe="succeeded")).create] == ["signals"]
    step = plan.next_steps("process", kids(probe="succeeded", signals="succeeded"))
    assert [(n.key, n.kind) for n in step.create] == [("highlights", "highlights")]
    assert [n.kind for n in plan.next_steps("product", {}).create] == ["find_product"]


def test_a_failed_head_stage_fails_the_pipeline() -> None:
    step = plan.next_steps("process", kids(probe="succeeded", signals="failed"))
    assert step.outcome == "failed" and step.create == [] and "signals failed: boom" in (step.error or "")


def test_clips_fan_out_then_chain_then_finalize() -> None:
    head = {"clip_ids": ["a", "b"], "with_leaders": ["a"]}
    base = {"probe": "succeeded", "signals": "succeeded", "highlights": ("succeeded", head)}
    step = plan.next_steps("process", kids(**base))
    assert sorted(n.key for n in step.create) == ["render:a", "render:b"] and step.stage == "render"
    step = plan.next_steps("process", kids(**base, render__a="succeeded", render__b="succeeded"))
    assert sorted(n.key for n in step.create) == ["covers:b", "variants:a"]  # b has no leaders: no variants
    done = {"render__a": "succeeded", "variants__a": "succeeded", "covers__a": "succeeded"}
    step = plan.next_steps("process", kids(**base, **done, render__b="running"))
    assert step.create == [] and step.outcome is None
    step = plan.next_steps("process", kids(**base, **done, render__b="succeeded", covers__b="succeeded"))
    assert [n.key for n in step.create] == ["finalize"]
    final = plan.next_steps(
        "process", kids(**base, **done, render__b="succeeded", covers__b="succeeded", finalize="succeeded")
    )
    assert final.outcome == "succeeded"


def test_a_failed_clip_stops_its_chain_only_and_fails_the_job_at_the_end() -> None:
    head = {"clip_ids": ["a", "b"], "with_leaders": []}
    base = {"probe": "succeeded", "signals": "succeeded", "highlights": ("succeeded", head)}
    step = plan.next_steps("process", kids(**base, render__a="failed", render__b="succeeded"))
    assert [n.key for n in step.create] == ["covers:b"]
    step = plan.next_steps("process", kids(**base, render__a="failed", render__b="succeeded", covers__b="succeeded"))
    assert [n.key for n in step.create] == ["finalize"]
    step = plan.next_steps(
        "process", kids(**base, render__a="failed", render__b="succeeded", covers__b="succeeded", finalize="succeeded")
    )
    assert step.outcome == "failed" and "1 of 2 clips failed" in (step.error or "") and "clip a" in (step.error or "")


def test_no_clips_goes_straight_to_finalize() -> None:
    base = {"probe": "succeeded", "signals": "succeeded", "highlights": ("succeeded", {"clip_ids": []})}
    assert [n.key for n in plan.next_steps("process", kids(**base)).create] == ["finalize"]


def test_progress_rises_with_the_stages() -> None:
    head = {"clip_ids": ["a"], "with_leaders": []}
    values = [
        plan.progress("process", {}),
        plan.progress("process", kids(probe="succeeded")),
        plan.progress("process", kids(probe="succeeded", signals="succeeded", highlights=("succeeded", head))),
        plan.progress(
            "process",
            kids(probe="succeeded", signals="succeeded", highlights=("succeeded", head), render__a="succeeded"),
        ),
    ]
    assert values == sorted(values) and values[0] == 0.0 and values[-1] < 1.0
    running = {"probe": Child("probe", "succeeded"), "signals": Child("signals", "running", progress=0.5)}
    assert plan.progress("process", kids(probe="succeeded")) < plan.progress("process", running)


def test_render_time_limits_scale_with_the_clip() -> None:
    short, long_ = plan.time_limits("render", clip_seconds=15), plan.time_limits("render", clip_seconds=60)
    assert short[0] < long_[0] and all(hard > soft for soft, hard in (short, long_))
    assert plan.eta_seconds(100.0, 0.5) == 100.0 and plan.eta_seconds(10.0, 0.01) is None
