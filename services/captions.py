"""Captions for publications: a channel's template (the merchant's, else the adapter's default) rendered
with the clip's review text, product, price, coupon, share URL, leader and hashtags, fitted to the
channel's limit in its own unit. (Minimal version: the review issue's work replaces the body.)"""

from __future__ import annotations

from sqlalchemy.orm import Session

from distribution.channels.base import get_adapter
from store.models import Clip, Leader


def caption_for(session: Session, *, clip: Clip, channel: str, share_url: str, leader: Leader | None) -> str:
    """The caption to send for ``clip`` on ``channel``; raises ``distribution.errors.CaptionTooLong``."""
    adapter = get_adapter(channel)
    hashtags = " ".join(f"#{tag}" for tag in clip.hashtags or [])
    text = "\n".join(part for part in (clip.title or "", clip.caption or "", hashtags, share_url) if part)
    limit = adapter.caption_limit
    if not limit.fits(text):
        from distribution.errors import CaptionTooLong

        raise CaptionTooLong(f"{channel}: caption is {limit.measure(text)} {limit.unit}, over {limit.limit}")
    return text
