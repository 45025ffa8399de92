"""The one way liveslice runs ffmpeg: a pinned binary, progress reporting, timeouts, typed errors.

Commands are built elsewhere as plain argument lists (pure functions that tests can inspect)
and handed to :func:`run_ffmpeg`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from studio.errors import FFmpegCancelled, FFmpegError, FFmpegTimeout, ToolchainError

FFMPEG_ENV = "LIVESLICE_FFMPEG"
ProgressCallback = Callable[["Progress"], None]
STDERR_TAIL_LINES = 200


@dataclass(frozen=True)
class Progress:
    """One ``-progress`` report: seconds of output written so far, and a fraction when known."""

    out_seconds: float
    fraction: float | None
    speed: float | None
    done: bool


def resolve_ffmpeg(explicit: str | None = None) -> Path:
    """The ffmpeg to use: ``explicit``, else ``$LIVESLICE_FFMPEG``, else imageio-ffmpeg's pinned build.

    Never whatever ffmpeg happens to be on PATH: other builds speak other dialects.
    """
    chosen = explicit or os.environ.get(FFMPEG_ENV, "")
    if chosen:
        found = shutil.which(chosen) if os.sep not in chosen else chosen
        if not found or not Path(found).is_file():
            raise ToolchainError(f"ffmpeg named by {FFMPEG_ENV} not found: {chosen!r}")
        return Path(found)
    return _bundled_ffmpeg()


@lru_cache(maxsize=1)
def _bundled_ffmpeg() -> Path:
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ToolchainError("imageio-ffmpeg is not installed: pip install imageio-ffmpeg") from exc
    try:
        return Path(imageio_ffmpeg.get_ffmpeg_exe())
    except RuntimeError as exc:
        raise ToolchainError(
            f"imageio-ffmpeg ships no ffmpeg for this platform ({exc}); set {FFMPEG_ENV} to an ffmpeg >= 7"
        ) from exc


@lru_cache(maxsize=8)
def ffmpeg_version(binary: Path) -> str:
    """First line of ``ffmpeg -version``."""
    out = subprocess.run([str(binary), "-hide_banner", "-version"], capture_output=True, text=True, check=False)
    return out.stdout.splitlines()[0].split(" Copyright")[0] if out.stdout else "unknown"


def _parse_progress_block(block: dict[str, str], duration: float | None) -> Progress:
    out_us = block.get("out_time_us") or block.get("out_time_ms") or "0"
    try:
        seconds = max(0.0, int(out_us) / 1_000_000)
    except ValueError:
        seconds = 0.0
    speed_text = block.get("speed", "").rstrip("x").strip()
    try:
        speed: float | None = float(speed_text)
    except ValueError:
        speed = None
    done = block.get("progress") == "end"
    fraction = None
    if duration and duration > 0:
        fraction = 1.0 if done else min(1.0, seconds / duration)
    return Progress(out_seconds=seconds, fraction=fraction, speed=speed, done=done)


def run_ffmpeg(
    args: Sequence[str],
    *,
    binary: Path | None = None,
    duration: float | None = None,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    should_cancel: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run ffmpeg with ``args`` (everything after the binary) and return its stderr.

    ``duration`` is the expected output length, for progress fractions. ``should_cancel`` is
    polled about twice a second; when it returns True, ffmpeg is stopped and
    :class:`FFmpegCancelled` is raised. Raises :class:`FFmpegTimeout` past ``timeout`` seconds
    and :class:`FFmpegError` (with stderr) on a non-zero exit.
    """
    exe = binary or resolve_ffmpeg()
    cmd = [str(exe), "-hide_banner", "-nostdin", "-progress", "pipe:1", "-nostats", *args]
    proc_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=proc_env, text=True, errors="replace"
        )
    except OSError as exc:
        raise ToolchainError(f"cannot start ffmpeg at {exe}: {exc}") from exc

    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    err_reader = threading.Thread(target=_drain, args=(proc.stderr, stderr_tail), daemon=True)
    err_reader.start()
    out_reader = threading.Thread(
        target=_read_progress, args=(proc.stdout, duration, on_progress), daemon=True
    )
    out_reader.start()

    deadline = time.monotonic() + timeout if timeout else None
    reason: str | None = None
    while proc.poll() is None:
        try:
            proc.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            if should_cancel is not None and should_cancel():
                reason = "cancelled"
            elif deadline is not None and time.monotonic() > deadline:
                reason = "timeout"
            if reason:
                _stop(proc)
                break
    out_reader.join(timeout=5)
    err_reader.join(timeout=5)
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    stderr = "".join(stderr_tail)
    if reason == "cancelled":
        raise FFmpegCancelled("ffmpeg was cancelled", args=cmd, returncode=proc.returncode, stderr=stderr)
    if reason == "timeout":
        raise FFmpegTimeout(
            f"ffmpeg ran past its {timeout:.0f} s limit", args=cmd, returncode=proc.returncode, stderr=stderr
        )
    if proc.returncode != 0:
        raise FFmpegError(
            f"ffmpeg failed with exit code {proc.returncode}",
            args=cmd,
            returncode=proc.returncode,
            stderr=stderr,
        )
    return stderr


def _stop(proc: subprocess.Popen[str]) -> None:
    """Ask ffmpeg to quit, then kill it if it does not."""
    proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _drain(stream: object, sink: deque[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        sink.append(line)


def _read_progress(stream: object, duration: float | None, on_progress: ProgressCallback | None) -> None:
    block: dict[str, str] = {}
    for line in stream:  # type: ignore[attr-defined]
        key, _, value = line.strip().partition("=")
        if not key:
            continue
        block[key] = value
        if key == "progress":
            if on_progress is not None:
                on_progress(_parse_progress_block(block, duration))
            block = {}
