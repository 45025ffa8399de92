"""A leader's variant of a clip, rendered on first request (placeholder: the lazy-variants work replaces it)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from runtime.config import Settings

Send = Callable[[Settings, str], bool]


def ensure_variant(settings: Settings, session: Session, *, clip_id: str, leader_id: str, send: Send) -> bool:
    """True when the leader's variant video and poster are stored; False when a render was started (or is
    running) for them: the caller tries again later. Never renders the same variant twice at once."""
    raise NotImplementedError("lazy variant rendering lands with the lazy-variants change")
