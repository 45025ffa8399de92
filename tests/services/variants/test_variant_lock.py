"""The render lock of a leader's variant: racing first requests make one job, on SQLite and PostgreSQL.

No media here: the rows alone (a ready clip whose files the lock never reads).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from runtime.config import Settings
from services.variants import VariantNotFound, VariantPending, ensure_variant, variant_state
from store.db import get_sessionmaker, session_scope
from store.models import Clip, ClipVariant, Job, Leader, Recording
from tests.conftest import make_settings
from tests.support.variants import give_clip

RACERS = 4


def _world(settings: Settings, *, status: str = "ready") -> str:
    with session_scope(settings.database_url) as session:
        recording = Recording(title="t", source="upload", original_filename="t.mp4", status="ready", duration=60.0)
        session.add(recording)
        session.add(Leader(id="ann", name="Ann"))
        session.flush()
        clip = Clip(
            recording_id=recording.id, preset="douyin", start=0, end=10, status=status, options={}, mode="accurate"
        )
        clip.video_key = "clips/x/clip.mp4"
        session.add(clip)
        session.flush()
        give_clip(settings, session, clip.id, ["ann"])
        return clip.id


class Sends:
    def __init__(self) -> None:
        self.jobs: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, _settings: Settings, job_id: str) -> bool:
        with self.lock:
            self.jobs.append(job_id)
        return True


def _race(settings: Settings, clip_id: str, sends: Sends) -> list[bool]:
    barrier, results = threading.Barrier(RACERS), []

    def one() -> None:
        session = get_sessionmaker(settings.database_url)()
        try:
            barrier.wait()
            results.append(ensure_variant(settings, session, clip_id=clip_id, leader_id="ann", send=sends))
        finally:
            session.close()

    threads = [threading.Thread(target=one) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _jobs(settings: Settings) -> list[Job]:
    with session_scope(settings.database_url) as session:
        jobs = list(session.scalars(select(Job).where(Job.kind == "variant")))
        session.expunge_all()
        return jobs


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return make_settings(tmp_path)
    return make_settings(tmp_path, database_url=request.getfixturevalue("postgres_url"))


def test_racing_first_requests_make_exactly_one_job(any_db: Settings) -> None:
    clip_id, sends = _world(any_db), Sends()
    assert _race(any_db, clip_id, sends) == [False] * RACERS
    (job,) = _jobs(any_db)
    assert sends.jobs == [job.id] and job.status == "queued"
    assert job.options["leader_id"] == "ann" and job.options["clip_id"] == clip_id
    with session_scope(any_db.database_url) as session:
        variant = session.scalars(select(ClipVariant)).one()
        assert variant.job_id == job.id and job.options["variant_id"] == variant.id
        assert variant_state(session, clip_id=clip_id, leader_id="ann") == "pending"
    # while it is queued (or running) more requests start nothing
    assert _race(any_db, clip_id, sends) == [False] * RACERS and len(_jobs(any_db)) == 1


def test_a_failed_render_is_tried_again_once_and_a_rendered_variant_is_never_rendered(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    clip_id, sends = _world(settings), Sends()
    session = get_sessionmaker(settings.database_url)()
    try:
        assert ensure_variant(settings, session, clip_id=clip_id, leader_id="ann", send=sends) is False
        first = session.get(Job, sends.jobs[0])
        assert first is not None
        first.status = "failed"
        session.commit()
        assert variant_state(session, clip_id=clip_id, leader_id="ann") == "failed"
    finally:
        session.close()
    assert _race(settings, clip_id, sends) == [False] * RACERS
    assert len(sends.jobs) == 2 and len(_jobs(settings)) == 2  # one new attempt, however many asked
    with session_scope(settings.database_url) as session:
        variant = session.scalars(select(ClipVariant)).one()
        assert variant.job_id == sends.jobs[1]
        variant.video_key = "clips/x/clip.ann.mp4"  # rendered (the clip has no product: no poster to make)
    assert _race(settings, clip_id, sends) == [True] * RACERS and len(sends.jobs) == 2


def test_a_clip_not_ready_or_not_given_starts_nothing(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    clip_id, sends = _world(settings, status="rendering"), Sends()
    session = get_sessionmaker(settings.database_url)()
    try:
        with pytest.raises(VariantPending):
            ensure_variant(settings, session, clip_id=clip_id, leader_id="ann", send=sends)
        with pytest.raises(VariantNotFound):
            ensure_variant(settings, session, clip_id=clip_id, leader_id="bob", send=sends)
        assert session.scalar(select(func.count()).select_from(Job)) == 0 and sends.jobs == []
    finally:
        session.close()
