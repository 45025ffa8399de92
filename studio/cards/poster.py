"""The share poster (分享海报) posted in groups next to the clip: cover, product card, QR, leader's name."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFilter

from studio.cards.cover import fit_cover
from studio.cards.endcard import flat_background
from studio.cards.product_card import CardContent, render_product_card
from studio.cards.qr import qr_image
from studio.cards.text import draw_text, wrap_text
from studio.cards.theme import DEFAULT_THEME, CardTheme
from studio.errors import CardError

__all__ = ["POSTER_SIZE", "render_poster"]

POSTER_SIZE = (1080, 1920)


def render_poster(
    *,
    cover: Image.Image,
    content: CardContent,
    qr_url: str,
    leader: str | None,
    theme: CardTheme = DEFAULT_THEME,
    size: tuple[int, int] = POSTER_SIZE,
    hint: str = "长按识别二维码",
    leader_format: str = "{name} 推荐",
    qr_fraction: float = 0.34,
    error: str = "q",
) -> Image.Image:
    """An RGB poster of ``size`` (1080x1920 by default; 1080x1440 works too).

    From the top: ``cover`` (cover-cropped to the room left), the product card (name, price, original
    price, coupon, CTA), then a row with the leader's line and ``hint`` on the left and the QR code
    for ``qr_url`` on the right. Raises :class:`CardError` when ``size`` cannot hold them.
    """
    width, height = size
    if width < 480 or height < 640:
        raise CardError(f"poster size {width}x{height} is too small (at least 480x640)")
    unit = width / 1080
    margin = round(48 * unit)
    lang = theme.text_language

    card = render_product_card(content, width=width - 2 * margin, theme=theme)
    qr_side = min(round(width * qr_fraction), round(height * 0.2))
    row_height = qr_side
    cover_height = height - card.height - row_height - 3 * margin
    if cover_height < height * 0.3:
        raise CardError(f"poster {width}x{height} leaves too little room for the cover; use a taller size")

    base = flat_background(theme)
    ink = theme.rgba("text")
    paper = tuple(round(b * 0.94 + t * 0.06) for b, t in zip(base, ink[:3], strict=True))
    poster = Image.new("RGB", size, paper)
    poster.paste(_cover_panel(cover, (width, cover_height), round(24 * unit)), (0, 0))
    card_top = cover_height + margin
    poster.paste(card, (margin, card_top), card)

    row_top = card_top + card.height + margin
    qr_left = width - margin - qr_side
    poster.paste(qr_image(qr_url, size=qr_side, error=error), (qr_left, row_top))
    draw = ImageDraw.Draw(poster)
    column = qr_left - 2 * margin
    lines: list[tuple[str, int, tuple[int, ...]]] = []
    if leader and leader.strip():
        lines.append((leader_format.format(name=" ".join(leader.split())), round(54 * unit), ink))
    if hint:
        lines.append((hint, round(44 * unit), theme.rgba("accent")))
    fitted = []
    for text, font_size, colour in lines:
        font = theme.font_at(font_size)
        wrapped = wrap_text(text, font, column, max_lines=2, language=lang)
        ascent, descent = font.getmetrics()
        fitted += [(line, font, colour, ascent, ascent + descent) for line in wrapped]
    total = sum(item[4] for item in fitted) + round(16 * unit) * max(0, len(lines) - 1)
    y = row_top + (row_height - total) // 2
    previous = None
    for line, font, colour, ascent, line_height in fitted:
        if previous is not None and font is not previous:
            y += round(16 * unit)
        draw_text(draw, (margin, y + ascent), line, font=font, fill=colour, anchor="ls", language=lang)
        y += line_height
        previous = font
    return poster


def _cover_panel(cover: Image.Image, size: tuple[int, int], radius: int) -> Image.Image:
    """``cover`` shown whole (its title band intact) over a blurred, darkened fill of itself."""
    width, height = size
    panel = fit_cover(cover, size).filter(ImageFilter.GaussianBlur(max(4, width // 40)))
    panel = Image.eval(panel, lambda v: v * 3 // 5)
    scale = min(width / cover.width, height / cover.height)
    shown = cover.convert("RGB").resize(
        (max(1, round(cover.width * scale)), max(1, round(cover.height * scale))), Image.Resampling.LANCZOS
    )
    mask = Image.new("L", shown.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, shown.width - 1, shown.height - 1), radius, fill=255)
    panel.paste(shown, ((width - shown.width) // 2, (height - shown.height) // 2), mask)
    return panel
