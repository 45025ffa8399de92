"""Variants that cannot be made answer with the reason instead of 503-retry forever: a render that failed
for a lasting reason gives 409 (and starts nothing more), and a fast-mode clip cannot be given to leaders
at approval (422, saying why).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

import api.routers.clip_media as clip_media
from api.main import create_app
from pipeline.variant_rendering import run_variant_job
from runtime.config import Settings
from store import leaders as leader_store
from store.db import session_scope
from store.models import Clip, ClipVariant, Job, Leader, Recording
from tests.support.variants import give_clip


def _clip(settings: Settings, *, mode: str = "accurate", give: bool = True) -> str:
    """A ready clip row whose base file is not stored (its variant's render fails for good)."""
    with session_scope(settings.database_url) as session:
        recording = Recording(title="t", source="upload", original_filename="t.mp4", status="ready", duration=60.0)
        session.add(recording)
        if session.get(Leader, "ann") is None:
            leader_store.create_leader(session, name="Ann", leader_id="ann")
        session.flush()
        clip = Clip(recording_id=recording.id, preset="douyin", start=0, end=10, status="ready", options={}, mode=mode)
        clip.video_key = "clips/x/clip.mp4"
        session.add(clip)
        session.flush()
        if give:
            give_clip(settings, session, clip.id, ["ann"])
        return clip.id


def test_a_variant_that_failed_for_good_answers_409_with_the_reason_and_starts_nothing_more(
    settings: Settings, make_key: Callable[..., str]
) -> None:
    clip_id = _clip(settings)
    ann = {"Authorization": f"Bearer {make_key('leader', 'ann')}"}
    sent: list[str] = []

    def worker(settings: Settings, job_id: str) -> bool:
        sent.append(job_id)
        run_variant_job(settings, job_id)  # the worker runs it at once: it fails (the base is missing)
        return True

    app = create_app(settings)
    app.dependency_overrides[clip_media.variant_sender] = lambda: worker
    with TestClient(app) as client:
        answers = [client.get(f"/media/clips/{clip_id}/clip.ann.mp4", headers=ann) for _ in range(3)]
    assert [a.status_code for a in answers] == [409, 409, 409]
    detail = answers[-1].json()["detail"]
    assert detail["code"] == "variant_impossible" and "clips/x/clip.mp4" in detail["message"]
    assert "retry-after" not in answers[-1].headers
    assert len(sent) == 1  # one render, not one per request
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(Job).where(Job.kind == "variant")).all()) == 1


def test_a_fast_mode_clip_cannot_be_given_to_leaders(
    client: TestClient, settings: Settings, make_key: Callable[..., str]
) -> None:
    merchant = {"Authorization": f"Bearer {make_key('merchant')}"}
    clip_id = _clip(settings, mode="fast", give=False)
    body = {"title": "面霜", "caption": "今晚直播"}
    for leaders in ({"leader_ids": ["ann"]}, {}):  # named, or every active leader by default
        refused = client.post(f"/api/clips/{clip_id}/approve", json={**body, **leaders}, headers=merchant)
        assert refused.status_code == 422
        detail = refused.json()["detail"]
        assert detail["code"] == "invalid_review" and "fast-mode" in detail["message"]
        assert '"leader_ids": []' in detail["message"]
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.review_status != "approved"  # nothing changed
        assert session.scalars(select(ClipVariant)).all() == []
    approved = client.post(f"/api/clips/{clip_id}/approve", json={**body, "leader_ids": []}, headers=merchant)
    assert approved.status_code == 200 and approved.json()["leaders"] == []
