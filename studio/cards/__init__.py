"""Pillow-drawn images for clips: QR share codes, product cards, end cards, covers and share posters.

Everything here is pure media domain (no database, no web). Chinese text is drawn with the CJK font
found by :func:`studio.fonts.find_cjk_font` (or the theme's font), never with a tofu fallback.

Names are re-exported lazily (:mod:`studio.lazy`), so the light modules (``content``, ``theme``) load without Pillow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.lazy import lazy_exports

if TYPE_CHECKING:
    from studio.cards.content import CardContent, format_price
    from studio.cards.cover import choose_cover_time, fit_cover, pick_cover_frame, render_cover, score_frame
    from studio.cards.endcard import flat_background, render_end_card
    from studio.cards.io import save_image_atomic
    from studio.cards.poster import POSTER_SIZE, render_poster
    from studio.cards.product_card import CardLayout, layout_product_card, load_product_image, render_product_card
    from studio.cards.qr import qr_image, qr_modules
    from studio.cards.text import wrap_text
    from studio.cards.theme import DEFAULT_THEME, CardTheme, contrast_ratio, parse_colour, theme_from_mapping
    from studio.errors import CardError

__all__ = [
    "DEFAULT_THEME",
    "POSTER_SIZE",
    "CardContent",
    "CardError",
    "CardLayout",
    "CardTheme",
    "choose_cover_time",
    "contrast_ratio",
    "fit_cover",
    "flat_background",
    "format_price",
    "layout_product_card",
    "load_product_image",
    "parse_colour",
    "pick_cover_frame",
    "qr_image",
    "qr_modules",
    "render_cover",
    "render_end_card",
    "render_poster",
    "render_product_card",
    "save_image_atomic",
    "score_frame",
    "theme_from_mapping",
    "wrap_text",
]

#: Each submodule and the names it defines that are re-exported here.
_SOURCES = {
    "studio.cards.cover": "choose_cover_time fit_cover pick_cover_frame render_cover score_frame",
    "studio.cards.endcard": "flat_background render_end_card",
    "studio.cards.io": "save_image_atomic",
    "studio.cards.poster": "POSTER_SIZE render_poster",
    "studio.cards.content": "CardContent format_price",
    "studio.cards.product_card": "CardLayout layout_product_card load_product_image render_product_card",
    "studio.cards.qr": "qr_image qr_modules",
    "studio.cards.text": "wrap_text",
    "studio.cards.theme": "DEFAULT_THEME CardTheme contrast_ratio parse_colour theme_from_mapping",
    "studio.errors": "CardError",
}
__getattr__, __dir__ = lazy_exports(__name__, _SOURCES)
