"""The one way liveslice runs ffmpeg: a pinned binary, progress reporting, timeouts, typed errors.

Commands are built elsewhere as plain argument lists (pure functions that tests can inspect)
and handed to :func:`run_ffmpeg` (files out, progress reported) or :func:`stream_ffmpeg` (raw
output read from a pipe in chunks, e.g. decoded audio samples).
"""

from __future__ import annotations

import io
import os
import queue
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO

from studio.errors import FFmpegCancelled, FFmpegError, FFmpegTimeout, ToolchainError

FFMPEG_ENV = "LIVESLICE_FFMPEG"
ProgressCallback = Callable[["Progress"], None]
STDERR_TAIL_LINES = 200
POLL_SECONDS = 0.5  # how often a cancel callback and the deadline are checked


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
    proc, cmd = _spawn(args, binary, env, ["-progress", "pipe:1", "-nostats"])
    stderr_tail, err_reader = _drain_stderr(proc)
    out_reader = threading.Thread(target=_read_progress, args=(_text(proc.stdout), duration, on_progress), daemon=True)
    out_reader.start()

    watch = _Watch(timeout, should_cancel)
    reason: str | None = None
    while proc.poll() is None:
        try:
            proc.wait(timeout=POLL_SECONDS)
        except subprocess.TimeoutExpired:
            reason = watch.reason()
            if reason:
                _stop(proc)
                break
    out_reader.join(timeout=5)
    err_reader.join(timeout=5)
    _close_pipes(proc)
    stderr = "".join(stderr_tail)
    _raise_for_outcome(reason, watch, cmd, proc.returncode, stderr)
    return stderr


@contextmanager
def stream_ffmpeg(
    args: Sequence[str],
    *,
    chunk_bytes: int,
    binary: Path | None = None,
    timeout: float | None = None,
    should_cancel: Callable[[], bool] | None = None,
    env: dict[str, str] | None = None,
    read_ahead: int = 2,
) -> Iterator[Iterator[bytes]]:
    """Run ffmpeg with ``args`` (which write to ``pipe:1``); the context yields its stdout in chunks.

    ::

        with stream_ffmpeg(args, chunk_bytes=32000) as chunks:
            for chunk in chunks:
                ...

    ffmpeg starts with the first chunk asked for. Every chunk holds ``chunk_bytes`` except perhaps
    the last. A reader thread keeps up to ``read_ahead`` chunks buffered, so ffmpeg keeps decoding
    while the caller works on the previous one. Leaving the block before the end (``break``, an
    exception) kills and reaps ffmpeg. Reading to the end raises :class:`FFmpegError` (with stderr)
    when ffmpeg exited non-zero. Reading raises :class:`FFmpegTimeout` once ``timeout`` seconds have
    passed since the block was entered (time spent by the caller between chunks counts), and
    :class:`FFmpegCancelled` when ``should_cancel`` (polled about twice a second and before each
    chunk) returns True; either way ffmpeg is stopped and reaped first.
    """
    if chunk_bytes <= 0:
        raise ValueError(f"chunk_bytes must be positive, got {chunk_bytes}")
    chunks = _stream_chunks(args, chunk_bytes, binary, _Watch(timeout, should_cancel), env, max(1, read_ahead))
    try:
        yield chunks
    finally:
        chunks.close()


def _stream_chunks(
    args: Sequence[str],
    chunk_bytes: int,
    binary: Path | None,
    watch: _Watch,
    env: dict[str, str] | None,
    read_ahead: int,
) -> Generator[bytes, None, None]:
    proc, cmd = _spawn(args, binary, env, ["-nostats"])
    stderr_tail, err_reader = _drain_stderr(proc)
    stdout = proc.stdout
    assert isinstance(stdout, io.BufferedReader)
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=read_ahead)
    stop = threading.Event()
    reader = threading.Thread(target=_read_chunks, args=(stdout, chunk_bytes, chunks, stop), daemon=True)
    reader.start()
    reason: str | None = None
    at_end = False
    try:
        while not at_end:
            reason = watch.reason()
            if reason:
                break
            try:
                chunk = chunks.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if chunk is None:
                at_end = True
            else:
                yield chunk
        while at_end and proc.poll() is None and not reason:  # output is complete; let ffmpeg exit
            try:
                proc.wait(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                reason = watch.reason()
    finally:
        stop.set()
        if proc.poll() is None:
            _stop(proc, kill=not reason)  # told to stop: ask; the caller stopped reading: kill
        reader.join(timeout=5)
        err_reader.join(timeout=5)
        _close_pipes(proc)
    _raise_for_outcome(reason, watch, cmd, proc.returncode, "".join(stderr_tail))


class _Watch:
    """The stop conditions of one ffmpeg run: a deadline and a cancel callback."""

    def __init__(self, timeout: float | None, should_cancel: Callable[[], bool] | None) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout if timeout else None
        self.should_cancel = should_cancel

    def reason(self) -> str | None:
        """``"cancelled"``, ``"timeout"`` or None (keep going)."""
        if self.should_cancel is not None and self.should_cancel():
            return "cancelled"
        if self.deadline is not None and time.monotonic() > self.deadline:
            return "timeout"
        return None


def _spawn(
    args: Sequence[str], binary: Path | None, env: dict[str, str] | None, extra: list[str]
) -> tuple[subprocess.Popen[bytes], list[str]]:
    """Start ffmpeg with binary pipes for stdout and stderr; ``extra`` options go before ``args``."""
    exe = binary or resolve_ffmpeg()
    cmd = [str(exe), "-hide_banner", "-nostdin", *extra, *args]
    proc_env = {**os.environ, **env} if env else None
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=proc_env)
    except OSError as exc:
        raise ToolchainError(f"cannot start ffmpeg at {exe}: {exc}") from exc
    return proc, cmd


def _text(stream: IO[bytes] | None) -> io.TextIOWrapper:
    assert stream is not None
    return io.TextIOWrapper(stream, encoding="utf-8", errors="replace")


def _drain_stderr(proc: subprocess.Popen[bytes]) -> tuple[deque[str], threading.Thread]:
    """Keep the last lines of ffmpeg's stderr in a background thread (so a full pipe never blocks it)."""
    tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    thread = threading.Thread(target=_drain, args=(_text(proc.stderr), tail), daemon=True)
    thread.start()
    return tail, thread


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _raise_for_outcome(reason: str | None, watch: _Watch, cmd: list[str], returncode: int | None, stderr: str) -> None:
    if reason == "cancelled":
        raise FFmpegCancelled("ffmpeg was cancelled", args=cmd, returncode=returncode, stderr=stderr)
    if reason == "timeout":
        raise FFmpegTimeout(
            f"ffmpeg ran past its {watch.timeout:.0f} s limit", args=cmd, returncode=returncode, stderr=stderr
        )
    if returncode != 0:
        raise FFmpegError(f"ffmpeg failed with exit code {returncode}", args=cmd, returncode=returncode, stderr=stderr)


def _stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    """Ask ffmpeg to quit (or kill it outright), then kill it if it does not; always reaped."""
    if kill:
        proc.kill()
    else:
        proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _drain(stream: Iterable[str], sink: deque[str]) -> None:
    for line in stream:
        sink.append(line)


def _read_progress(stream: Iterable[str], duration: float | None, on_progress: ProgressCallback | None) -> None:
    block: dict[str, str] = {}
    for line in stream:
        key, _, value = line.strip().partition("=")
        if not key:
            continue
        block[key] = value
        if key == "progress":
            if on_progress is not None:
                on_progress(_parse_progress_block(block, duration))
            block = {}


def _read_chunks(stdout: io.BufferedReader, size: int, sink: queue.Queue[bytes | None], stop: threading.Event) -> None:
    """Read ``size``-byte chunks (the last may be short) into ``sink`` until EOF or ``stop``; then None."""
    while not stop.is_set():
        buf = bytearray(size)
        view = memoryview(buf)
        got = 0
        while got < size:
            try:
                n = stdout.readinto(view[got:])
            except ValueError:  # the pipe was closed under us: the consumer is gone
                n = 0
            if not n:
                break
            got += n
        if got:
            _put(sink, bytes(buf[:got]) if got < size else bytes(buf), stop)
        if got < size:
            break
    _put(sink, None, stop)


def _put(sink: queue.Queue[bytes | None], item: bytes | None, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            sink.put(item, timeout=0.2)
            return
        except queue.Full:
            continue
