"""CJK-aware line breaking for cards: measure with the real font, wrap, ellipsise.

Rules: a line may break between any two CJK characters, and at spaces between Latin words (a Latin
word longer than a whole line is split by characters). Closing punctuation (，。！？」）…) never starts a
line and opening punctuation (「（《…) never ends one: they stick to their neighbour. Text that needs more
than ``max_lines`` lines is cut and ends with "…".
"""

from __future__ import annotations

import unicodedata

from PIL import ImageFont

__all__ = ["ELLIPSIS", "is_cjk", "text_width", "tokenize", "wrap_text"]

ELLIPSIS = "…"
# Kinsoku shori: characters that must not start a line, and characters that must not end one.
NO_LINE_START = frozenset(
    "，。、．,.!！?？;；:：)）]］}｝」』】〕〉》〗〙〛”’"
    "…‥・·〜～ー々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ%％‰℃"
)
NO_LINE_END = frozenset("(（[［{｛「『【〔〈《〖〘〚“‘￥¥$＄")
_NO_ELLIPSIS_AFTER = frozenset("，。、,.;；:：!！?？·・ ")


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
    """Advance width of ``text`` in px."""
    return float(font.getlength(text, language=language))


def wrap_text(
    text: str,
    font: ImageFont.FreeTypeFont,
    max_width: float,
    *,
    max_lines: int = 2,
    language: str | None = None,
) -> list[str]:
    """``text`` broken into at most ``max_lines`` lines no wider than ``max_width`` px (see module rules)."""
    if max_lines < 1 or max_width <= 0:
        return []

    def fits(line: str) -> bool:
        return text_width(line.rstrip(), font, language) <= max_width

    lines: list[str] = []
    current = ""
    pending = tokenize(text)
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
    if len(lines) <= max_lines:
        return lines
    return [*lines[: max_lines - 1], _ellipsise(lines[max_lines - 1], font, max_width, language)]


def _ellipsise(line: str, font: ImageFont.FreeTypeFont, max_width: float, language: str | None) -> str:
    """``line`` shortened until it fits with "…" after it."""
    cut = line
    while cut and text_width(cut.rstrip() + ELLIPSIS, font, language) > max_width:
        cut = cut[:-1]
    cut = cut.rstrip()
    while cut and (cut[-1] in NO_LINE_END or cut[-1] in _NO_ELLIPSIS_AFTER):
        cut = cut[:-1].rstrip()
    return cut + ELLIPSIS
