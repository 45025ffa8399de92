"""Helpers for publishing tests: a ready, approved clip with stored files (no render), a webhook stand-in
target, and an in-process driver that runs due publications through the real publish job body."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from pipeline.publishing import reconcile_publications, run_publish_job
from runtime.config import Settings
from services.publishing import DUE_STATES
from services.storage import get_storage
from services.targets import create_target
from store.db import session_scope
from store.models import Clip, ClipVariant, Job, Leader, Publication, Recording, utcnow

BUY_URL = "https://shop.example.com/p/42"
FINAL = ("sent", "failed", "unknown", "cancelled")


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def make_clip(
    settings: Settings,
    *,
    approved: bool = True,
    leaders: Iterable[str] = (),
    title: str = "Silk scarf",
    caption: str = "Soft and light",
) -> str:
    """A ready clip with small stored files (video, cover, poster) and, per leader, a variant with files."""
    storage = get_storage(settings)
    with session_scope(settings.database_url) as session:
        recording = Recording(title="live", source="demo", original_filename="live.mp4", status="ready")
        session.add(recording)
        session.flush()
        clip = Clip(
            recording_id=recording.id,
            preset="douyin",
            start=0.0,
            end=2.0,
            status="ready",
            review_status="approved" if approved else "draft",
            title=title,
            caption=caption,
            hashtags=["scarf", "silk"],
            product={"name": "Scarf", "price": 9900, "buy_url": BUY_URL},
        )
        session.add(clip)
        session.flush()
        for name in ("video.mp4", "cover.jpg", "poster.jpg"):
            key = f"clips/{clip.id}/{name}"
            storage.write_bytes(key, f"{name} of {clip.id}".encode())
        clip.video_key, clip.cover_key, clip.poster_key = (
            f"clips/{clip.id}/video.mp4",
            f"clips/{clip.id}/cover.jpg",
            f"clips/{clip.id}/poster.jpg",
        )
        for leader_id in leaders:
            leader = session.get(Leader, leader_id)
            assert leader is not None, leader_id
            video, poster = f"clips/{clip.id}/v-{leader_id}.mp4", f"clips/{clip.id}/p-{leader_id}.jpg"
            storage.write_bytes(video, b"variant video")
            storage.write_bytes(poster, b"variant poster")
            session.add(
                ClipVariant(
                    clip_id=clip.id, leader_id=leader_id, leader_name=leader.name, video_key=video, poster_key=poster
                )
            )
        return clip.id


def make_webhook_target(settings: Settings, url: str, secret: str, *, leader_id: str | None = None) -> str:
    with session_scope(settings.database_url) as session:
        target = create_target(
            settings,
            session,
            channel="webhook",
            name="hook",
            config={"url": url, "secret": secret},
            leader_id=leader_id,
        )
        return target.id


def publication(settings: Settings, publication_id: str) -> Publication:
    with session_scope(settings.database_url) as session:
        row = session.get(Publication, publication_id)
        assert row is not None
        session.expunge(row)
        return row


def run_due(settings: Settings, *, request_timeout: float | None = None) -> list[str]:
    """One reconciler pass in process: start every due publication and run its publish job here."""
    jobs: list[str] = []

    def send(_settings: Settings, job_id: str, **_options: Any) -> bool:
        jobs.append(job_id)
        return True

    reconcile_publications(settings, send)
    with session_scope(settings.database_url) as session:  # jobs the API made but no broker carried
        jobs += session.scalars(
            select(Job.id)
            .join(Publication, Publication.job_id == Job.id)
            .where(Job.status == "queued", Publication.status.in_(DUE_STATES), Publication.due_at <= utcnow())
        ).all()
    for job_id in jobs:
        run_publish_job(settings, job_id, request_timeout=request_timeout)
    return jobs


def drain(settings: Settings, ids: Iterable[str], *, timeout: float = 60.0, **options: Any) -> dict[str, str]:
    """Run due publications until every one of ``ids`` is final (or ``timeout``); their statuses."""
    ids = list(ids)
    deadline = time.monotonic() + timeout
    while True:
        run_due(settings, **options)
        statuses = {i: publication(settings, i).status for i in ids}
        if all(s in FINAL for s in statuses.values()) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.1)
