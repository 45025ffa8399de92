"""Cover title band: opaque over busy frames (issue 9), with titles wrapped at word boundaries."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.cards import CardTheme, render_cover
from studio.cards import cover as cover_module
from studio.cards.theme import DEFAULT_THEME

ACCENT = (255, 45, 85)


def _busy_frame(size: tuple[int, int]) -> Image.Image:
    """Black and white stripes with the stream's own big white title across them."""
    width, height = size
    stripes = (np.indices((height, width))[1] // 12 % 2 * 255).astype(np.uint8)
    frame = Image.fromarray(stripes).convert("RGB")
    font = DEFAULT_THEME.font_at(120)
    draw = ImageDraw.Draw(frame)
    for y in range(0, height, 140):
        draw.text((20, y), "直播间标题 LIVE 直播间标题", font=font, fill=(255, 255, 255), stroke_width=4, stroke_fill=0)
    return frame


def test_cover_band_is_opaque_over_a_high_contrast_frame() -> None:
    size = (1080, 1920)
    theme = CardTheme(accent="#ff2d55cc")  # even a translucent accent gives an opaque band
    cover = render_cover(_busy_frame(size), title="保湿面霜 Hydrating Cream", size=size, theme=theme)
    if out := os.environ.get("LIVESLICE_CARD_OUT"):
        cover.save(Path(out) / "cover_band.png")
    pixels = np.asarray(cover).astype(int)
    band_rows = np.where((pixels[:, :40] == ACCENT).all(axis=(1, 2)))[0]
    assert len(band_rows) > 100, "no solid accent band at the left edge"
    top, bottom = band_rows.min(), band_rows.max()
    assert len(band_rows) == bottom - top + 1, "the band has holes"
    band = pixels[top : bottom + 1]
    # Every band pixel is the accent, the white ink, or an anti-aliased mix of the two: nothing of the
    # black stripes or of the stream's title shows through.
    accent, ink = np.array(ACCENT), np.array([17, 17, 17])  # readable_on(accent): near-black
    direction = ink - accent
    t = np.clip(((band - accent) @ direction) / (direction @ direction), 0, 1)
    off_segment = np.abs(band - (accent + t[..., None] * direction)).max(axis=-1)
    assert off_segment.max() <= 3
    assert ((band == ink).all(axis=-1)).sum() > 2000, "no title text on the band"
    # the columns left and right of the text are pure accent, top to bottom of the band
    assert (band[:, :60] == ACCENT).all() and (band[:, -60:] == ACCENT).all()


@pytest.mark.parametrize("size", [(360, 640), (540, 960), (720, 1280), (1080, 1920)])
def test_cover_title_wraps_between_words_in_balanced_lines(
    size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    drawn: list[str] = []
    real = cover_module.draw_text

    def spy(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, **kwargs: Any) -> None:
        drawn.append(text)
        real(draw, xy, text, **kwargs)

    monkeypatch.setattr(cover_module, "draw_text", spy)
    frame = Image.new("RGB", (720, 1280), (40, 90, 160))
    render_cover(frame, title="保湿面霜 Hydrating Cream", size=size)
    # "保湿面霜 Hydrating / Cream" (an orphan, the name torn apart) and "Hydrat / ing" are both wrong
    assert drawn in (["保湿面霜 Hydrating Cream"], ["保湿面霜", "Hydrating Cream"]), drawn
