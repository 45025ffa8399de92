"""Transcript import: SRT or WebVTT subtitles, in any supported encoding."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import PurePath

from sidedata.encoding import decode_text
from sidedata.errors import ProblemCollector
from sidedata.fields import out_of_range_warning
from sidedata.records import TranscriptCue
from sidedata.timeparse import TimeContext

_TIMING = re.compile(r"^\s*([\d:.,]+)\s*-->\s*([\d:.,]+)(.*)$")
_CUE_TIME = re.compile(r"^(?:(\d+):)?([0-5]?\d):([0-5]?\d)(?:[.,](\d{1,3}))?$")
_VTT_BLOCK = re.compile(r"^(NOTE|STYLE|REGION)(\s|$)")
_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d+:[\d:.]+>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}]*\}")
_MAX_LINES_LISTED = 10


@dataclass
class TranscriptResult:
    """Cues sorted by start (stable), the detected format ("srt"/"vtt"), counts, warnings."""

    cues: list[TranscriptCue]
    format: str = "srt"
    out_of_range: int = 0
    warnings: list[str] = field(default_factory=list)


def parse_cue_time(value: str) -> float:
    """Parse ``HH:MM:SS,mmm`` / ``HH:MM:SS.mmm`` / ``MM:SS.mmm`` to seconds."""
    match = _CUE_TIME.match(value.strip())
    if not match:
        raise ValueError(f"invalid timestamp {value.strip()!r}")
    hours, minutes, seconds, frac = match.groups()
    total = Decimal(int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds))
    if frac:
        total += Decimal(f"0.{frac}")
    return float(total)


def clean_cue_line(line: str, *, vtt: bool) -> str:
    """Remove markup (``<i>``, ``<c.x>``, ``<00:01.000>``, ``{\\an8}``) from one cue line."""
    text = _ASS_OVERRIDE.sub("", _TAG.sub("", line))
    if vtt:
        text = html.unescape(text)
    return text.strip()


def _block_end(lines: list[str], index: int) -> int:
    """Index of the first blank line at or after ``index`` (or len(lines))."""
    while index < len(lines) and lines[index].strip():
        index += 1
    return index


def _parse_cue(lines: list[str], index: int, end: int, vtt: bool, problems: ProblemCollector) -> TranscriptCue | None:
    line_no = index + 1
    match = _TIMING.match(lines[index])
    if not match:
        problems.add(line_no, None, f"invalid cue timing line {lines[index].strip()!r}")
        return None
    times: list[float] = []
    for name, raw in (("start", match.group(1)), ("end", match.group(2))):
        try:
            times.append(parse_cue_time(raw))
        except ValueError as exc:
            problems.add(line_no, name, str(exc))
    if len(times) != 2:
        return None
    start, stop = times
    if stop <= start:
        problems.add(line_no, "end", f"cue ends at {stop:g} s, not after its start {start:g} s")
        return None
    text_lines = [clean_cue_line(ln, vtt=vtt) for ln in lines[index + 1 : end]]
    return TranscriptCue(start=start, end=stop, text="\n".join(t for t in text_lines if t))


def parse_transcript(data: bytes, filename: str, *, ctx: TimeContext) -> TranscriptResult:
    """Parse SRT or WebVTT (by ``WEBVTT`` header or ``.vtt`` extension).

    Markup, VTT cue settings and NOTE/STYLE/REGION blocks are dropped; multi-line
    text is joined with ``\\n``. A cue with end <= start is an error (all or nothing).
    Cues left empty after cleaning are skipped; cues starting after ``ctx.duration``
    are dropped and counted in ``out_of_range``.
    """
    problems = ProblemCollector(filename)
    lines = re.split(r"\r\n|\r|\n", decode_text(data, filename))
    has_header = bool(lines) and lines[0].strip().startswith("WEBVTT")
    vtt = has_header or PurePath(filename).suffix.lower() == ".vtt"
    warnings: list[str] = []
    if vtt and not has_header:
        warnings.append(f"{filename}: WebVTT file without a WEBVTT header")
    index = 0
    if has_header:
        index = 1
        while index < len(lines) and lines[index].strip() and "-->" not in lines[index]:
            index += 1
    cues: list[tuple[int, TranscriptCue]] = []
    stray: list[int] = []
    empty = 0
    while index < len(lines):
        line = lines[index]
        if not line.strip():
            index += 1
        elif "-->" in line:
            end = _block_end(lines, index)
            cue = _parse_cue(lines, index, end, vtt, problems)
            if cue is not None and cue.text:
                cues.append((index + 1, cue))
            elif cue is not None:
                empty += 1
            index = end
        elif vtt and _VTT_BLOCK.match(line.strip()):
            index = _block_end(lines, index)
        elif index + 1 < len(lines) and "-->" in lines[index + 1]:
            index += 1  # cue number (SRT) or cue identifier (VTT)
        else:
            stray.append(index + 1)
            index = _block_end(lines, index)
    if not cues and not problems:
        problems.add(None, None, "no subtitle cues found (expected SRT or WebVTT)")
    problems.raise_if_any()
    if stray:
        listed = ", ".join(str(n) for n in stray[:_MAX_LINES_LISTED])
        warnings.append(
            f"{filename}: ignored text outside any cue on line(s) {listed}"
            + (", …" if len(stray) > _MAX_LINES_LISTED else "")
        )
    if empty:
        warnings.append(f"{filename}: skipped {empty} cue(s) with no text")
    cues.sort(key=lambda item: item[1].start)
    limit = ctx.duration
    dropped = [line for line, cue in cues if limit is not None and cue.start > limit]
    kept = [cue for _, cue in cues if limit is None or cue.start <= limit]
    if dropped:
        warnings.append(out_of_range_warning(filename, "cue", dropped, ctx))
    return TranscriptResult(cues=kept, format="vtt" if vtt else "srt", out_of_range=len(dropped), warnings=warnings)
