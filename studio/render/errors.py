"""Errors of the clip renderer: one family under :class:`studio.errors.StudioError`.

Each class carries a stable ``code`` for callers that map errors to API answers.
Timeouts and cancellation keep their own types (:class:`studio.errors.FFmpegTimeout`,
:class:`studio.errors.FFmpegCancelled`) so workers can retry or stop on them.
"""

from __future__ import annotations

from collections.abc import Sequence

from studio.errors import StudioError

__all__ = ["RenderError", "RenderFailed", "RenderFontError", "RenderPlanError", "RenderValidationError"]


class RenderError(StudioError):
    """Base class of every render error."""

    code = "render_error"


class RenderPlanError(RenderError, ValueError):
    """The plan asks for something impossible: times outside the source, start >= end, too long for the
    preset, a corner QR where the preset forbids it, a missing overlay image…"""

    code = "bad_plan"


class RenderFontError(RenderError):
    """No usable CJK font for captions (they would vanish or render as tofu boxes)."""

    code = "missing_font"


class RenderFailed(RenderError):
    """ffmpeg failed on this render (e.g. a corrupt source region); carries the tail of its stderr."""

    code = "ffmpeg_failed"

    def __init__(self, message: str, *, stderr: str = "", cmd: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.cmd = list(cmd)

    def __str__(self) -> str:
        tail = "\n".join(self.stderr.strip().splitlines()[-12:])
        return f"{self.args[0]}\n{tail}" if tail else str(self.args[0])


class RenderValidationError(RenderError):
    """The output failed the platform checks; ``problems`` lists every failed check."""

    code = "invalid_output"

    def __init__(self, problems: Sequence[str], *, path: str = "") -> None:
        self.problems = list(problems)
        self.path = path
        where = f"{path}: " if path else ""
        super().__init__(f"{where}output failed {len(self.problems)} check(s): " + "; ".join(self.problems))
