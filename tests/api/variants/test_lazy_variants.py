"""Leader variants render on first request, once, and are served from the cache afterwards.

One real tiny clip for the module (douyin's end-card layout at 270x480, rendered without leaders, so its
base ends on the clip's own QR and the variants build on a plain base). The variant job runs its real
body (:func:`pipeline.variant_rendering.run_variant_job`) in a thread, as a worker would.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import api.routers.clip_media as clip_media
import studio.clip.leader as leader_module
from api.main import create_app
from runtime.config import Settings
from services.clips import render_recording_clip
from services.storage import get_storage
from store import keys as key_store
from store import leaders as leader_store
from store.db import get_sessionmaker, session_scope
from store.models import ClipVariant, Job, Leader
from studio.probe import probe
from tests.conftest import make_settings
from tests.services.clips.clip_media import SMALL, frame, make_source, qr_texts, register_presets, store_recording
from tests.support.variants import Worker, give_clip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Settings, a ready clip (base, cover, poster; no leaders at render time) and its plain base duration."""
    root = tmp_path_factory.mktemp("lazy-variants")
    with pytest.MonkeyPatch.context() as patch:
        register_presets(patch)
        settings = make_settings(root)
        recording_id = store_recording(settings, make_source(root / "live.mp4"))
        session = get_sessionmaker(settings.database_url)()
        try:
            clip = render_recording_clip(
                settings, session, recording_id=recording_id, start=0.5, end=2.5, preset=SMALL.name
            )
            assert clip.status == "ready" and clip.product is not None
            yield {"settings": settings, "clip_id": clip.id, "duration": clip.duration}
        finally:
            session.close()


@pytest.fixture
def settings(world: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    register_presets(monkeypatch)
    return world["settings"]


def _client(settings: Settings, send: Callable[[Settings, str], bool]) -> TestClient:
    app = create_app(settings)
    app.dependency_overrides[clip_media.variant_sender] = lambda: send
    return TestClient(app)


def _leader_key(settings: Settings, clip_id: str, leader_id: str, name: str) -> dict[str, str]:
    """A leader given the clip (as approval does: a variant row, no files), and the leader's key header."""
    with session_scope(settings.database_url) as session:
        if session.get(Leader, leader_id) is None:
            leader_store.create_leader(session, name=name, leader_id=leader_id)
        give_clip(settings, session, clip_id, [leader_id])
        secret = key_store.create_key(session, name=f"{leader_id}-key", role="leader", leader_id=leader_id).secret
    return {"Authorization": f"Bearer {secret}"}


def _variant_jobs(settings: Settings, leader_id: str) -> list[Job]:
    with session_scope(settings.database_url) as session:
        jobs = [
            j for j in session.scalars(select(Job).where(Job.kind == "variant")) if j.options["leader_id"] == leader_id
        ]
        session.expunge_all()
        return jobs


def _variant(settings: Settings, clip_id: str, leader_id: str) -> ClipVariant:
    with session_scope(settings.database_url) as session:
        row = session.scalars(
            select(ClipVariant).where(ClipVariant.clip_id == clip_id, ClipVariant.leader_id == leader_id)
        ).one()
        session.expunge(row)
        return row


def test_the_first_get_renders_the_variant_and_the_second_serves_the_cached_file(
    settings: Settings, world: dict[str, Any], tmp_path: Path
) -> None:
    clip_id, worker = world["clip_id"], Worker()
    ann = _leader_key(settings, clip_id, "ann", "Ann 安")
    with _client(settings, worker) as client:
        listed = client.get(f"/api/clips/{clip_id}", headers=ann).json()
        (entry,) = listed["variants"]
        assert entry["rendered"] is False and entry["video"] == f"/media/clips/{clip_id}/clip.ann.mp4"
        assert entry["poster"] == f"/media/clips/{clip_id}/poster.ann.png"
        assert _variant_jobs(settings, "ann") == []  # listing renders nothing

        first = client.get(entry["video"], headers=ann)
        assert first.status_code == 200, first.text
        assert first.headers["content-type"] == "video/mp4"
        poster = client.get(entry["poster"], headers=ann)
        assert poster.status_code == 200 and poster.headers["content-type"] == "image/png"
        second = client.get(entry["video"], headers=ann)
        head = client.head(entry["video"], headers=ann)
        worker.join()
    assert second.status_code == 200 and second.content == first.content
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(first.content)
    (job,) = _variant_jobs(settings, "ann")  # one render for three requests
    assert job.status == "succeeded" and job.attempts == 1 and worker.sent == [job.id]
    variant = _variant(settings, clip_id, "ann")
    assert variant.job_id == job.id and variant.video_key == f"clips/{clip_id}/clip.ann.mp4"
    assert variant.poster_key == f"clips/{clip_id}/poster.ann.png" and variant.size_bytes == len(first.content)
    video = get_storage(settings).local_path(variant.video_key)
    assert video.read_bytes() == first.content
    # the plain base (no QR of the clip's own) + a 3 s end card with Ann's QR, and Ann's QR on her poster
    plain = get_storage(settings).local_path(f"clips/{clip_id}/plain.mp4")
    assert probe(video).duration == pytest.approx((probe(plain).duration or 0) + 3.0, abs=0.1)
    assert qr_texts(frame(video, (probe(video).duration or 0) - 1.0, tmp_path)) == [variant.share_url]
    assert qr_texts(frame(video, 0.5, tmp_path)) == []  # the clip's own QR is not in a leader's copy
    assert qr_texts(get_storage(settings).local_path(variant.poster_key)) == [variant.share_url]
    assert variant.share_url and variant.share_url.startswith(f"{settings.public_base_url}/s/")


def test_two_concurrent_requests_render_the_variant_once(
    settings: Settings, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clip_id, worker = world["clip_id"], Worker()
    bea = _leader_key(settings, clip_id, "bea", "Bea")
    renders: list[Path] = []
    real = leader_module.leader_video

    def counted(base: Path, output: Path, **kwargs: Any) -> Path:
        renders.append(output)
        return real(base, output, **kwargs)

    monkeypatch.setattr(leader_module, "leader_video", counted)
    url = f"/media/clips/{clip_id}/clip.bea.mp4"
    answers: list[int] = []
    start = threading.Barrier(2)
    with _client(settings, worker) as client:

        def ask() -> None:
            start.wait()
            answers.append(client.get(url, headers=bea).status_code)

        askers = [threading.Thread(target=ask) for _ in range(2)]
        for thread in askers:
            thread.start()
        for thread in askers:
            thread.join(timeout=120)
        worker.join()
    assert answers == [200, 200]
    assert len(_variant_jobs(settings, "bea")) == 1 and len(worker.sent) == 1
    assert [p.name for p in renders] == ["clip.bea.mp4"]  # ffmpeg made Bea's variant once


def test_a_leader_key_triggers_only_its_own_variant(settings: Settings, world: dict[str, Any]) -> None:
    clip_id, worker = world["clip_id"], Worker()
    cai = _leader_key(settings, clip_id, "cai", "Cai")
    _leader_key(settings, clip_id, "dee", "Dee")
    with _client(settings, worker) as client:
        for name in ("clip.dee.mp4", "poster.dee.png", "clip.nobody.mp4"):
            assert client.get(f"/media/clips/{clip_id}/{name}", headers=cai).status_code == 404
        assert [v["leader_id"] for v in client.get(f"/api/clips/{clip_id}", headers=cai).json()["variants"]] == ["cai"]
    assert worker.sent == [] and _variant_jobs(settings, "dee") == []


def test_a_slow_render_answers_503_with_retry_after_and_a_failed_one_is_tried_again(
    settings: Settings, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clip_id = world["clip_id"]
    eve = _leader_key(settings, clip_id, "eve", "Eve")
    monkeypatch.setattr(clip_media, "VARIANT_WAIT_SECONDS", 0.3)
    held: list[str] = []

    def no_worker(_settings: Settings, job_id: str) -> bool:
        held.append(job_id)  # the broker took it; no worker picks it up yet
        return True

    url = f"/media/clips/{clip_id}/clip.eve.mp4"
    with _client(settings, no_worker) as client:
        waiting = client.get(url, headers=eve)
        assert waiting.status_code == 503 and waiting.headers["retry-after"] == "5"
        assert waiting.json()["detail"]["code"] == "variant_pending"
        assert "being prepared" in waiting.json()["detail"]["message"]
        assert client.get(url, headers=eve).status_code == 503 and len(held) == 1  # still one job
        with session_scope(settings.database_url) as session:  # the job fails (e.g. the worker gave up)
            job = session.get(Job, held[0])
            assert job is not None
            job.status, job.error = "failed", "gave up"
        client.get(url, headers=eve)
        assert len(held) == 2 and held[1] != held[0]  # a new attempt on the next request
    assert _variant(settings, clip_id, "eve").job_id == held[1]


def test_giving_a_clip_to_500_leaders_renders_nothing(settings: Settings, world: dict[str, Any]) -> None:
    clip_id = world["clip_id"]
    before = set(get_storage(settings).list_keys(f"clips/{clip_id}/"))
    ids = [f"bulk-{n:03d}" for n in range(500)]
    with session_scope(settings.database_url) as session:
        session.add_all(Leader(id=leader_id, name=f"团长 {n}") for n, leader_id in enumerate(ids))
        session.flush()
        made = give_clip(settings, session, clip_id, ids)
        assert len(made) == 500 and give_clip(settings, session, clip_id, ids) == []  # giving again adds nothing
        merchant = key_store.create_key(session, name="merchant", role="merchant").secret
    with _client(settings, Worker()) as client:
        payload = client.get(f"/api/clips/{clip_id}", headers={"Authorization": f"Bearer {merchant}"}).json()
    bulk = [v for v in payload["variants"] if v["leader_id"].startswith("bulk-")]
    assert len(bulk) == 500 and not any(v["rendered"] for v in bulk)
    assert bulk[0]["video"] == f"/media/clips/{clip_id}/clip.{bulk[0]['leader_id']}.mp4"
    with session_scope(settings.database_url) as session:
        jobs = session.scalars(select(Job).where(Job.kind == "variant")).all()
        assert not [job for job in jobs if job.options["leader_id"] in ids]  # no job for any of them
        rendered = select(func.count()).select_from(ClipVariant).where(ClipVariant.video_key.is_not(None))
        assert session.scalar(rendered.where(ClipVariant.leader_id.in_(ids))) == 0
    after = set(get_storage(settings).list_keys(f"clips/{clip_id}/"))
    assert not [key for key in after - before if "bulk-" in key]  # no file for any of them
