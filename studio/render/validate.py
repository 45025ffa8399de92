"""Probe a rendered MP4 and fail loudly when a platform would reject or mangle it.

Full checks: H.264 High + yuv420p, AAC at 48 kHz, moov before mdat (faststart), the preset's
dimensions and frame rate, duration within ±0.1 s of the plan, audio and video durations within
50 ms, and a keyframe first at pts 0. ``fast=True`` (stream-copy excerpts in source codecs) keeps
only faststart, A/V sync and the keyframe at 0. Stream facts come from PyAV (demux only, no decode).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import av
import av.error

from studio.render.errors import RenderValidationError
from studio.render.presets import Preset

__all__ = [
    "AV_SYNC_TOLERANCE",
    "DURATION_TOLERANCE",
    "OutputFacts",
    "ValidationReport",
    "inspect_output",
    "mp4_top_level_boxes",
    "validate_output",
]

DURATION_TOLERANCE = 0.1  # seconds, output vs plan
AV_SYNC_TOLERANCE = 0.05  # seconds, audio vs video stream duration
FPS_TOLERANCE = 0.01  # share of the frame duration a packet may deviate by
_MAX_BOXES = 10_000


@dataclass(frozen=True)
class OutputFacts:
    """What :func:`inspect_output` found in a file (``None`` where a stream or value is missing)."""

    path: str
    boxes: tuple[str, ...]
    video_codec: str | None
    profile: str | None
    pix_fmt: str | None
    width: int | None
    height: int | None
    video_start: float | None
    video_duration: float | None
    frame_durations: tuple[float, ...] = field(repr=False)
    first_packet_keyframe: bool | None
    first_packet_pts: float | None
    audio_codec: str | None
    audio_profile: str | None
    sample_rate: int | None
    channels: int | None
    audio_duration: float | None
    duration: float | None

    @property
    def faststart(self) -> bool:
        """moov comes before the first mdat at the top level of the file."""
        if "moov" not in self.boxes:
            return False
        return "mdat" not in self.boxes or self.boxes.index("moov") < self.boxes.index("mdat")

    @property
    def frame_rate(self) -> float | None:
        """Frames per second from the median packet duration."""
        if not self.frame_durations:
            return None
        median = sorted(self.frame_durations)[len(self.frame_durations) // 2]
        return 1.0 / median if median > 0 else None


@dataclass(frozen=True)
class ValidationReport:
    """A file that passed: its facts and which checks ran."""

    path: str
    facts: OutputFacts
    checks: tuple[str, ...]
    fast: bool
    expected_duration: float | None
    preset: str | None = None
    warnings: tuple[str, ...] = field(default=())

    @property
    def duration(self) -> float | None:
        return self.facts.duration


def mp4_top_level_boxes(path: Path) -> list[str]:
    """Types of the top-level ISO-BMFF boxes in file order (handles 64-bit and to-end sizes).

    Stops quietly at anything that does not look like a box (then the list ends early).
    """
    boxes: list[str] = []
    size = path.stat().st_size
    offset = 0
    with path.open("rb") as fh:
        while offset + 8 <= size and len(boxes) < _MAX_BOXES:
            fh.seek(offset)
            header = fh.read(16)
            box_size, raw_type = struct.unpack(">I4s", header[:8])
            try:
                box_type = raw_type.decode("ascii")
            except UnicodeDecodeError:
                break
            if not box_type.isprintable():
                break
            boxes.append(box_type)
            if box_size == 1:
                if len(header) < 16:
                    break
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                break  # the box runs to the end of the file
            if box_size < 8:
                break
            offset += box_size
    return boxes


def inspect_output(path: Path) -> OutputFacts:
    """Stream facts of ``path``: codecs, profile, size, packet timing (demux only)."""
    path = Path(path)
    boxes = tuple(mp4_top_level_boxes(path))
    with av.open(str(path), metadata_errors="replace") as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        v_times: list[tuple[float, float, bool]] = []  # (pts, duration, keyframe) in seconds
        a_span: list[float] = []
        streams = [s for s in (video, audio) if s is not None]
        for packet in container.demux(streams):
            if packet.pts is None or packet.time_base is None:
                continue
            pts, dur = float(packet.pts * packet.time_base), float((packet.duration or 0) * packet.time_base)
            if packet.stream.type == "video":
                v_times.append((pts, dur, packet.is_keyframe))
            else:
                a_span.extend((pts, pts + dur))
        duration = container.duration / av.time_base if container.duration else None
        vcc = video.codec_context if video is not None else None
        acc = audio.codec_context if audio is not None else None
        first = v_times[0] if v_times else None
        ordered = sorted(t[0] for t in v_times)
        video_start = ordered[0] if ordered else None
        video_end = max((t[0] + t[1] for t in v_times), default=None)
        audio_start = max(0.0, min(a_span)) if a_span else None  # encoder priming sits before 0
        audio_end = max(a_span) if a_span else None
        return OutputFacts(
            path=str(path),
            boxes=boxes,
            video_codec=vcc.name if vcc is not None else None,
            profile=vcc.profile if vcc is not None else None,
            pix_fmt=(vcc.pix_fmt if vcc is not None else None),
            width=vcc.width if vcc is not None else None,
            height=vcc.height if vcc is not None else None,
            video_start=video_start,
            video_duration=(video_end - max(video_start, 0.0))
            if video_end is not None and video_start is not None
            else None,
            frame_durations=tuple(b - a for a, b in pairwise(ordered)),
            first_packet_keyframe=first[2] if first else None,
            first_packet_pts=first[0] if first else None,
            audio_codec=acc.name if acc is not None else None,
            audio_profile=acc.profile if acc is not None else None,
            sample_rate=acc.sample_rate if acc is not None else None,
            channels=acc.layout.nb_channels if acc is not None else None,
            audio_duration=(audio_end - audio_start) if audio_end is not None and audio_start is not None else None,
            duration=duration,
        )


def validate_output(
    path: Path,
    *,
    preset: Preset | None = None,
    expected_duration: float | None = None,
    fast: bool = False,
    require_audio: bool | None = None,
) -> ValidationReport:
    """Check ``path``; return a :class:`ValidationReport` or raise :class:`RenderValidationError`
    listing every failed check.

    ``fast=True`` checks only faststart, A/V sync and the keyframe at 0 (stream-copy excerpts).
    ``require_audio`` defaults to True for full checks and False for ``fast``.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise RenderValidationError([f"{path} is missing or empty"], path=str(path))
    try:
        facts = inspect_output(path)
    except (av.error.FFmpegError, OSError) as exc:
        raise RenderValidationError([f"not a readable media file: {exc}"], path=str(path)) from exc
    require_audio = (not fast) if require_audio is None else require_audio
    problems: list[str] = []
    checks: list[str] = []

    checks.append("faststart")
    if not facts.faststart:
        problems.append(f"moov is not before mdat (no +faststart); top-level boxes: {' '.join(facts.boxes) or '?'}")

    checks.append("keyframe_at_0")
    if facts.video_codec is None:
        problems.append("no video stream")
    elif not facts.first_packet_keyframe or facts.first_packet_pts is None or abs(facts.first_packet_pts) > 1e-3:
        problems.append(
            f"first video packet is not a keyframe at pts 0 (keyframe={facts.first_packet_keyframe}, "
            f"pts={facts.first_packet_pts})"
        )

    checks.append("av_sync")
    if facts.audio_codec is None:
        if require_audio:
            problems.append("no audio stream (platforms expect AAC audio; render silence instead)")
    elif facts.video_duration is not None and facts.audio_duration is not None:
        gap = abs(facts.video_duration - facts.audio_duration)
        if gap > AV_SYNC_TOLERANCE:
            problems.append(
                f"audio ({facts.audio_duration:.3f} s) and video ({facts.video_duration:.3f} s) durations differ "
                f"by {gap * 1000:.0f} ms (> {AV_SYNC_TOLERANCE * 1000:.0f} ms)"
            )

    if not fast:
        checks.extend(["h264_high", "yuv420p", "aac_48k"])
        if facts.video_codec is not None and (facts.video_codec != "h264" or facts.profile != "High"):
            problems.append(f"video is {facts.video_codec} profile {facts.profile}, expected h264 High")
        if facts.pix_fmt is not None and facts.pix_fmt != "yuv420p":
            problems.append(f"pixel format is {facts.pix_fmt}, expected yuv420p")
        if facts.audio_codec is not None and (facts.audio_codec != "aac" or facts.sample_rate != 48000):
            problems.append(f"audio is {facts.audio_codec} at {facts.sample_rate} Hz, expected AAC at 48000 Hz")
        if preset is not None:
            checks.extend(["dimensions", "frame_rate"])
            problems.extend(_preset_problems(facts, preset))
    if expected_duration is not None:
        checks.append("duration")
        if facts.duration is None or abs(facts.duration - expected_duration) > DURATION_TOLERANCE:
            got = "unknown" if facts.duration is None else f"{facts.duration:.3f} s"
            problems.append(f"duration is {got}, planned {expected_duration:.3f} s (±{DURATION_TOLERANCE} s)")

    if problems:
        raise RenderValidationError(problems, path=str(path))
    return ValidationReport(
        path=str(path),
        facts=facts,
        checks=tuple(checks),
        fast=fast,
        expected_duration=expected_duration,
        preset=preset.name if preset is not None else None,
    )


def _preset_problems(facts: OutputFacts, preset: Preset) -> list[str]:
    problems: list[str] = []
    if (facts.width, facts.height) != (preset.width, preset.height):
        problems.append(
            f"size is {facts.width}x{facts.height}, preset {preset.name} needs {preset.width}x{preset.height}"
        )
    frame = 1.0 / preset.fps
    if facts.frame_durations:
        worst = max(abs(d - frame) for d in facts.frame_durations)
        if worst > FPS_TOLERANCE * frame + 1e-6:
            problems.append(
                f"frame rate is not a constant {preset.fps} fps (frame duration off by up to {worst:.4f} s)"
            )
    return problems
