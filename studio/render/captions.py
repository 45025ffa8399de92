"""Burned-in captions: transcript cues inside a clip window -> an ASS script for libass.

Times are shifted to clip time and clipped to the window. Long cues wrap to at most
:data:`MAX_LINES` lines (CJK breaks between characters, Latin at spaces, closing punctuation
never starts a line, opening punctuation never ends one); a cue that needs more lines is split in
time. Margins come from the preset's safe zones so captions stay clear of platform UI. libass
finds the font only through fontconfig: pair the script with :func:`studio.fonts.write_fonts_conf`.
"""

from __future__ import annotations

import math
import os
import tempfile
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sidedata.records import TranscriptCue
from studio.render.presets import Preset

__all__ = [
    "MAX_LINES",
    "CaptionStyle",
    "ass_document",
    "caption_style",
    "clip_cues",
    "escape_ass_text",
    "wrap_caption",
    "write_ass",
]

MAX_LINES = 2
LANGUAGE = "zh-Hans"  # shaping language: Simplified Chinese glyph forms where the font has them
MIN_CUE_SECONDS = 0.05
FONT_SCALE = 0.06  # font size as a share of the shorter frame side
# Characters that must not start a line (attach to the previous token) / must not end one.
CLOSING = set("，。、；：？！）」』】》〉〕｝］…—～’”%)]}>,.;:!?·・ー々〻ゝゞヽヾっゃゅょァィゥェォッャュョ")
OPENING = set("（「『【《〈〔｛［‘“([{<$¥￥")
_WORD_JOINER = "\u2060"  # invisible; stops libass reading "\N", "\h"… in cue text as escapes


@dataclass(frozen=True)
class CaptionStyle:
    """Geometry and look of the caption style, in output pixels."""

    font_family: str
    font_size: int
    margin_left: int
    margin_right: int
    margin_bottom: int
    outline: float
    shadow: float
    bold: bool = True


def caption_style(preset: Preset, font_family: str, *, extra_bottom: int = 0) -> CaptionStyle:
    """The caption style for ``preset``: size relative to the frame, margins from its safe zones.

    ``extra_bottom`` lifts captions further (e.g. above a product card sitting on the bottom safe line).
    """
    size = max(12, round(min(preset.width, preset.height) * FONT_SCALE))
    pad = max(4, round(size * 0.4))
    return CaptionStyle(
        font_family=font_family,
        font_size=size,
        margin_left=preset.safe_left + pad,
        margin_right=preset.safe_right + pad,
        margin_bottom=preset.safe_bottom + pad + extra_bottom,
        outline=round(max(1.0, size * 0.08), 1),
        shadow=round(max(0.5, size * 0.04), 1),
    )


def line_capacity(preset: Preset, style: CaptionStyle) -> float:
    """How many full-width characters fit on one caption line."""
    usable = preset.width - style.margin_left - style.margin_right
    return max(4.0, usable / (style.font_size * 1.02))


def char_units(char: str) -> float:
    """Display width of ``char`` in full-width units."""
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.0
    if unicodedata.combining(char):
        return 0.0
    return 0.55


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _is_cjk(char: str) -> bool:
    return _is_wide(char) and char not in CLOSING and char not in OPENING


def _tokens(text: str) -> list[str]:
    """Unbreakable tokens; a single space token marks a break opportunity that vanishes at a line end."""
    tokens: list[str] = []
    word = ""
    for char in text:
        if char.isspace():
            if word:
                tokens.append(word)
                word = ""
            if tokens and tokens[-1] != " ":
                tokens.append(" ")
        elif _is_wide(char):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(char)
        else:
            word += char
    if word:
        tokens.append(word)
    while tokens and tokens[-1] == " ":
        tokens.pop()
    return _glue_punctuation(tokens)


def _glue_punctuation(tokens: list[str]) -> list[str]:
    """Attach closing punctuation to the token before it and opening punctuation to the token after it."""
    glued: list[str] = []
    pending_open = ""
    for token in tokens:
        if token == " ":
            if pending_open:
                continue
            glued.append(token)
            continue
        if pending_open:
            token = pending_open + token
            pending_open = ""
        if all(c in OPENING for c in token):
            pending_open = token
            continue
        if token[0] in CLOSING and glued:
            if glued[-1] == " ":
                glued.pop()
            glued[-1] += token
        else:
            glued.append(token)
    if pending_open:
        glued.append(pending_open)
    return glued


def _units(text: str) -> float:
    return sum(char_units(c) for c in text)


def wrap_caption(text: str, max_units: float) -> list[str]:
    """Break ``text`` into lines of at most ``max_units`` (see :func:`char_units`), keeping words whole
    unless one alone is too long; newlines in ``text`` are break opportunities. Lines are balanced."""
    tokens = _tokens(_join_lines(text))
    lines = _greedy(tokens, max_units)
    if len(lines) >= 2:  # the narrowest width giving as many lines: evenly filled lines read better
        width = float(math.ceil(_units("".join(lines)) / len(lines)))
        while width < max_units:
            balanced = _greedy(tokens, width)
            if len(balanced) == len(lines):
                return balanced
            width += 0.5
    return lines


def _greedy(tokens: Sequence[str], max_units: float) -> list[str]:
    lines: list[str] = []
    current = ""
    for token in tokens:
        if token == " ":
            if current:
                current += " "
            continue
        for piece in _split_long(token, max_units):
            if current and _units(current.rstrip() + piece) > max_units:
                lines.append(current.rstrip())
                current = ""
            current += piece
    if current.strip():
        lines.append(current.rstrip())
    return lines


def _join_lines(text: str) -> str:
    """Join cue lines: nothing between CJK characters, a space elsewhere."""
    parts = [p.strip() for p in text.splitlines() if p.strip()]
    joined = ""
    for part in parts:
        if joined and not (_is_cjk(joined[-1]) or joined[-1] in CLOSING) and not _is_cjk(part[0]):
            joined += " "
        joined += part
    return joined


def _split_long(token: str, max_units: float) -> Iterable[str]:
    """A token wider than a whole line, cut into line-sized pieces."""
    if _units(token) <= max_units:
        yield token
        return
    piece = ""
    for char in token:
        if piece and char not in CLOSING and _units(piece + char) > max_units:
            yield piece
            piece = ""
        piece += char
    if piece:
        yield piece


def escape_ass_text(text: str) -> str:
    """Make cue text literal in an ASS Dialogue line: braces cannot open override blocks and a
    backslash cannot start an escape (``\\N``, ``\\h``…)."""
    text = text.replace("\\", "\\" + _WORD_JOINER)
    return text.replace("{", "\\{").replace("}", "\\}")


@dataclass(frozen=True)
class ClipCue:
    """A cue in clip time, wrapped into display lines."""

    start: float
    end: float
    lines: tuple[str, ...]


def clip_cues(
    cues: Sequence[TranscriptCue], *, start: float, end: float, max_units: float, max_lines: int = MAX_LINES
) -> list[ClipCue]:
    """Cues overlapping ``[start, end)`` shifted to clip time, clipped to the window and wrapped.

    A cue that wraps to more than ``max_lines`` lines becomes several consecutive cues, its time
    shared by text length.
    """
    result: list[ClipCue] = []
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        s, e = max(cue.start, start) - start, min(cue.end, end) - start
        if e - s < MIN_CUE_SECONDS:
            continue
        lines = wrap_caption(cue.text, max_units)
        if not lines:
            continue
        groups = [lines[i : i + max_lines] for i in range(0, len(lines), max_lines)]
        weights = [max(1.0, sum(_units(line) for line in group)) for group in groups]
        total = sum(weights)
        at = s
        for group, weight in zip(groups, weights, strict=True):
            stop = min(e, at + (e - s) * weight / total)
            result.append(ClipCue(start=round(at, 3), end=round(stop, 3), lines=tuple(group)))
            at = stop
    return result


def _ass_time(seconds: float) -> str:
    centis = max(0, round(seconds * 100))
    hours, rest = divmod(centis, 360_000)
    minutes, rest = divmod(rest, 6000)
    secs, cs = divmod(rest, 100)
    return f"{hours}:{minutes:02d}:{secs:02d}.{cs:02d}"


def ass_document(cues: Sequence[ClipCue], preset: Preset, style: CaptionStyle, *, language: str = LANGUAGE) -> str:
    """A complete ASS script at the preset's resolution (no auto-wrap: lines carry explicit ``\\N``).

    ``language`` goes to libass's shaper: ``zh-Hans`` makes a Pan-CJK font (Noto Sans CJK TC included)
    draw Simplified glyph forms.
    """
    bold = -1 if style.bold else 0
    family = style.font_family.replace(",", " ")
    header = (
        "[Script Info]\n"
        "ScriptType: v4.00+\n"
        f"Language: {language}\n"
        f"PlayResX: {preset.width}\n"
        f"PlayResY: {preset.height}\n"
        "WrapStyle: 2\n"
        "ScaledBorderAndShadow: yes\n"
        "YCbCr Matrix: None\n\n"
        "[V4+ Styles]\n"
        "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
        "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
        "Alignment, MarginL, MarginR, MarginV, Encoding\n"
        f"Style: Default,{family},{style.font_size},&H00FFFFFF,&H000000FF,&H00000000,&H99000000,{bold},0,0,0,"
        f"100,100,0,0,1,{style.outline},{style.shadow},2,{style.margin_left},{style.margin_right},"
        f"{style.margin_bottom},1\n\n"
        "[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    )
    events = [
        f"Dialogue: 0,{_ass_time(c.start)},{_ass_time(c.end)},Default,,0,0,0,,"
        + "\\N".join(escape_ass_text(line) for line in c.lines)
        for c in cues
    ]
    return header + "".join(f"{e}\n" for e in events)


def write_ass(
    cues: Sequence[TranscriptCue],
    path: Path,
    *,
    start: float,
    end: float,
    preset: Preset,
    font_family: str,
    extra_bottom: int = 0,
    language: str = LANGUAGE,
) -> int:
    """Write the captions of ``[start, end)`` to ``path`` (atomically); returns how many events it holds."""
    style = caption_style(preset, font_family, extra_bottom=extra_bottom)
    events = clip_cues(cues, start=start, end=end, max_units=math.floor(line_capacity(preset, style)))
    text = ass_document(events, preset, style, language=language)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".captions.", suffix=".ass", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(events)
