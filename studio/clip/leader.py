"""One leader's files from a clip that is already rendered: the variant video and the poster.

The lazy counterpart of :func:`studio.clip.produce.produce_variants` and the leader posters of
:func:`studio.clip.produce.produce_covers`: the same end card (the leader's QR and name, the product
card) joined to the base by stream copy, and the same poster drawn over the stored cover. No database.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from studio.cards import CardContent, CardTheme, render_end_card, render_poster, save_image_atomic
from studio.clip.produce import END_CARD_SECONDS
from studio.clip.types import InvalidClipRequest, Leader
from studio.render import Preset
from studio.render.variants import render_variant


def _qr_url(leader: Leader) -> str:
    """The link on the leader's poster (a poster without one is not drawn)."""
    if not leader.share_url:
        raise InvalidClipRequest(f"leader {leader.name!r} has no share URL (and the product has no buy_url)")
    return leader.share_url


def leader_video(
    base: Path,
    output: Path,
    *,
    preset: Preset,
    leader: Leader,
    content: CardContent | None,
    theme: CardTheme,
    timeout: float | None = None,
) -> Path:
    """``base`` (stream copy) + the leader's end card, written atomically to ``output``. A leader with no
    share URL (the clip has no link at all) gets an end card without a QR: the product and their name."""
    size = (preset.width, preset.height)
    card = render_end_card(size=size, qr_url=leader.share_url or None, leader=leader.name, content=content, theme=theme)
    return render_variant(base, card, output, preset=preset, seconds=END_CARD_SECONDS, timeout=timeout)


def leader_poster(cover: Path, output: Path, *, leader: Leader, content: CardContent, theme: CardTheme) -> Path:
    """The leader's share poster over the clip's stored cover image, written atomically to ``output``."""
    with Image.open(cover) as opened:
        image = opened.convert("RGB")
    poster = render_poster(cover=image, content=content, qr_url=_qr_url(leader), leader=leader.name, theme=theme)
    return save_image_atomic(poster, output)
