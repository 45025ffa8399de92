"""The end card of a per-leader variant: a big QR code, "扫码购买", the leader's name, product and price.

With no link to encode (a clip whose product has no shop link) the card has no QR and no prompt: the
product and price, and the leader's name, centred.

Portrait and 3:4 cards stack product, QR, prompt and leader; square and landscape cards put the QR on
the left and the text on the right. The QR is black on white with whole-pixel modules and spans at
least 40 % of the card's shorter side (60 % by default when it fits), so it still scans after H.264
encoding at 720x1280.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from studio.cards.product_card import CardContent, format_price
from studio.cards.qr import qr_image
from studio.cards.text import draw_text, text_width, wrap_text
from studio.cards.theme import DEFAULT_THEME, RGBA, CardTheme
from studio.errors import CardError

__all__ = ["MIN_QR_FRACTION", "flat_background", "render_end_card"]

MIN_QR_FRACTION = 0.4
SAFE_TOP, SAFE_BOTTOM = 0.08, 0.18  # share of the height kept clear of platform UI


@dataclass(frozen=True)
class _Line:
    """One line of text in the end card, or a gap when ``font`` is None."""

    height: int
    content: str = ""
    font: ImageFont.FreeTypeFont | None = None
    colour: RGBA = (0, 0, 0, 255)
    ascent: int = 0

    @classmethod
    def text(cls, content: str, font: ImageFont.FreeTypeFont, colour: RGBA) -> _Line:
        ascent, descent = font.getmetrics()
        return cls(ascent + descent, content=content, font=font, colour=colour, ascent=ascent)


def flat_background(theme: CardTheme) -> tuple[int, int, int]:
    """The theme's background colour made opaque (composited over white)."""
    r, g, b, a = theme.rgba("background")
    return (
        round(r * a / 255 + 255 - a),
        round(g * a / 255 + 255 - a),
        round(b * a / 255 + 255 - a),
    )


def render_end_card(
    *,
    size: tuple[int, int],
    qr_url: str | None,
    leader: str | None,
    content: CardContent | None,
    theme: CardTheme = DEFAULT_THEME,
    prompt: str = "扫码购买",
    leader_format: str = "团长：{name}",
    qr_fraction: float = 0.6,
    error: str = "q",
) -> Image.Image:
    """An RGB end card of ``size`` (width, height) with the QR code for ``qr_url`` (None: no QR, no prompt).

    ``leader_format`` turns the leader's name into its line (``"Shared by {name}"`` for English).
    The QR shrinks from ``qr_fraction`` of the shorter side to make room for the text, never below
    40 %; a card too small for that raises :class:`CardError`.
    """
    width, height = size
    if width < 240 or height < 240 or width % 2 or height % 2:
        raise CardError(f"end card size {width}x{height} must be even and at least 240x240 (it is encoded as video)")
    if not MIN_QR_FRACTION <= qr_fraction <= 0.9:
        raise CardError(f"end card QR fraction {qr_fraction} must be from {MIN_QR_FRACTION} to 0.9")
    portrait = height >= width * 1.25
    unit = (min(width, height * 9 / 16) if portrait else min(width * 0.7, height)) / 1080
    column = round(width * 0.86) if portrait else round(width * 0.42)
    if qr_url is None:
        column = round(width * 0.86)
        above, below = _text_lines(theme, unit, column, content, "", leader, leader_format)
        return _text_only_card(size, theme, above + below)
    above, below = _text_lines(theme, unit, column, content, prompt, leader, leader_format)
    band_top, band_bottom = round(height * SAFE_TOP), round(height * (1 - SAFE_BOTTOM))
    band = band_bottom - band_top
    shorter = min(width, height)
    gap = round(32 * unit)
    text_height = sum(line.height for line in above + below)
    room = band - text_height - 2 * gap if portrait else band
    qr_side = min(round(shorter * qr_fraction), room, round(width * 0.5) if not portrait else width)
    if qr_side < shorter * MIN_QR_FRACTION:
        raise CardError(f"end card {width}x{height} is too small for its text and a QR code of 40% of its shorter side")

    card = Image.new("RGB", size, flat_background(theme))
    draw = ImageDraw.Draw(card)
    code = qr_image(qr_url, size=qr_side, error=error)
    lang = theme.text_language
    if portrait:
        y = band_top + (band - text_height - 2 * gap - qr_side) // 2
        y = _draw_lines(draw, above, (0, width), y, lang)
        card.paste(code, ((width - qr_side) // 2, y + gap))
        _draw_lines(draw, below, (0, width), y + gap + qr_side + gap, lang)
    else:
        margin = round((width / 2 - qr_side) / 2)
        card.paste(code, (margin, band_top + (band - qr_side) // 2))
        lines = [*above, *below]
        total = sum(line.height for line in lines)
        if total > band:
            raise CardError(f"end card {width}x{height} is too small for its text")
        _draw_lines(draw, lines, (width // 2, width), band_top + (band - total) // 2, lang)
    return card


def _text_only_card(size: tuple[int, int], theme: CardTheme, lines: list[_Line]) -> Image.Image:
    """The card with no QR: ``lines`` centred in the band kept clear of platform UI."""
    width, height = size
    band_top, band_bottom = round(height * SAFE_TOP), round(height * (1 - SAFE_BOTTOM))
    total = sum(line.height for line in lines)
    if total > band_bottom - band_top:
        raise CardError(f"end card {width}x{height} is too small for its text")
    card = Image.new("RGB", size, flat_background(theme))
    top = band_top + (band_bottom - band_top - total) // 2
    _draw_lines(ImageDraw.Draw(card), lines, (0, width), top, theme.text_language)
    return card


def _text_lines(
    theme: CardTheme,
    unit: float,
    column: int,
    content: CardContent | None,
    prompt: str,
    leader: str | None,
    leader_format: str,
) -> tuple[list[_Line], list[_Line]]:
    """The lines above the QR (product name, price) and below it (prompt, leader)."""
    lang = theme.text_language
    above: list[_Line] = []
    if content is not None:
        name_font = theme.font_at(round(56 * unit))
        for line in wrap_text(content.name, name_font, column, max_lines=2, language=lang):
            above.append(_Line.text(line, name_font, theme.rgba("text")))
        price_font = theme.font_at(round(96 * unit))
        above.append(_Line.text(format_price(content.price, content.currency), price_font, theme.rgba("price")))
    below: list[_Line] = []
    if prompt:
        prompt_font = theme.font_at(round(72 * unit))
        fitted = wrap_text(prompt, prompt_font, column, max_lines=1, language=lang)
        below.append(_Line.text(fitted[0] if fitted else "", prompt_font, theme.rgba("accent")))
    if leader and leader.strip():
        leader_font = theme.font_at(round(48 * unit))
        line = leader_format.format(name=" ".join(leader.split()))
        fitted = wrap_text(line, leader_font, column, max_lines=1, language=lang)
        below.append(_Line(round(12 * unit)))
        below.append(_Line.text(fitted[0] if fitted else "", leader_font, theme.rgba("text")))
    return above, below


def _draw_lines(
    draw: ImageDraw.ImageDraw, lines: list[_Line], span: tuple[int, int], top: int, language: str | None
) -> int:
    """Draw ``lines`` centred between ``span``'s x bounds from ``top`` down; return the y below them."""
    y = top
    for line in lines:
        if line.font is not None and line.content:
            left = span[0] + (span[1] - span[0] - text_width(line.content, line.font, language)) / 2
            origin = (left, y + line.ascent)
            draw_text(draw, origin, line.content, font=line.font, fill=line.colour, anchor="ls", language=language)
        y += line.height
    return y
