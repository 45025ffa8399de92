"""Lazy-variant test helpers: giving a clip to leaders as approval does, and a ``send`` that runs each
variant job's real body in a thread (a worker picking the message up)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy.orm import Session

from pipeline.variant_rendering import run_variant_job
from runtime.config import Settings
from services import review
from store.models import Clip, Leader


def give_clip(settings: Settings, session: Session, clip_id: str, leader_ids: Sequence[str]) -> list[str]:
    """Give the clip to ``leader_ids`` through the approval's own grant (:func:`services.review.give`): a
    variant row each, no files yet. Returns the leaders newly given it."""
    clip = session.get(Clip, clip_id)
    assert clip is not None, clip_id
    leaders = [session.get(Leader, leader_id) for leader_id in leader_ids]
    assert all(leaders), leader_ids
    return review.give(settings, session, clip, [leader for leader in leaders if leader is not None])


class Worker:
    """A ``send`` that runs each job's real body in a thread (a worker picking the message up)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, settings: Settings, job_id: str) -> bool:
        self.sent.append(job_id)
        thread = threading.Thread(target=run_variant_job, args=(settings, job_id))
        thread.start()
        self.threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=120)
