"""What a probe found, as plain data: importable without PyAV.

:mod:`studio.probe` fills these in. A process that only reads or passes them on (the API, which
probes in a short-lived child through :mod:`studio.probe_isolated`) need not load PyAV for them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["MediaInfo", "StreamInfo"]


@dataclass(frozen=True)
class StreamInfo:
    """One stream of the file: its index, kind (video/audio/subtitle/data…) and codec (None if unknown)."""

    index: int
    kind: str
    codec: str | None


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`studio.probe.probe` found. ``rotation`` is clockwise degrees to turn the coded picture upright."""

    path: str
    container: str
    duration: float
    size_bytes: int
    bit_rate: int | None
    video_codec: str
    width: int
    height: int
    rotation: int
    display_width: int
    display_height: int
    fps: float | None
    variable_frame_rate: bool | None
    pix_fmt: str | None
    audio_codec: str | None
    sample_rate: int | None
    channels: int | None
    streams: tuple[StreamInfo, ...] = ()

    @property
    def has_audio(self) -> bool:
        return self.audio_codec is not None

    @property
    def portrait(self) -> bool:
        return self.display_height > self.display_width

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of every field plus ``has_audio``."""
        data = asdict(self)
        data["streams"] = [asdict(s) for s in self.streams]
        data["has_audio"] = self.has_audio
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MediaInfo:
        """Inverse of :meth:`to_dict` (extra keys such as ``has_audio`` are ignored)."""
        names = set(cls.__dataclass_fields__) - {"streams"}
        streams = tuple(StreamInfo(**s) for s in data.get("streams", ()))
        return cls(**{k: v for k, v in data.items() if k in names}, streams=streams)
