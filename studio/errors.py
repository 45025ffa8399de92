"""The media domain's error hierarchy."""

from __future__ import annotations


class StudioError(Exception):
    """Base class of every error raised by ``studio``."""


class ToolchainError(StudioError):
    """A required binary or font is missing or unusable; the message says how to fix it."""


class FFmpegError(StudioError):
    """ffmpeg exited non-zero; carries its command line and the tail of its stderr."""

    def __init__(self, message: str, *, args: list[str], returncode: int | None, stderr: str) -> None:
        super().__init__(message)
        self.cmd = args
        self.returncode = returncode
        self.stderr = stderr

    def __str__(self) -> str:
        tail = "\n".join(self.stderr.strip().splitlines()[-15:])
        return f"{self.args[0]}\n{tail}" if tail else str(self.args[0])


class FFmpegTimeout(FFmpegError):
    """ffmpeg ran past its time limit and was killed."""


class FFmpegCancelled(FFmpegError):
    """The caller asked ffmpeg to stop."""


class MediaError(StudioError):
    """A media file cannot be used. ``code`` is a stable machine-readable reason."""

    code = "bad_media"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class ProbeError(MediaError):
    """Probing found the file unusable (not media, no video, truncated, undecodable…)."""


class UnsafePlaylistError(MediaError):
    """An HLS playlist names something outside its own folder."""

    code = "unsafe_playlist"


class CardError(StudioError):
    """A card, cover, poster or QR code cannot be drawn from the given input (bad colour, image, URL…)."""


class AnalysisError(StudioError):
    """The highlight analysis cannot run as asked (bad parameters, unknown detector or preset...)."""
