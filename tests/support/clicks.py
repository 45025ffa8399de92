"""Share links and buffered clicks for the click-log tests."""

from __future__ import annotations

import secrets
import time
from typing import Any

from sqlalchemy import select

from runtime.config import Settings
from store import share_links
from store.db import session_scope
from store.models import Click, Clip, Recording

BUY = "https://shop.example.com/p/LS-0001?from=live"


def make_link(settings: Settings, *, target: str = BUY, product: dict[str, Any] | None = None) -> tuple[str, str]:
    """A clip with a share link to ``target``: ``(code, link id)``."""
    with session_scope(settings.database_url) as session:
        recording = Recording(title="live", source="path", original_filename="live.mp4", status="ready", duration=60.0)
        session.add(recording)
        session.flush()
        clip = Clip(recording_id=recording.id, preset="douyin", start=1.0, end=6.0, product=product)
        session.add(clip)
        session.flush()
        link = share_links.get_or_create_link(session, clip_id=clip.id, target_url=target)
        return link.code, link.id


def raw_click(
    link_id: str, *, ua: str = "Mozilla/5.0 (iPhone) Safari/604.1", ip: str = "198.51.100.7", **extra: Any
) -> dict[str, Any]:
    """A buffer line as ``/s/{code}`` writes it."""
    record = {
        "id": secrets.token_urlsafe(12),
        "link": link_id,
        "at": time.time(),
        "qr": False,
        "m": "GET",
        "ip": ip,
        "ua": ua,
    }
    record.update(extra)
    return record


def stored_clicks(settings: Settings) -> list[Click]:
    with session_scope(settings.database_url) as session:
        rows = list(session.scalars(select(Click).order_by(Click.at)))
        session.expunge_all()
        return rows
