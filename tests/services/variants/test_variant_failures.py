"""A variant render that fails for a lasting reason is not started again on every request, and a
fast-mode clip never starts one: both answer :class:`VariantImpossible` with the reason.

Rows only: the clip's base file is not stored, so the real variant job body fails (the file is missing),
as a worker's would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from pipeline.variant_rendering import run_variant_job
from runtime.config import Settings
from services.errors import Conflict
from services.variants import VariantImpossible, ensure_variant, variant_state
from store.db import get_sessionmaker, session_scope
from store.models import Clip, Job, Leader, Recording
from tests.conftest import make_settings
from tests.support.variants import give_clip


def _world(settings: Settings, *, mode: str = "accurate") -> str:
    with session_scope(settings.database_url) as session:
        recording = Recording(title="t", source="upload", original_filename="t.mp4", status="ready", duration=60.0)
        session.add_all([recording, Leader(id="ann", name="Ann")])
        session.flush()
        clip = Clip(recording_id=recording.id, preset="douyin", start=0, end=10, status="ready", options={}, mode=mode)
        clip.video_key = "clips/x/clip.mp4"  # never stored: the render fails for good
        session.add(clip)
        session.flush()
        give_clip(settings, session, clip.id, ["ann"])
        return clip.id


class Worker:
    """A ``send`` that runs the job's real body at once, in this thread."""

    def __init__(self) -> None:
        self.jobs: list[str] = []

    def __call__(self, settings: Settings, job_id: str) -> bool:
        self.jobs.append(job_id)
        run_variant_job(settings, job_id)
        return True


def _ensure(settings: Settings, clip_id: str, send: Worker) -> bool:
    session = get_sessionmaker(settings.database_url)()
    try:
        return ensure_variant(settings, session, clip_id=clip_id, leader_id="ann", send=send)
    finally:
        session.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))


def test_a_lasting_failure_is_not_rendered_again_until_the_clip_changes(any_db: Settings) -> None:
    settings = any_db
    clip_id, worker = _world(settings), Worker()
    assert _ensure(settings, clip_id, worker) is False
    (first,) = worker.jobs
    with session_scope(settings.database_url) as session:
        job = session.get(Job, first)
        assert job is not None and job.status == "failed" and (job.result or {}).get("code")
        with pytest.raises(VariantImpossible) as raised:
            variant_state(session, clip_id=clip_id, leader_id="ann")
    assert "failed" in str(raised.value) and "clips/x/clip.mp4" in str(raised.value)
    for _ in range(3):  # the portal, /api/me/clips, a publication...: none starts another job
        with pytest.raises(VariantImpossible) as again:
            _ensure(settings, clip_id, worker)
        assert isinstance(again.value, Conflict) and again.value.code == "variant_impossible"
    assert worker.jobs == [first]
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(Job).where(Job.kind == "variant")).all()) == 1
        clip = session.get(Clip, clip_id)
        assert clip is not None
        clip.title = "re-approved"  # the clip changed: worth one more try
    assert _ensure(settings, clip_id, worker) is False and len(worker.jobs) == 2  # a new try
    with pytest.raises(VariantImpossible):
        _ensure(settings, clip_id, worker)  # it failed the same way, and sticks again
    assert len(worker.jobs) == 2


def test_a_fast_mode_clip_starts_no_variant_render(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    clip_id, worker = _world(settings, mode="fast"), Worker()
    with pytest.raises(VariantImpossible, match="fast-mode"):
        _ensure(settings, clip_id, worker)
    assert worker.jobs == []
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(Job)).all() == []
