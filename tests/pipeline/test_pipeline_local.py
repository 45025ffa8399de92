"""A processing job run in this process through the real stage bodies: clips, variants, manifest,
dedupe, cancel and retry-only-what-failed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from pipeline.advance import create_pipeline, request_cancel, retry_failed
from pipeline.local import run_pipeline
from pipeline.manifest import pipeline_manifest
from pipeline.status import job_view
from runtime.config import Settings
from services.storage import local_copy
from store.db import session_scope
from store.models import Clip, Job, Recording
from studio.render import get_preset, validate_output
from tests.pipeline.conftest import small_options
from tests.services.clips.clip_media import SMALL


def start(settings: Settings, recording: str, **options: object) -> str:
    with session_scope(settings.database_url) as session:
        options_ = small_options(**options)
        job, created = create_pipeline(session, kind="process", recording_id=recording, options=options_)
        assert created
        return job.id


def view(settings: Settings, job_id: str) -> dict:
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job_view(session, job)


def test_a_job_makes_share_ready_clips_with_variants_and_a_manifest(settings: Settings, recording: str) -> None:
    job_id = start(settings, recording)
    assert run_pipeline(settings, job_id) == "succeeded"
    state = view(settings, job_id)
    assert state["progress"] == 1.0 and state["stage"] == "done" and state["errors"] == []
    keys = [s["key"].split(":")[0] for s in state["stages"]]
    assert keys[:3] == ["probe", "signals", "highlights"] and keys[-1] == "finalize"
    assert {"render", "variants", "covers"} <= set(keys)
    manifest = pipeline_manifest(settings, job_id)
    assert manifest["clips"] and all(c["status"] == "ready" for c in manifest["clips"])
    for clip in manifest["clips"]:
        assert clip["sku"] and clip["reason"] and clip["reasons"] and clip["score"] is not None
        assert {link["leader_id"] for link in clip["share_links"]} == {None, "wang", "lily"}
        assert all(link["url"].endswith("/s/" + link["code"]) for link in clip["share_links"])
        with session_scope(settings.database_url) as session:
            row = session.get(Clip, clip["clip_id"])
            assert row is not None and row.status == "ready" and row.cover_key and row.poster_key
            video = local_copy(settings, row.video_key or "")
            validate_output(video, preset=get_preset(row.preset), expected_duration=row.duration)
            assert sorted(v.leader_id for v in row.variants) == ["lily", "wang"]
            for variant in row.variants:
                assert local_copy(settings, variant.video_key or "").stat().st_size > video.stat().st_size
                assert variant.poster_key and local_copy(settings, variant.poster_key).is_file()
            leftovers = [p.name for p in video.parent.iterdir() if p.name.startswith(".")]
            assert leftovers == []
    stored = settings.media_root / "exports" / job_id / "manifest.json"
    assert stored.is_file() and job_id in stored.read_text()


def test_starting_the_same_job_twice_never_duplicates_clips(settings: Settings, recording: str) -> None:
    options = small_options(leaders=[])
    with session_scope(settings.database_url) as session:
        first, created = create_pipeline(session, kind="process", recording_id=recording, options=options)
        again, created_again = create_pipeline(session, kind="process", recording_id=recording, options=options)
        assert created and not created_again and again.id == first.id
        first_id = first.id
    assert run_pipeline(settings, first_id) == "succeeded"
    with session_scope(settings.database_url) as session:
        count = session.scalar(select(func.count()).select_from(Clip))
        second, created = create_pipeline(session, kind="process", recording_id=recording, options=options)
        assert created  # the first one finished: a new run
        second_id = second.id
    assert run_pipeline(settings, second_id) == "succeeded"
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == count
    assert {c["clip_id"] for c in view(settings, first_id)["clips"]} == {
        c["clip_id"] for c in view(settings, second_id)["clips"]
    }


def test_a_failed_render_is_retried_alone(settings: Settings, recording: str, tmp_path: Path) -> None:
    """The source vanishes after the highlights: every render fails; put it back and retry only those."""
    job_id = start(settings, recording, leaders=[])
    with session_scope(settings.database_url) as session:
        rec = session.get(Recording, recording)
        assert rec is not None and rec.storage_key
        source = settings.media_root / rec.storage_key
    hidden = tmp_path / "hidden.mp4"

    import pipeline.stages as stages

    original = stages.run_highlights_stage

    def highlights_then_lose_the_file(settings: Settings, job_id: str, **kw: object) -> None:
        original(settings, job_id, **kw)  # type: ignore[arg-type]
        source.rename(hidden)

    stages.RUNNERS["highlights"] = highlights_then_lose_the_file
    try:
        assert run_pipeline(settings, job_id) == "failed"
    finally:
        stages.RUNNERS["highlights"] = original
    state = view(settings, job_id)
    assert "clips failed" in state["error"] and all(c["status"] == "failed" for c in state["clips"])
    attempts = {s["key"]: s["attempts"] for s in state["stages"]}
    hidden.rename(source)
    retry_failed(settings, job_id, send=lambda s, j: True)
    assert run_pipeline(settings, job_id) == "succeeded"
    after = {s["key"]: s["attempts"] for s in view(settings, job_id)["stages"]}
    for key in ("probe", "signals", "highlights"):
        assert after[key] == attempts[key] == 1  # what succeeded did not run again
    assert all(after[k] == 1 for k in after if k.startswith("render:"))  # reset, then run once more
    assert all(c["status"] == "ready" for c in view(settings, job_id)["clips"])


def test_cancelling_a_queued_job_cancels_its_stages(settings: Settings, recording: str) -> None:
    job_id = start(settings, recording)
    from pipeline.advance import advance

    assert len(advance(settings, job_id)) == 1  # the probe stage, queued
    request_cancel(settings, job_id)
    state = view(settings, job_id)
    assert state["status"] == "cancelled" and all(s["status"] == "cancelled" for s in state["stages"])
    assert SMALL.name in str(state["options"])


def test_a_killed_run_is_taken_over_by_the_next(settings: Settings, recording: str) -> None:
    """``liveslice process`` killed mid-stage: running the same job again takes the abandoned stage over."""
    from datetime import timedelta

    from pipeline.advance import advance
    from store.models import utcnow

    job_id = start(settings, recording, leaders=[])
    (probe_id,) = advance(settings, job_id)
    with session_scope(settings.database_url) as session:
        probe = session.get(Job, probe_id)
        assert probe is not None
        probe.status, probe.attempts, probe.celery_task_id = "running", 1, "local"
        probe.heartbeat_at = probe.started_at = utcnow() - timedelta(minutes=10)
    assert run_pipeline(settings, job_id) == "succeeded"
    stages = {s["key"]: s for s in view(settings, job_id)["stages"]}
    assert stages["probe"]["attempts"] == 2 and stages["probe"]["status"] == "succeeded"
