"""Giving a clip to leaders: one variant row per leader, with no files yet (they render on first request)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from store.errors import ClipNotFound, LeaderNotFound
from store.models import Clip, ClipVariant, Leader, new_id, utcnow


def give_clip(session: Session, clip_id: str, leader_ids: Sequence[str]) -> list[str]:
    """Give the clip to ``leader_ids``: a variant row (no video, no poster, no job) for each leader who has
    none yet, inserted in one statement; flushed, not committed. Returns the ids of the new rows.

    Nothing is rendered: 500 leaders cost 500 small rows. Raises ClipNotFound / LeaderNotFound.
    """
    if session.get(Clip, clip_id) is None:
        raise ClipNotFound(f"no clip {clip_id!r}")
    wanted = list(dict.fromkeys(leader_ids))
    names = {row.id: row.name for row in session.execute(select(Leader.id, Leader.name).where(Leader.id.in_(wanted)))}
    unknown = [leader for leader in wanted if leader not in names]
    if unknown:
        raise LeaderNotFound(f"no leader {', '.join(repr(u) for u in unknown[:5])}")
    have = set(session.scalars(select(ClipVariant.leader_id).where(ClipVariant.clip_id == clip_id)))
    now = utcnow()
    rows: list[dict[str, object]] = [
        {
            "id": new_id(),
            "clip_id": clip_id,
            "leader_id": leader,
            "leader_name": names[leader],
            "created_at": now,
            "updated_at": now,
        }
        for leader in wanted
        if leader not in have
    ]
    if rows:
        session.execute(insert(ClipVariant), rows)
        session.flush()
    return [str(row["id"]) for row in rows]
