"""CJK-aware line breaking for cards: measure with the real font, wrap, ellipsise.

Rules: a line may break between any two CJK characters, and at spaces between Latin words (a Latin
word longer than a whole line is split by characters). Closing punctuation (，。！？」）…) never starts a
line and opening punctuation (「（《…) never ends one: they stick to their neighbour. Text that needs more
than ``max_lines`` lines is cut and ends with "…" (after a whole Latin word when one fits).

Missing glyphs: the default font is a GB2312 subset, so a rare character (堃, 喆…) may be missing from
it. Pillow has no font fallback, so a line with such a character is measured and drawn whole with
:func:`studio.fonts.find_fallback_font`'s font (Noto Sans CJK, same design and metrics, Simplified
forms through the card language with libraqm): the reader sees the character, not a tofu box. A
character no font has (an emoji…) is logged as a warning once and drawn as the font's box.
"""

from __future__ import annotations

import logging
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any

from PIL import ImageDraw, ImageFont

from studio.fonts import find_fallback_font

__all__ = ["ELLIPSIS", "draw_text", "font_for", "is_cjk", "missing_glyphs", "text_width", "tokenize", "wrap_text"]

log = logging.getLogger(__name__)

ELLIPSIS = "…"
# Kinsoku shori: characters that must not start a line, and characters that must not end one.
NO_LINE_START = frozenset(
    "，。、．,.!！?？;；:：)）]］}｝」』】〕〉》〗〙〛”’"
    "…‥・·〜～ー々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ%％‰℃"
)
NO_LINE_END = frozenset("(（[［{｛「『【〔〈《〖〘〚“‘￥¥$＄")
_NO_ELLIPSIS_AFTER = frozenset("，。、,.;；:：!！?？·・ ")
_NO_GLYPH = "\U0010fffd"  # a private-use codepoint no font assigns: drawn as the missing-glyph box


def is_cjk(char: str) -> bool:
    """True for characters that allow a line break on either side (Han, kana, Hangul, fullwidth forms)."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # radicals, CJK punctuation, kana, CJK unified ideographs
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # CJK compatibility forms
        or 0xFF00 <= code <= 0xFFEF  # halfwidth and fullwidth forms
        or 0x20000 <= code <= 0x3FFFF  # extension B and later
        or unicodedata.east_asian_width(char) in ("W", "F")
    )


def tokenize(text: str) -> list[str]:
    """Split ``text`` into unbreakable pieces; a line may break between any two pieces.

    A piece that ends a Latin word carries its trailing spaces (they vanish at a line end).
    """
    atoms: list[str] = []
    word = ""
    for char in " ".join(text.split()):
        if char == " ":
            if word:
                atoms.append(word)
                word = ""
            if atoms:
                atoms[-1] += " "
        elif is_cjk(char):
            if word:
                atoms.append(word)
                word = ""
            atoms.append(char)
        else:
            word += char
    if word:
        atoms.append(word)
    tokens: list[str] = []
    glue_next = False
    for atom in atoms:
        if tokens and (glue_next or atom[0] in NO_LINE_START):
            tokens[-1] += atom
        else:
            tokens.append(atom)
        glue_next = atom.rstrip()[-1:] in NO_LINE_END if atom.strip() else glue_next
    return tokens


def text_width(text: str, font: ImageFont.FreeTypeFont, language: str | None = None) -> float:
    """Advance width of ``text`` in px, in the font :func:`font_for` draws it with."""
    return float(font_for(text, font).getlength(text, language=language))


def draw_text(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, *, font: ImageFont.FreeTypeFont, **kwargs: Any
) -> None:
    """``draw.text`` with :func:`font_for`'s font: characters ``font`` lacks are drawn, not boxed."""
    draw.text(xy, text, font=font_for(text, font), **kwargs)


def font_for(text: str, font: ImageFont.FreeTypeFont) -> ImageFont.FreeTypeFont:
    """``font``, or the fallback font at the same size when ``font`` lacks a character of ``text``
    and the fallback has them all (see the module docstring)."""
    path = Path(str(font.path))
    missing = missing_glyphs(text, path, font.index)
    if not missing:
        return font
    fallback = find_fallback_font(path)
    if fallback is not None and not missing_glyphs("".join(missing), fallback.path, fallback.index):
        return _load(fallback.path, fallback.index, font.size)
    _warn_missing("".join(missing), path.name)
    return font


def missing_glyphs(text: str, path: Path, index: int = 0) -> list[str]:
    """The characters of ``text`` (spaces and control characters aside) that the font has no glyph for."""
    return [char for char in dict.fromkeys(text) if not _has_glyph(Path(path), index, char)]


@lru_cache(maxsize=16384)
def _has_glyph(path: Path, index: int, char: str) -> bool:
    if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Mn"):
        return True  # nothing (or nothing on its own) to draw
    font = _load(path, index, 32)
    box = bytes(font.getmask(_NO_GLYPH))
    return bytes(font.getmask(char)) != box


@lru_cache(maxsize=64)
def _load(path: Path, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size, index=index)


@lru_cache(maxsize=256)
def _warn_missing(chars: str, font_name: str) -> None:
    log.warning("no installed font draws %r (not in %s): shown as boxes", chars, font_name)


def wrap_text(
    text: str,
    font: ImageFont.FreeTypeFont,
    max_width: float,
    *,
    max_lines: int = 2,
    language: str | None = None,
    balance: bool = True,
) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines no wider than ``max_width`` px (see module rules).

    With ``balance``, text that fits in its lines is re-wrapped at the narrowest width giving as many
    lines (never narrower than its widest word), so lines come out evenly filled: "保湿面霜 /
    Hydrating Cream" rather than "保湿面霜 Hydrating / Cream".
    """
    if max_lines < 1 or max_width <= 0:
        return []
    tokens = tokenize(text)
    lines = _greedy(tokens, font, max_width, language)
    if len(lines) > max_lines:
        return [*lines[: max_lines - 1], _ellipsise(lines[max_lines - 1], font, max_width, language)]
    if balance and len(lines) >= 2:
        widest_word = max(text_width(token.rstrip(), font, language) for token in tokens)
        low, high = max(widest_word, text_width(" ".join(lines), font, language) / len(lines)), max_width
        while high - low > 1:  # fewer lines never come from a narrower width: bisect the narrowest
            middle = (low + high) / 2
            if len(_greedy(tokens, font, middle, language)) == len(lines):
                high = middle
            else:
                low = middle
        lines = _greedy(tokens, font, high, language)
    return lines


def _greedy(tokens: list[str], font: ImageFont.FreeTypeFont, max_width: float, language: str | None) -> list[str]:
    """``tokens`` laid into lines of at most ``max_width`` px, each as full as it can be."""

    def fits(line: str) -> bool:
        return text_width(line.rstrip(), font, language) <= max_width

    lines: list[str] = []
    current = ""
    pending = list(tokens)
    while pending:
        token = pending.pop(0)
        if fits(current + token):
            current += token
            continue
        if current:
            lines.append(current.rstrip())
            current = ""
            pending.insert(0, token)
            continue
        # A single piece wider than the line: split it by characters.
        head = ""
        for char in token:
            if not fits(head + char) and head:
                break
            head += char
        lines.append(head.rstrip())
        rest = token[len(head) :]
        if rest.strip():
            pending.insert(0, rest)
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _ellipsise(line: str, font: ImageFont.FreeTypeFont, max_width: float, language: str | None) -> str:
    """``line`` shortened at a break opportunity (a space, between CJK characters) until it fits with
    "…" after it; by characters only when not even its first word fits."""

    def fits(text: str) -> bool:
        return text_width(text.rstrip() + ELLIPSIS, font, language) <= max_width

    cut = ""
    for token in tokenize(line):
        if not fits(cut + token):
            break
        cut += token
    if not cut.strip():
        cut = line
        while cut and not fits(cut):
            cut = cut[:-1]
    cut = cut.rstrip()
    while cut and (cut[-1] in NO_LINE_END or cut[-1] in _NO_ELLIPSIS_AFTER):
        cut = cut[:-1].rstrip()
    return cut + ELLIPSIS
