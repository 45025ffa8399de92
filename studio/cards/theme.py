"""Card themes: a merchant's brand colours, font and card position, with strict colour parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from studio.errors import CardError
from studio.fonts import FontChoice, find_cjk_font

if TYPE_CHECKING:
    from PIL import ImageFont

__all__ = [
    "DEFAULT_THEME",
    "RGBA",
    "CardTheme",
    "Entrance",
    "Position",
    "contrast_ratio",
    "has_raqm",
    "load_font",
    "parse_colour",
    "relative_luminance",
    "theme_from_mapping",
]

RGBA = tuple[int, int, int, int]
Position = Literal["bottom", "top", "middle"]
Entrance = Literal["fade", "slide", "none"]
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_COLOUR_FIELDS = ("background", "accent", "text", "price", "muted")


@lru_cache(maxsize=1)
def has_raqm() -> bool:
    """Pillow applies the font's OpenType ``locl`` feature for a language only with libraqm (it picks
    Simplified glyph forms, e.g. 骨 角, from fonts whose default is Traditional)."""
    from PIL import features  # Pillow only when text is drawn

    return bool(features.check("raqm"))


def __getattr__(name: str) -> Any:
    if name == "HAS_RAQM":  # the old constant, now computed on first use (it loads Pillow)
        return has_raqm()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def parse_colour(value: str, *, name: str = "colour") -> RGBA:
    """``#rgb``, ``#rrggbb`` or ``#rrggbbaa`` to an RGBA tuple; anything else raises :class:`CardError`."""
    if not isinstance(value, str) or not _HEX.fullmatch(value.strip()):
        raise CardError(f"{name}: {value!r} is not a colour; use #rgb, #rrggbb or #rrggbbaa (e.g. #ff5000)")
    digits = value.strip()[1:]
    if len(digits) == 3:
        digits = "".join(ch * 2 for ch in digits)
    if len(digits) == 6:
        digits += "ff"
    r, g, b, a = (int(digits[i : i + 2], 16) for i in range(0, 8, 2))
    return r, g, b, a


def relative_luminance(colour: tuple[int, ...]) -> float:
    """WCAG 2 relative luminance of an sRGB colour (alpha ignored), 0 (black) to 1 (white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """WCAG 2 contrast ratio between two colours, 1 (none) to 21 (black on white)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@dataclass(frozen=True)
class CardTheme:
    """How cards look. Colours are ``#rrggbb`` or ``#rrggbbaa`` strings (validated on creation).

    ``font`` None means :func:`studio.fonts.find_cjk_font`; ``position`` and ``entrance`` tell the
    renderer where the product card sits and how it appears; ``radius`` is the corner radius in px
    at a 1000 px wide card (scaled with the card). ``language`` selects the font's glyph forms.
    """

    background: str = "#ffffffee"
    accent: str = "#ff2d55"
    text: str = "#1a1a1a"
    price: str = "#e4002b"
    muted: str = "#8a8a8a"
    font: Path | None = None
    position: Position = "bottom"
    entrance: Entrance = "slide"
    radius: int = 28
    language: str = "zh-Hans"

    def __post_init__(self) -> None:
        for name in _COLOUR_FIELDS:
            parse_colour(getattr(self, name), name=name)
        if self.position not in get_args(Position):
            raise CardError(f"position: {self.position!r} is not one of {', '.join(get_args(Position))}")
        if self.entrance not in get_args(Entrance):
            raise CardError(f"entrance: {self.entrance!r} is not one of {', '.join(get_args(Entrance))}")
        if not isinstance(self.radius, int) or isinstance(self.radius, bool) or not 0 <= self.radius <= 200:
            raise CardError(f"radius: {self.radius!r} must be a whole number of pixels from 0 to 200")
        if self.font is not None:
            object.__setattr__(self, "font", Path(self.font))

    def rgba(self, name: str) -> RGBA:
        """One of the theme's colours as an RGBA tuple (``rgba("price")``)."""
        if name not in _COLOUR_FIELDS:
            raise CardError(f"unknown theme colour {name!r}; one of {', '.join(_COLOUR_FIELDS)}")
        return parse_colour(getattr(self, name), name=name)

    def font_choice(self) -> FontChoice:
        """The CJK font this theme draws with; a missing or glyph-less font raises ToolchainError."""
        return _font_choice(self.font)

    def font_at(self, size: int) -> ImageFont.FreeTypeFont:
        """The theme's font at ``size`` px."""
        return load_font(self.font_choice(), size)

    @property
    def text_language(self) -> str | None:
        """The language passed to Pillow's text calls (None without libraqm, which ignores it)."""
        return self.language if self.language and has_raqm() else None


DEFAULT_THEME = CardTheme()


@lru_cache(maxsize=8)
def _font_choice(path: Path | None) -> FontChoice:
    return find_cjk_font(path)


@lru_cache(maxsize=64)
def load_font(choice: FontChoice, size: int) -> ImageFont.FreeTypeFont:
    """``choice`` loaded at ``size`` px (cached)."""
    from PIL import ImageFont

    return ImageFont.truetype(str(choice.path), max(1, int(size)), index=choice.index)


_ALIASES = {
    "brand_color": "accent",
    "brand_colour": "accent",
    "text_color": "text",
    "text_colour": "text",
    "price_color": "price",
    "price_colour": "price",
    "background_color": "background",
    "background_colour": "background",
    "font_path": "font",
}


def theme_from_mapping(settings: Mapping[str, Any], *, base: CardTheme = DEFAULT_THEME) -> CardTheme:
    """A theme from a merchant's settings (``{"accent": "#f50", "font": "/fonts/x.otf", "position": "top"}``).

    Keys are the :class:`CardTheme` fields (plus ``brand_color``, ``text_color``, ``price_color``,
    ``background_color`` and ``font_path`` aliases); missing keys keep ``base``'s values, None and
    empty strings count as missing. Unknown keys, bad colours and a font file that does not exist
    raise :class:`CardError` naming the key.
    """
    allowed = {f.name for f in fields(CardTheme)}
    changes: dict[str, Any] = {}
    for raw_key, value in settings.items():
        key = _ALIASES.get(str(raw_key).strip().lower(), str(raw_key).strip().lower())
        if key not in allowed:
            raise CardError(f"unknown theme setting {raw_key!r}; known: {', '.join(sorted(allowed | set(_ALIASES)))}")
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key == "font":
            font = Path(str(value)).expanduser()
            if not font.is_file():
                raise CardError(f"font: {font} does not exist")
            value = font
        elif key == "radius":
            try:
                value = int(value)
            except (TypeError, ValueError) as exc:
                raise CardError(f"radius: {value!r} is not a whole number") from exc
        elif isinstance(value, str):
            value = value.strip().lower() if key in ("position", "entrance") else value.strip()
        changes[key] = value
    return cast(CardTheme, replace(base, **changes))
