"""Theme colours and merchants' theme settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.cards import DEFAULT_THEME, CardError, CardTheme, contrast_ratio, parse_colour, theme_from_mapping


@pytest.mark.parametrize(
    ("text", "rgba"),
    [
        ("#f50", (255, 85, 0, 255)),
        ("#FF5000", (255, 80, 0, 255)),
        ("#ff500080", (255, 80, 0, 128)),
        (" #000 ", (0, 0, 0, 255)),
    ],
)
def test_parse_colour_accepts_hex_forms(text: str, rgba: tuple[int, int, int, int]) -> None:
    assert parse_colour(text) == rgba


@pytest.mark.parametrize("text", ["red", "#12", "#12345", "#ggg", "ff5000", "#ff5000ff00", "", "rgb(1,2,3)"])
def test_parse_colour_rejects_other_forms_naming_the_field(text: str) -> None:
    with pytest.raises(CardError, match=r"accent: .* is not a colour; use #rgb"):
        parse_colour(text, name="accent")


def test_contrast_ratio_matches_wcag_extremes() -> None:
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((80, 80, 80), (80, 80, 80)) == pytest.approx(1.0)
    assert contrast_ratio((255, 255, 255), (118, 118, 118)) == pytest.approx(4.54, abs=0.01)


def test_theme_validates_on_creation() -> None:
    with pytest.raises(CardError, match="price"):
        CardTheme(price="crimson")
    with pytest.raises(CardError, match="position"):
        CardTheme(position="left")  # type: ignore[arg-type]
    with pytest.raises(CardError, match="entrance"):
        CardTheme(entrance="spin")  # type: ignore[arg-type]
    with pytest.raises(CardError, match="radius"):
        CardTheme(radius=-1)
    assert DEFAULT_THEME.rgba("accent")[3] == 255


def test_theme_from_mapping_merges_merchant_settings(tmp_path: Path) -> None:
    font = DEFAULT_THEME.font_choice().path
    theme = theme_from_mapping(
        {
            "Brand_Color": "#0a7",
            "price": "#c00",
            "font_path": str(font),
            "position": " Top ",
            "entrance": "fade",
            "radius": "12",
            "muted": None,
            "text": "",
        }
    )
    assert theme.accent == "#0a7" and theme.price == "#c00"
    assert theme.font == font and theme.position == "top" and theme.entrance == "fade" and theme.radius == 12
    assert theme.muted == DEFAULT_THEME.muted and theme.text == DEFAULT_THEME.text
    assert theme.font_choice().path == font


def test_theme_from_mapping_rejects_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="unknown theme setting 'colour'"):
        theme_from_mapping({"colour": "#fff"})
    with pytest.raises(CardError, match="accent"):
        theme_from_mapping({"accent": "#zzz"})
    with pytest.raises(CardError, match="does not exist"):
        theme_from_mapping({"font": str(tmp_path / "missing.otf")})
    with pytest.raises(CardError, match="position"):
        theme_from_mapping({"position": "side"})
    with pytest.raises(CardError, match="radius"):
        theme_from_mapping({"radius": "round"})
