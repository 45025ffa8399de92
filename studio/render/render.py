"""Run a :class:`RenderPlan`: one ffmpeg pass (or, in fast mode, a stream-copy remux) to a temp file
beside the output, validate it, then rename it into place.

Accurate mode measures the window's loudness first (one audio-only pass) unless the plan knows it.
On any failure (bad plan, ffmpeg error, timeout, cancel, failed validation) nothing is left at the
final path and the temp folder is removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from studio.errors import FFmpegCancelled, FFmpegError, FFmpegTimeout
from studio.ffmpeg import ProgressCallback, run_ffmpeg
from studio.render.errors import RenderFailed
from studio.render.fastcut import CopyWindow, copy_window, stream_copy
from studio.render.graph import build_render_args
from studio.render.loudness import Loudness, gain_to_target, measure_loudness
from studio.render.plan import RenderPlan
from studio.render.validate import ValidationReport, validate_output

__all__ = ["CopyWindow", "RenderResult", "copy_window", "keyframe_at_or_before", "render_clip"]


@dataclass(frozen=True)
class RenderResult:
    """A finished clip. ``actual_start``/``actual_end`` are source times (the keyframe in fast mode);
    ``command`` is the ffmpeg argument list (empty in fast mode, which remuxes in-process)."""

    path: Path
    duration: float
    report: ValidationReport
    actual_start: float
    actual_end: float
    mode: str
    command: list[str]
    gain_db: float | None = None
    loudness: Loudness | None = None


def keyframe_at_or_before(source: Path, time: float) -> float:
    """Source time of the last video keyframe at or before ``time`` (demux only)."""
    return copy_window(source, time, time + 1e-3).start


def render_clip(
    plan: RenderPlan,
    output: Path,
    *,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> RenderResult:
    """Render ``plan`` to ``output`` (MP4) and validate it; see the module docstring for guarantees.

    Raises :class:`RenderPlanError`/:class:`RenderFontError` for bad input, :class:`RenderFailed`
    with ffmpeg's stderr when ffmpeg fails (e.g. a corrupt source region),
    :class:`RenderValidationError` when the output fails its checks, and
    :class:`~studio.errors.FFmpegTimeout`/:class:`~studio.errors.FFmpegCancelled` as run_ffmpeg does.
    """
    output = Path(output).absolute()
    output.parent.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f".{output.stem}.render-", dir=output.parent))
    temp = workdir / "out.mp4"
    try:
        if plan.mode == "fast":
            result = _render_fast(plan, temp, on_progress=on_progress, timeout=timeout, should_cancel=should_cancel)
        else:
            result = _render_accurate(
                plan, temp, workdir, on_progress=on_progress, timeout=timeout, should_cancel=should_cancel
            )
        os.replace(temp, output)
        return replace(result, path=output)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(args: list[str], *, duration: float, env: dict[str, str] | None = None, **kwargs: object) -> None:
    try:
        run_ffmpeg(args, duration=duration, env=env or None, **kwargs)  # type: ignore[arg-type]
    except (FFmpegTimeout, FFmpegCancelled):
        raise
    except FFmpegError as exc:
        raise RenderFailed(
            f"ffmpeg could not render the clip (exit code {exc.returncode}); the source may be corrupt in this region",
            stderr=exc.stderr,
            cmd=exc.cmd,
        ) from exc


def _render_accurate(
    plan: RenderPlan,
    temp: Path,
    workdir: Path,
    *,
    on_progress: ProgressCallback | None,
    timeout: float | None,
    should_cancel: Callable[[], bool] | None,
) -> RenderResult:
    gain = plan.resolved_gain_db()
    loudness: Loudness | None = None
    if gain is None:  # measure the window once (audio only), then render in one pass
        try:
            loudness = measure_loudness(
                plan.source, start=plan.start, end=plan.end, timeout=timeout, should_cancel=should_cancel
            )
        except (FFmpegTimeout, FFmpegCancelled):
            raise
        except FFmpegError as exc:
            raise RenderFailed("could not measure the clip's loudness", stderr=exc.stderr, cmd=exc.cmd) from exc
        gain = gain_to_target(loudness.integrated, plan.preset.loudness_lufs)
    args, env = build_render_args(plan, temp, workdir, gain_db=gain)
    _run(
        args,
        duration=plan.output_duration,
        env=env,
        on_progress=on_progress,
        timeout=timeout,
        should_cancel=should_cancel,
    )
    report = validate_output(temp, preset=plan.preset, expected_duration=plan.output_duration)
    return RenderResult(
        path=temp,
        duration=report.duration or plan.output_duration,
        report=report,
        actual_start=plan.start,
        actual_end=plan.start + plan.output_duration,
        mode="accurate",
        command=args,
        gain_db=gain,
        loudness=loudness,
    )


def _render_fast(
    plan: RenderPlan,
    temp: Path,
    *,
    on_progress: ProgressCallback | None,
    timeout: float | None,
    should_cancel: Callable[[], bool] | None,
) -> RenderResult:
    window = stream_copy(
        plan.source,
        temp,
        start=plan.start,
        end=plan.end,
        on_progress=on_progress,
        timeout=timeout,
        should_cancel=should_cancel,
    )
    report = validate_output(temp, preset=None, expected_duration=window.duration, fast=True)
    return RenderResult(
        path=temp,
        duration=report.duration or window.duration,
        report=report,
        actual_start=round(window.start, 6),
        actual_end=round(window.end, 6),
        mode="fast",
        command=[],
    )
