"""The product card: wrapped/ellipsised names, prices, strikethrough, coupon badge, thumbnail."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cards import (
    DEFAULT_THEME,
    CardContent,
    CardError,
    CardTheme,
    format_price,
    layout_product_card,
    render_product_card,
)
from studio.cards.text import ELLIPSIS, NO_LINE_START

LONG_NAME = "保湿面霜深层补水滋润修护敏感肌肤干皮救星大容量家庭装，冬天必备，买二送一还包邮，限时特价抢购中"
LANG = DEFAULT_THEME.text_language


def _near(pixels: np.ndarray, rgb: tuple[int, ...], tolerance: int = 24) -> np.ndarray:
    return (np.abs(pixels[..., :3].astype(int) - np.array(rgb[:3])) <= tolerance).all(axis=-1)


@pytest.mark.parametrize("width", [600, 1000])
def test_long_chinese_name_is_wrapped_to_two_lines_and_ellipsised_within_the_card(width: int) -> None:
    content = CardContent(name=LONG_NAME, price=Decimal("89.00"), original_price=Decimal("129.00"), coupon="满99减10")
    layout = layout_product_card(content, width=width)
    card = render_product_card(content, width=width)
    assert card.mode == "RGBA" and card.size == layout.size and card.width == width
    assert len(layout.name_lines) == 2
    assert layout.name_lines[1].endswith(ELLIPSIS)
    assert LONG_NAME.startswith(layout.name_lines[0] + layout.name_lines[1][:-1])
    font = DEFAULT_THEME.font_at(layout.name_size)
    for line, (x, _baseline) in zip(layout.name_lines, layout.name_origins, strict=True):
        assert line[0] not in NO_LINE_START
        left, _top, right, _bottom = font.getbbox(line, anchor="ls", language=LANG)
        assert x + left >= layout.text_left - 1 and x + right <= layout.text_right
    # No text ink to the right of the text column on the name rows.
    pixels = np.asarray(card)
    first = layout.name_origins[0][1] - layout.name_size
    last = layout.name_origins[-1][1] + layout.name_size // 4
    beyond = pixels[first:last, layout.text_right + 1 :]
    assert not _near(beyond, DEFAULT_THEME.rgba("text"), 60).any()
    assert _near(pixels[first:last, layout.text_left : layout.text_right], DEFAULT_THEME.rgba("text"), 10).any()


def test_short_name_stays_on_one_line_unchanged() -> None:
    layout = layout_product_card(CardContent(name="保湿面霜 Cream", price=Decimal("89")), width=800)
    assert layout.name_lines == ("保湿面霜 Cream",)


def test_original_price_is_struck_through_only_when_higher() -> None:
    content = CardContent(name="保湿面霜", price=Decimal("89.00"), original_price=Decimal("129.50"))
    layout = layout_product_card(content, width=800)
    assert layout.price_text == "¥89" and layout.original_text == "¥129.50"
    assert layout.strike is not None
    x0, y, x1, _thickness = layout.strike
    small = DEFAULT_THEME.font_at(layout.original_size)
    assert layout.original_origin is not None
    left, top, right, bottom = small.getbbox(layout.original_text, anchor="ls", language=LANG)
    ox, oy = layout.original_origin
    assert x0 <= ox + left and x1 >= ox + right and oy + top < y < oy + bottom
    row = np.asarray(render_product_card(content, width=800))[y, x0 + 1 : x1 - 1]
    assert _near(row, DEFAULT_THEME.rgba("muted"), 8).all(), "strikethrough line is not continuous"

    plain = np.asarray(render_product_card(CardContent(name="保湿面霜", price=Decimal("89")), width=800))
    for original in (Decimal("89"), Decimal("50")):
        same = CardContent(name="保湿面霜", price=Decimal("89"), original_price=original)
        assert layout_product_card(same, width=800).strike is None
        assert np.array_equal(np.asarray(render_product_card(same, width=800)), plain)


def test_coupon_badge_is_an_accent_pill_and_moves_to_its_own_row_when_long() -> None:
    theme = CardTheme(accent="#00a86b")
    with_coupon = CardContent(name="保湿面霜", price=Decimal("89"), coupon="满99减10", cta="")
    layout = layout_product_card(with_coupon, width=800, theme=theme)
    assert layout.coupon_box is not None and layout.coupon_text == "满99减10"
    left, top, right, bottom = layout.coupon_box
    inside = np.asarray(render_product_card(with_coupon, width=800, theme=theme))[top:bottom, left:right]
    assert _near(inside, theme.rgba("accent"), 10).mean() > 0.5
    plain = CardContent(name="保湿面霜", price=Decimal("89"), cta="")
    without = np.asarray(render_product_card(plain, width=800, theme=theme))
    assert not _near(without, theme.rgba("accent"), 10).any()
    assert left > layout.text_left  # short coupon: on the price row

    long_coupon = CardContent(
        name="保湿面霜", price=Decimal("12999.99"), original_price=Decimal("15999"), coupon="满99减10 新客专享再减五元"
    )
    long_layout = layout_product_card(long_coupon, width=600, theme=theme)
    assert long_layout.coupon_box is not None
    assert long_layout.coupon_box[0] == long_layout.text_left
    assert long_layout.coupon_box[2] <= long_layout.text_right


def test_product_image_is_exif_transposed_and_cover_cropped(tmp_path: Path) -> None:
    raw = Image.new("RGB", (400, 200), (220, 0, 0))
    raw.paste((0, 0, 220), (200, 0, 400, 200))  # left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90° clockwise: red on top, blue below
    path = tmp_path / "product.jpg"
    raw.save(path, quality=95, exif=exif)
    content = CardContent(name="保湿面霜", price=Decimal("89"), image=path)
    layout = layout_product_card(content, width=800)
    assert layout.thumb_box is not None
    left, top, right, _bottom = layout.thumb_box
    card = np.asarray(render_product_card(content, width=800).convert("RGB")).astype(int)
    side = right - left
    top_px = card[top + side // 4, left + side // 4]
    bottom_px = card[top + 3 * side // 4, left + side // 4]
    assert top_px[0] > 180 and top_px[2] < 60, top_px
    assert bottom_px[2] > 180 and bottom_px[0] < 60, bottom_px
    assert layout.text_left > right


def test_missing_or_unreadable_product_image_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="does not exist"):
        render_product_card(CardContent(name="面霜", price=Decimal("1"), image=tmp_path / "nope.jpg"), width=600)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    with pytest.raises(CardError, match="cannot be read"):
        render_product_card(CardContent(name="面霜", price=Decimal("1"), image=bad), width=600)
    truncated = tmp_path / "truncated.png"
    Image.new("RGB", (64, 64), (1, 2, 3)).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:60])
    with pytest.raises(CardError, match="cannot be read"):
        render_product_card(CardContent(name="面霜", price=Decimal("1"), image=truncated), width=600)


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("89.00", "CNY", "¥89"),
        ("89.9", "CNY", "¥89.90"),
        ("0.995", "usd", "$1"),
        ("12.345", "EUR", "€12.35"),
        ("1299", "HKD", "HK$1299"),
        ("99.50", "SEK", "SEK 99.50"),
    ],
)
def test_format_price_drops_zero_cents_and_keeps_two_decimals_otherwise(amount: str, currency: str, text: str) -> None:
    assert format_price(Decimal(amount), currency) == text


def test_currency_symbols_are_real_glyphs() -> None:
    font = DEFAULT_THEME.font_at(48)
    tofu = bytes(font.getmask("\ue000"))
    for symbol in "¥$€£₩":
        assert bytes(font.getmask(symbol)) != tofu, symbol


def test_card_content_validation() -> None:
    assert CardContent(name=" 面霜 ", price="¥89.00").price == Decimal("89.00")  # type: ignore[arg-type]
    with pytest.raises(CardError, match="float"):
        CardContent(name="面霜", price=89.9)  # type: ignore[arg-type]
    with pytest.raises(CardError, match="zero or more"):
        CardContent(name="面霜", price=Decimal("-1"))
    with pytest.raises(CardError, match="not a decimal"):
        CardContent(name="面霜", price="abc")  # type: ignore[arg-type]
    with pytest.raises(CardError, match="name"):
        CardContent(name="  ", price=Decimal("1"))
    with pytest.raises(CardError, match="currency"):
        CardContent(name="面霜", price=Decimal("1"), currency="yuan")
    with pytest.raises(CardError, match="too small"):
        render_product_card(CardContent(name="面霜", price=Decimal("1")), width=100)
