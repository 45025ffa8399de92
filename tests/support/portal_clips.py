"""Approved clips given to leaders, with real files in storage, for the portal's tests and screenshots.

Rows are written directly (recording, clip, the leader's variant) and the files put in the configured
storage, so the portal works without rendering anything.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from runtime.config import Settings
from services.storage import get_storage
from store import db
from store import leaders as leader_store
from store.models import Clip, ClipVariant, Leader, Recording, utcnow
from studio.fonts import find_cjk_font


@dataclass(frozen=True)
class GivenClip:
    clip_id: str
    leader_id: str
    video_key: str
    poster_key: str


@dataclass(frozen=True)
class TwoLeaders:
    """Ann's and Bo's clips: each leader is given one, never the other's."""

    ann: GivenClip
    bo: GivenClip


def picture(color: tuple[int, int, int], size: tuple[int, int], label: str, fmt: str) -> bytes:
    """A plain image with a label (PNG or JPEG bytes)."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    draw.rectangle((12, 12, size[0] - 12, size[1] - 12), outline=(255, 255, 255), width=4)
    choice = find_cjk_font()
    font = ImageFont.truetype(str(choice.path), size=size[0] // 14, index=choice.index)
    draw.multiline_text(
        (size[0] // 2, size[1] // 2), label, fill=(255, 255, 255), font=font, anchor="mm", align="center"
    )
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def ensure_leader(settings: Settings, leader_id: str, name: str) -> None:
    with db.session_scope(settings.database_url) as session:
        if session.get(Leader, leader_id) is None:
            leader_store.create_leader(session, name=name, leader_id=leader_id)


def give_clip(
    settings: Settings,
    *,
    leader_id: str,
    video: Path,
    title: str,
    caption: str,
    hashtags: Sequence[str] = (),
    product: dict[str, object] | None = None,
    color: tuple[int, int, int] = (220, 60, 60),
) -> GivenClip:
    """An approved, ready clip given to ``leader_id`` (who must exist) with their variant and poster stored."""
    storage = get_storage(settings)
    with db.session_scope(settings.database_url) as session:
        recording = Recording(title="直播回放", source="demo", original_filename="live.mp4", status="ready")
        session.add(recording)
        session.flush()
        clip = Clip(
            recording_id=recording.id,
            preset="douyin",
            start=0.0,
            end=2.0,
            status="ready",
            review_status="approved",
            approved_at=utcnow(),
            title=title,
            caption=caption,
            hashtags=list(hashtags),
            product=product,
        )
        session.add(clip)
        session.flush()
        prefix = f"clips/{clip.id}"
        clip.video_key, clip.cover_key, clip.poster_key = (
            f"{prefix}/clip.mp4",
            f"{prefix}/cover.jpg",
            f"{prefix}/poster.png",
        )
        video_key, poster_key = f"{prefix}/clip.{leader_id}.mp4", f"{prefix}/poster.{leader_id}.png"
        leader = session.get(Leader, leader_id)
        assert leader is not None, f"no leader {leader_id}"
        session.add(
            ClipVariant(
                clip_id=clip.id,
                leader_id=leader_id,
                leader_name=leader.name,
                video_key=video_key,
                poster_key=poster_key,
                size_bytes=video.stat().st_size,
            )
        )
        clip_id, leader_name = clip.id, leader.name
    data = video.read_bytes()
    storage.write_bytes(f"{prefix}/clip.mp4", data)
    storage.write_bytes(video_key, data)
    storage.write_bytes(f"{prefix}/cover.jpg", picture(color, (480, 360), title, "JPEG"))
    storage.write_bytes(f"{prefix}/poster.png", picture(color, (540, 960), title, "PNG"))
    storage.write_bytes(poster_key, picture(color, (540, 960), f"{title}\n{leader_name} 专属海报\n扫码购买", "PNG"))
    return GivenClip(clip_id=clip_id, leader_id=leader_id, video_key=video_key, poster_key=poster_key)
