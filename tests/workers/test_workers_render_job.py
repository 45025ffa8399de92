"""Render jobs: sent to the ``render`` queue with the clip's id, and run by a real ``celery worker`` process."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from pipeline.rendering import new_render_job
from runtime.broker import EmbeddedBroker
from runtime.config import Settings
from services.clips import prepare_clip
from services.storage import get_storage
from store.db import get_sessionmaker, session_scope
from store.models import Clip
from studio.render import get_preset, validate_output
from tests.services.clips.clip_media import make_source, store_recording
from tests.workers.conftest import WorkerHandle, wait_for_job
from workers.dispatch import enqueue_job, task_for


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_source(tmp_path_factory.mktemp("render-job") / "live.mp4")


def _render_job(settings: Settings, recording_id: str, **options: object) -> tuple[str, str]:
    session = get_sessionmaker(settings.database_url)()
    try:
        clip = prepare_clip(settings, session, recording_id=recording_id, **options)  # type: ignore[arg-type]
        job = new_render_job(session, clip)
        session.commit()
        return clip.id, job.id
    finally:
        session.close()


def test_a_render_job_is_sent_to_the_render_queue_with_its_clip(
    settings: Settings, embedded_broker: EmbeddedBroker, source: Path
) -> None:
    assert task_for("render") == ("liveslice.render_clip", "render")
    rec_id = store_recording(settings, source)
    clip_id, job_id = _render_job(settings, rec_id, start=1.0, end=2.0)
    assert enqueue_job(settings, job_id)
    client = redis.Redis(unix_socket_path=str(embedded_broker.socket_path))
    assert client.llen("analysis") == 0 and client.llen("render") == 1
    message = json.loads(client.lindex("render", 0))  # type: ignore[arg-type]
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert message["headers"]["task"] == "liveslice.render_clip"
    assert args == [clip_id] and kwargs == {"job_id": job_id}
    assert not enqueue_job(settings, job_id)  # sent once


@pytest.mark.slow
def test_a_worker_process_renders_the_clip(
    settings: Settings,
    embedded_broker: EmbeddedBroker,
    run_worker_process: Callable[[Settings], WorkerHandle],
    source: Path,
) -> None:
    rec_id = store_recording(settings, source)
    clip_id, job_id = _render_job(settings, rec_id, start=1.0, end=2.0, captions=False)
    assert enqueue_job(settings, job_id)
    worker = run_worker_process(settings)
    job = wait_for_job(settings, job_id, timeout=120, log=worker.log)
    assert job.status == "succeeded" and job.attempts == 1, job.error
    assert job.result is not None and job.result["clip_id"] == clip_id
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None and clip.status == "ready" and clip.job_id == job_id
        video = get_storage(settings.media_root).local_path(clip.video_key or "")
    validate_output(video, preset=get_preset("douyin"), expected_duration=1.0 + 3.0)  # ends on the share QR card
    assert worker.process.stop() == 0
    assert b"liveslice.render_clip" in worker.log.read_bytes()
