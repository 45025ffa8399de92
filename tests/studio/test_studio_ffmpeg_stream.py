"""studio.ffmpeg: the streaming wrapper (chunks, errors, early close, timeout, cancel) and run_ffmpeg on the
internals it now shares with it. Every test runs the pinned ffmpeg for real."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from studio.errors import FFmpegCancelled, FFmpegError, FFmpegTimeout
from studio.ffmpeg import Progress, run_ffmpeg, stream_ffmpeg

RATE = 8000


def sine_pcm_args(seconds: float, *, realtime: bool = False) -> list[str]:
    """Arguments writing ``seconds`` of a 440 Hz sine as mono f32le at RATE to stdout (``-re``: at 1x speed)."""
    return [
        "-loglevel",
        "error",
        *(["-re"] if realtime else []),
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:sample_rate={RATE}:duration={seconds:g}",
        "-f",
        "f32le",
        "-ac",
        "1",
        "pipe:1",
    ]


def _children() -> set[int]:
    """Process ids whose parent is this process (zombies included: they keep their /proc entry)."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended while we looked
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            found.add(int(entry.name))
    return found


def _assert_reaped(pid: int) -> None:
    """``pid`` has exited and been waited for: no process, no zombie, nothing left to reap."""
    assert not Path(f"/proc/{pid}").exists(), f"ffmpeg {pid} is still there (running or a zombie)"
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _new_child(before: set[int]) -> int:
    (pid,) = _children() - before
    return pid


def test_stream_yields_whole_chunks_then_the_rest() -> None:
    with stream_ffmpeg(sine_pcm_args(1.0), chunk_bytes=10_000) as chunks:
        parts = list(chunks)
    assert [len(p) for p in parts] == [10_000, 10_000, 10_000, 2_000]  # 1 s * 8000 samples * 4 bytes
    samples = np.frombuffer(b"".join(parts), dtype="<f4")
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.argmax(spectrum) * RATE / samples.size == pytest.approx(440, abs=2)


def test_stream_error_carries_stderr(tmp_path: Path) -> None:
    missing = tmp_path / "missing.wav"
    with (
        pytest.raises(FFmpegError) as caught,
        stream_ffmpeg(["-i", str(missing), "-f", "f32le", "pipe:1"], chunk_bytes=4096) as chunks,
    ):
        list(chunks)
    error = caught.value
    assert type(error) is FFmpegError and error.returncode not in (0, None)
    assert "missing.wav" in error.stderr and "No such file" in error.stderr
    assert "No such file" in str(error) and error.cmd[-1] == "pipe:1"


def test_leaving_early_kills_and_reaps_ffmpeg() -> None:
    before = _children()
    with stream_ffmpeg(sine_pcm_args(600.0), chunk_bytes=4096) as chunks:
        first = next(chunks)
        pid = _new_child(before)
        assert Path(f"/proc/{pid}").exists()  # ten minutes of audio: ffmpeg is far from done
    assert len(first) == 4096
    _assert_reaped(pid)


def test_an_error_in_the_caller_kills_and_reaps_ffmpeg() -> None:
    before = _children()
    pid = 0

    def consume(chunks: Iterator[bytes]) -> None:
        nonlocal pid
        for _ in chunks:
            pid = _new_child(before)
            raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError), stream_ffmpeg(sine_pcm_args(600.0), chunk_bytes=4096) as chunks:
        consume(chunks)
    _assert_reaped(pid)


def test_stream_timeout_stops_ffmpeg() -> None:
    before = _children()
    got = 0
    with (
        pytest.raises(FFmpegTimeout) as caught,
        stream_ffmpeg(sine_pcm_args(60.0, realtime=True), chunk_bytes=RATE, timeout=1.0) as chunks,
    ):
        for chunk in chunks:
            got += len(chunk)
    assert 0 < got < 60 * RATE * 4  # some audio came, not a minute of it
    assert "limit" in str(caught.value)
    assert _children() <= before


def test_stream_cancel_stops_ffmpeg() -> None:
    before = _children()
    seen: list[bytes] = []
    with (
        pytest.raises(FFmpegCancelled),
        stream_ffmpeg(sine_pcm_args(600.0), chunk_bytes=4096, should_cancel=lambda: len(seen) >= 3) as chunks,
    ):
        for chunk in chunks:
            seen.append(chunk)
    assert len(seen) == 3
    assert _children() <= before


def test_stream_never_started_runs_nothing() -> None:
    before = _children()
    with stream_ffmpeg(sine_pcm_args(600.0), chunk_bytes=4096):
        assert _children() == before  # ffmpeg starts with the first chunk asked for
    with pytest.raises(ValueError), stream_ffmpeg(sine_pcm_args(1.0), chunk_bytes=0):
        pass


def test_run_ffmpeg_reports_progress_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "tone.wav"
    seen: list[Progress] = []
    run_ffmpeg(
        ["-y", "-f", "lavfi", "-i", f"sine=sample_rate={RATE}:duration=2", str(out)],
        duration=2.0,
        on_progress=seen.append,
    )
    assert out.stat().st_size > 2 * RATE and seen[-1].done and seen[-1].fraction == 1.0
    with pytest.raises(FFmpegError) as caught:
        run_ffmpeg(["-i", str(tmp_path / "nope.wav"), str(tmp_path / "x.wav")])
    assert "No such file" in caught.value.stderr
    with pytest.raises(FFmpegTimeout):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "sine=duration=60", "-f", "null", "-"], timeout=1.0)
    with pytest.raises(FFmpegCancelled):
        run_ffmpeg(["-re", "-f", "lavfi", "-i", "sine=duration=60", "-f", "null", "-"], should_cancel=lambda: True)
