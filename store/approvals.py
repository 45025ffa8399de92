"""Approved clips and whom they are given to: a leader is given a clip by a variant row for them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.models import Clip, ClipVariant

APPROVED = "approved"


def clips_for_leader(session: Session, leader_id: str) -> list[tuple[Clip, ClipVariant]]:
    """The approved, ready clips given to ``leader_id``, with the leader's variant, newest approval first."""
    rows = session.execute(
        select(Clip, ClipVariant)
        .join(ClipVariant, ClipVariant.clip_id == Clip.id)
        .where(ClipVariant.leader_id == leader_id, Clip.review_status == APPROVED, Clip.status == "ready")
        .order_by(Clip.approved_at.desc(), Clip.id)
    ).all()
    return [(clip, variant) for clip, variant in rows]
