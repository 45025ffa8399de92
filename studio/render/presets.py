"""Platform output presets and the one set of encoder flags every render shares.

A :class:`Preset` states what a platform accepts (resolution, frame rate, bitrate cap, maximum
duration, loudness target), whether a QR code may be burned into a corner, and the margins its
UI covers (caption bar, like/comment rail) so captions, cards and QR codes stay clear of them.
Platform limits follow DESIGN.md §4 (public docs; re-check them before relying on them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from studio.render.errors import RenderPlanError

__all__ = ["PLATFORM_PRESETS", "Preset", "QrPolicy", "encoder_args", "get_preset"]

QrPolicy = Literal["corner", "end_card", "none"]
MIN_FPS, MAX_FPS = 23, 60


@dataclass(frozen=True)
class Preset:
    """One output target. Safe-zone margins are pixels at ``width`` x ``height`` covered by platform UI.

    ``qr_policy``: ``corner`` may burn a QR into a corner for the whole clip; ``end_card`` puts it on an
    end card only (never a corner QR); ``none`` carries no QR at all.
    """

    name: str
    width: int
    height: int
    fps: int
    crf: int
    maxrate_kbps: int
    bufsize_kbps: int
    max_duration: float
    loudness_lufs: float
    true_peak_db: float
    qr_policy: QrPolicy
    safe_top: int
    safe_bottom: int
    safe_left: int
    safe_right: int
    audio_rate: int = 48000
    audio_bitrate_kbps: int = 128
    x264_preset: str = "veryfast"
    profile: str = "high"
    gop_seconds: float = 2.0
    min_duration: float = 0.0
    video_timescale: int = 90000
    label: str = ""

    def __post_init__(self) -> None:
        problems = []
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            problems.append(f"dimensions {self.width}x{self.height} must be positive and even (yuv420p)")
        if not MIN_FPS <= self.fps <= MAX_FPS:
            problems.append(f"fps {self.fps} is outside {MIN_FPS}-{MAX_FPS}")
        if not 0 <= self.crf <= 51:
            problems.append(f"crf {self.crf} is outside 0-51")
        if self.maxrate_kbps <= 0 or self.bufsize_kbps <= 0:
            problems.append("maxrate and bufsize must be positive")
        if self.max_duration <= self.min_duration:
            problems.append("max_duration must exceed min_duration")
        if self.safe_left + self.safe_right >= self.width or self.safe_top + self.safe_bottom >= self.height:
            problems.append("safe-zone margins leave no room")
        if self.qr_policy not in ("corner", "end_card", "none"):
            problems.append(f"unknown qr_policy {self.qr_policy!r}")
        if problems:
            raise RenderPlanError(f"preset {self.name!r}: " + "; ".join(problems))

    @property
    def gop(self) -> int:
        """Keyframe interval in frames (fixed, so base clips and end cards line up)."""
        return max(1, round(self.gop_seconds * self.fps))

    @property
    def portrait(self) -> bool:
        return self.height > self.width

    @property
    def safe_box(self) -> tuple[int, int, int, int]:
        """``(x, y, w, h)`` of the area no platform UI covers."""
        return (
            self.safe_left,
            self.safe_top,
            self.width - self.safe_left - self.safe_right,
            self.height - self.safe_top - self.safe_bottom,
        )

    def scaled(self, width: int, height: int, *, name: str | None = None) -> Preset:
        """The same preset at another (even) size, safe zones scaled to match (handy for tests and previews)."""
        sx, sy = width / self.width, height / self.height
        return replace(
            self,
            name=name or f"{self.name}-{width}x{height}",
            width=width,
            height=height,
            safe_top=round(self.safe_top * sy),
            safe_bottom=round(self.safe_bottom * sy),
            safe_left=round(self.safe_left * sx),
            safe_right=round(self.safe_right * sx),
        )


def _vertical(name: str, label: str, **overrides: object) -> Preset:
    """A 1080x1920 portrait preset; ``overrides`` change single fields."""
    values: dict[str, object] = {
        "name": name,
        "label": label,
        "width": 1080,
        "height": 1920,
        "fps": 30,
        "crf": 23,
        "maxrate_kbps": 8000,
        "bufsize_kbps": 16000,
        "max_duration": 900.0,
        "loudness_lufs": -14.0,
        "true_peak_db": -1.0,
        "qr_policy": "corner",
        "safe_top": 160,  # status bar, tabs, search
        "safe_bottom": 440,  # ~23%: author, description, music, comment bar
        "safe_left": 60,
        "safe_right": 160,  # like / comment / share rail
    }
    values.update(overrides)
    return Preset(**values)  # type: ignore[arg-type]


PLATFORM_PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        # Douyin: MP4, 720p+, up to 15 min; outside QR codes are discouraged -> end card only.
        _vertical("douyin", "抖音", qr_policy="end_card", safe_bottom=480),
        _vertical("kuaishou", "快手", safe_bottom=460),
        # WeChat Channels product videos: up to 180 s; QR codes go on the end card.
        _vertical("channels", "视频号", max_duration=180.0, qr_policy="end_card", safe_bottom=400, safe_right=120),
        # Xiaohongshu: 3:4 (or 9:16); a 3:4 note at 1080x1440.
        _vertical("xiaohongshu", "小红书", height=1440, safe_top=120, safe_bottom=240, safe_right=60),
        # TikTok: 3-600 s, 23-60 fps, 360-4096 px.
        _vertical("tiktok", "TikTok", min_duration=3.0, max_duration=600.0, safe_top=150, safe_bottom=480),
        # YouTube Shorts: up to 3 min, 9:16.
        _vertical("shorts", "YouTube Shorts", max_duration=180.0, safe_top=140, safe_bottom=380, safe_right=140),
        # Instagram Reels: 3 s-15 min, 23-60 fps, AAC <= 48 kHz, faststart.
        _vertical("reels", "Instagram Reels", min_duration=3.0, safe_top=220, safe_bottom=420, safe_right=140),
        _vertical(
            "square",
            "Square 1:1",
            height=1080,
            maxrate_kbps=6000,
            bufsize_kbps=12000,
            max_duration=3600.0,
            safe_top=40,
            safe_bottom=60,
            safe_left=40,
            safe_right=40,
        ),
        _vertical(
            "landscape",
            "Landscape 16:9",
            width=1920,
            height=1080,
            max_duration=3600.0,
            safe_top=40,
            safe_bottom=80,
            safe_left=60,
            safe_right=60,
        ),
    )
}


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive); :class:`RenderPlanError` lists the known ones."""
    try:
        return PLATFORM_PRESETS[name.strip().lower()]
    except KeyError:
        raise RenderPlanError(f"unknown preset {name!r}; choose one of: {', '.join(PLATFORM_PRESETS)}") from None


def encoder_args(preset: Preset) -> list[str]:
    """Video + audio encoding flags for an MP4 at ``preset``; shared with variants so end cards match.

    H.264 High yuv420p at a capped CRF, a fixed closed GOP (a keyframe at frame 0 and every
    ``gop_seconds``), constant frame rate, a fixed track timescale (so variants concat by stream copy),
    AAC-LC 48 kHz stereo at a fixed bitrate, and ``+faststart``.
    """
    gop = str(preset.gop)
    return [
        "-c:v",
        "libx264",
        "-preset",
        preset.x264_preset,
        "-profile:v",
        preset.profile,
        "-pix_fmt",
        "yuv420p",
        "-crf",
        str(preset.crf),
        "-maxrate",
        f"{preset.maxrate_kbps}k",
        "-bufsize",
        f"{preset.bufsize_kbps}k",
        "-g",
        gop,
        "-keyint_min",
        gop,
        "-sc_threshold",
        "0",
        "-r",
        str(preset.fps),
        "-fps_mode",
        "cfr",
        "-video_track_timescale",
        str(preset.video_timescale),
        "-c:a",
        "aac",
        "-profile:a",
        "aac_low",
        "-b:a",
        f"{preset.audio_bitrate_kbps}k",
        "-ar",
        str(preset.audio_rate),
        "-ac",
        "2",
        "-movflags",
        "+faststart",
    ]
