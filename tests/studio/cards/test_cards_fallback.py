"""Characters outside the bundled GB2312 subset are drawn by the fallback font, not as boxes (issue 9)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from studio.cards import CardTheme
from studio.cards.text import draw_text, font_for, missing_glyphs, text_width
from studio.fonts import BUNDLED_FONT, find_fallback_font

RARE = "堃"  # a name character outside GB2312
THEME = CardTheme(font=BUNDLED_FONT)


def _drawn(text: str, font: ImageFont.FreeTypeFont) -> np.ndarray:
    image = Image.new("L", (400, 120), 0)
    draw_text(ImageDraw.Draw(image), (10, 90), text, font=font, fill=255, anchor="ls")
    return np.asarray(image)


def test_rare_character_is_missing_from_the_subset_but_drawn_with_the_fallback() -> None:
    font = THEME.font_at(64)
    assert missing_glyphs(f"王{RARE}牌 Cream", BUNDLED_FONT) == [RARE]
    fallback = find_fallback_font(BUNDLED_FONT)
    assert fallback is not None and not missing_glyphs(RARE, fallback.path, fallback.index)
    chosen = font_for(f"王{RARE}牌", font)
    assert chosen.path == str(fallback.path) and chosen.size == font.size
    assert font_for("王牌", font) is font  # covered text keeps the primary font
    box = _drawn("\U0010fffd", font)
    drawn = _drawn(RARE, font)
    assert drawn.any() and not np.array_equal(drawn, box), "the rare character is a tofu box"
    plain = Image.new("L", (400, 120), 0)
    ImageDraw.Draw(plain).text((10, 90), RARE, font=font, fill=255, anchor="ls")
    assert np.array_equal(np.asarray(plain), box)  # what Pillow alone draws: the box
    assert text_width(f"王{RARE}牌", font) == pytest.approx(3 * 64, abs=2)  # measured with the fallback too


def test_a_character_no_font_has_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    font = THEME.font_at(40)
    with caplog.at_level(logging.WARNING, logger="studio.cards.text"):
        assert font_for("好物\U0001f9f4", font) is font
    assert any("\U0001f9f4" in record.getMessage() for record in caplog.records)
