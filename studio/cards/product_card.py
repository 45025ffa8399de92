"""The product card overlaid on clips: thumbnail, name, price, struck-through original price, coupon, CTA.

What a card says (:class:`CardContent`) and how prices read (:func:`format_price`) live in
:mod:`studio.cards.content`, which needs no Pillow; both are re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from studio.cards.content import CURRENCY_SYMBOLS, CardContent, format_price
from studio.cards.text import draw_text, font_for, text_width, wrap_text
from studio.cards.theme import DEFAULT_THEME, RGBA, CardTheme, contrast_ratio
from studio.errors import CardError

__all__ = [
    "CURRENCY_SYMBOLS",
    "Box",
    "CardContent",
    "CardLayout",
    "format_price",
    "layout_product_card",
    "load_product_image",
    "readable_on",
    "render_product_card",
]

Box = tuple[int, int, int, int]


def readable_on(background: tuple[int, ...]) -> RGBA:
    """White or near-black, whichever reads better on ``background``."""
    white, black = (255, 255, 255, 255), (17, 17, 17, 255)
    return white if contrast_ratio(white, background) >= contrast_ratio(black, background) else black


def load_product_image(path: Path) -> Image.Image:
    """The product image as RGB, upright per its EXIF orientation; unreadable files raise CardError."""
    try:
        with Image.open(path) as opened:
            opened.load()
            upright = ImageOps.exif_transpose(opened)
            if upright.mode in ("RGBA", "LA", "P"):
                rgba = upright.convert("RGBA")
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return upright.convert("RGB")
    except FileNotFoundError as exc:
        raise CardError(f"product image {path} does not exist") from exc
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise CardError(f"product image {path} cannot be read as an image: {exc}") from exc


@dataclass(frozen=True)
class CardLayout:
    """Where everything on a product card goes (pixels in the card); tests and renderers may inspect it."""

    size: tuple[int, int]
    radius: int
    thumb_box: Box | None
    name_lines: tuple[str, ...]
    name_origins: tuple[tuple[int, int], ...]  # left/baseline of each line
    name_size: int
    price_text: str
    price_origin: tuple[int, int]
    price_size: int
    original_text: str | None
    original_origin: tuple[int, int] | None
    original_size: int
    strike: tuple[int, int, int, int] | None  # (x0, y, x1, thickness) of the line through the original price
    coupon_text: str | None
    coupon_box: Box | None
    coupon_size: int
    cta_text: str
    cta_origin: tuple[int, int] | None
    cta_size: int
    text_left: int
    text_right: int


def layout_product_card(content: CardContent, *, width: int, theme: CardTheme = DEFAULT_THEME) -> CardLayout:
    """Measure and place the card's parts for a card ``width`` px wide (sizes scale with the width)."""
    if width < 200:
        raise CardError(f"product card width {width} px is too small (at least 200)")
    s = width / 1000
    lang = theme.text_language
    pad = round(32 * s)
    thumb = round(240 * s) if content.image is not None else 0
    left = pad + thumb + round(28 * s) if thumb else pad + round(12 * s)
    right = width - pad - round(8 * s)
    column = right - left

    name_size, price_size, small_size, coupon_size, cta_size = (round(v * s) for v in (46, 84, 40, 34, 36))
    name_font = theme.font_at(name_size)
    ascent, descent = name_font.getmetrics()
    y = pad + round(6 * s)
    name_lines = wrap_text(content.name, name_font, column, max_lines=2, language=lang)
    name_origins = []
    for _line in name_lines:
        name_origins.append((left, y + ascent))
        y += ascent + descent
    y += round(4 * s)

    price_font = theme.font_at(price_size)
    p_ascent, p_descent = price_font.getmetrics()
    baseline = y + round(p_ascent * 0.86)  # digits have no accents above; trim the font's headroom
    price_text = format_price(content.price, content.currency)
    x = left + round(text_width(price_text, price_font, lang))
    original_text = original_origin = strike = None
    if content.shows_original:
        assert content.original_price is not None
        small_font = theme.font_at(small_size)
        original_text = format_price(content.original_price, content.currency)
        original_origin = (x + round(16 * s), baseline)
        ink = font_for(original_text, small_font).getbbox(original_text, anchor="ls", language=lang)
        thickness = max(2, round(small_size / 14))
        strike = (
            original_origin[0] + round(ink[0]) - thickness,
            baseline + round((ink[1] + ink[3]) / 2),
            original_origin[0] + round(ink[2]) + thickness,
            thickness,
        )
        x = original_origin[0] + round(text_width(original_text, small_font, lang))
    row_bottom = baseline + round(p_descent * 0.5)

    coupon_text = coupon_box = None
    if content.coupon:
        coupon_font = theme.font_at(coupon_size)
        pill_pad = round(18 * s)
        pill_h = round(coupon_size * 1.55)
        lines = wrap_text(content.coupon, coupon_font, column - 2 * pill_pad, max_lines=1, language=lang)
        coupon_text = lines[0] if lines else None
        if coupon_text:
            pill_w = round(text_width(coupon_text, coupon_font, lang)) + 2 * pill_pad
            gap = round(20 * s)
            if x + gap + pill_w <= right:
                top = baseline - round(price_size * 0.36) - pill_h // 2
                coupon_box = (x + gap, top, x + gap + pill_w, top + pill_h)
            else:
                top = row_bottom + round(8 * s)
                coupon_box = (left, top, left + pill_w, top + pill_h)
                row_bottom = coupon_box[3]
    y = row_bottom + round(14 * s)

    cta_origin = None
    cta_lines = wrap_text(content.cta, theme.font_at(cta_size), column, max_lines=1, language=lang)
    if cta_lines:
        cta_ascent, cta_descent = theme.font_at(cta_size).getmetrics()
        cta_origin = (left, y + cta_ascent)
        y += cta_ascent + cta_descent
    height = max(y + pad, pad * 2 + thumb)
    thumb_box = (pad, (height - thumb) // 2, pad + thumb, (height - thumb) // 2 + thumb) if thumb else None
    return CardLayout(
        size=(width, height),
        radius=round(theme.radius * s),
        thumb_box=thumb_box,
        name_lines=tuple(name_lines),
        name_origins=tuple(name_origins),
        name_size=name_size,
        price_text=price_text,
        price_origin=(left, baseline),
        price_size=price_size,
        original_text=original_text,
        original_origin=original_origin,
        original_size=small_size,
        strike=strike,
        coupon_text=coupon_text,
        coupon_box=coupon_box,
        coupon_size=coupon_size,
        cta_text=cta_lines[0] if cta_lines else "",
        cta_origin=cta_origin,
        cta_size=cta_size,
        text_left=left,
        text_right=right,
    )


def render_product_card(content: CardContent, *, width: int, theme: CardTheme = DEFAULT_THEME) -> Image.Image:
    """The product card as an RGBA image ``width`` px wide, its height set by the content.

    A missing or unreadable product image raises :class:`CardError`.
    """
    photo = load_product_image(content.image) if content.image is not None else None
    layout = layout_product_card(content, width=width, theme=theme)
    card = Image.new("RGBA", layout.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((0, 0, layout.size[0] - 1, layout.size[1] - 1), layout.radius, fill=theme.rgba("background"))
    if photo is not None and layout.thumb_box is not None:
        box = layout.thumb_box
        side = box[2] - box[0]
        thumb = ImageOps.fit(photo, (side, side), Image.Resampling.LANCZOS)
        mask = Image.new("L", (side, side), 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, side - 1, side - 1), max(1, layout.radius * 2 // 3), fill=255)
        card.paste(thumb, box[:2], mask)
    draw_card_text(draw, layout, theme)
    return card


def draw_card_text(draw: ImageDraw.ImageDraw, layout: CardLayout, theme: CardTheme) -> None:
    """Draw the name, prices, coupon pill and CTA of ``layout`` (everything but panel and thumbnail)."""
    lang = theme.text_language
    name_font = theme.font_at(layout.name_size)
    for line, origin in zip(layout.name_lines, layout.name_origins, strict=True):
        draw_text(draw, origin, line, font=name_font, fill=theme.rgba("text"), anchor="ls", language=lang)
    draw_text(
        draw,
        layout.price_origin,
        layout.price_text,
        font=theme.font_at(layout.price_size),
        fill=theme.rgba("price"),
        anchor="ls",
        language=lang,
    )
    if layout.original_text and layout.original_origin:
        small = theme.font_at(layout.original_size)
        muted = theme.rgba("muted")
        draw_text(
            draw, layout.original_origin, layout.original_text, font=small, fill=muted, anchor="ls", language=lang
        )
        if layout.strike is not None:
            x0, y, x1, thickness = layout.strike
            draw.line((x0, y, x1, y), fill=muted, width=thickness)
    if layout.coupon_text and layout.coupon_box:
        box = layout.coupon_box
        accent = theme.rgba("accent")
        draw.rounded_rectangle(box, (box[3] - box[1]) // 2, fill=accent)
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        draw_text(
            draw,
            centre,
            layout.coupon_text,
            font=theme.font_at(layout.coupon_size),
            fill=readable_on(accent),
            anchor="mm",
            language=lang,
        )
    if layout.cta_origin and layout.cta_text:
        cta_font = theme.font_at(layout.cta_size)
        accent = theme.rgba("accent")
        draw_text(draw, layout.cta_origin, layout.cta_text, font=cta_font, fill=accent, anchor="ls", language=lang)
