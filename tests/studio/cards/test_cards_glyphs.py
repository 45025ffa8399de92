"""Chinese on cards is drawn with real glyphs, never tofu boxes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from PIL import ImageFont

from studio.cards import DEFAULT_THEME, CardContent, layout_product_card, render_product_card
from studio.cards.theme import HAS_RAQM
from studio.fonts import PACKAGE_FONT_FILE, has_cjk_glyphs

CHARS = "保湿面霜上链接"


def _bitmap(font: ImageFont.FreeTypeFont, text: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(text, mode="L")
    return mask.size, bytes(mask)


def test_card_font_draws_distinct_cjk_glyphs_unlike_notdef() -> None:
    choice = DEFAULT_THEME.font_choice()
    assert has_cjk_glyphs(choice.path, CHARS, index=choice.index)
    font = DEFAULT_THEME.font_at(64)
    notdef = {_bitmap(font, "\ue000"), _bitmap(font, "\U0010fffd")}
    bitmaps = [_bitmap(font, ch) for ch in CHARS]
    for ch, bitmap in zip(CHARS, bitmaps, strict=True):
        assert bitmap not in notdef, f"{ch} renders as the missing-glyph box"
        assert any(bitmap[1]), f"{ch} renders nothing"
    assert len(set(bitmaps)) == len(CHARS), "distinct characters rendered to the same bitmap"


def test_product_card_name_pixels_are_real_glyphs_not_boxes() -> None:
    """The name area of a card drawn with Chinese differs from one drawn with codepoints the font lacks,
    and two different Chinese names draw different pixels."""

    def name_area(name: str) -> np.ndarray:
        content = CardContent(name=name, price=Decimal("89"), cta="")
        layout = layout_product_card(content, width=800)
        card = np.asarray(render_product_card(content, width=800))
        (x, baseline) = layout.name_origins[0]
        return card[baseline - layout.name_size : baseline + 8, x : layout.text_right, :3].astype(int)

    real = name_area("保湿面霜")
    other = name_area("上链接了")
    tofu = name_area("\ue000\ue001\ue002\ue003")
    assert np.abs(real - tofu).sum() > 0
    assert np.abs(real - other).sum() > 0
    assert (real < 100).any(), "no dark text pixels in the name area"


@pytest.mark.needs(HAS_RAQM, "Pillow without libraqm cannot select glyph forms by language")
def test_cards_prefer_simplified_glyph_forms() -> None:
    font = DEFAULT_THEME.font_at(64)
    assert DEFAULT_THEME.text_language == "zh-Hans"
    simplified = bytes(font.getmask("骨", language="zh-Hans"))
    assert bytes(font.getmask("骨", language=DEFAULT_THEME.text_language)) == simplified
    if DEFAULT_THEME.font_choice().path.name == PACKAGE_FONT_FILE:  # a TC font: default forms are Traditional
        assert bytes(font.getmask("骨")) != simplified
