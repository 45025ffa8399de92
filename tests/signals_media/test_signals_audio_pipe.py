"""The audio decode pipe: the regrouped graph yields exactly the samples of a plain ``-ac 1 -ar`` decode."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from studio.ffmpeg import resolve_ffmpeg, run_ffmpeg
from studio.signals.audio import audio_pipe_args


@pytest.fixture(scope="module")
def stereo_aac(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """7.3 s of stereo 48 kHz AAC (different tones left and right) under a small video."""
    out = tmp_path_factory.mktemp("pipe") / "stereo.mp4"
    tones = "0.4*sin(2*PI*330*t)|0.3*sin(2*PI*1250*t)*sin(2*PI*3*t)"
    sources = ["-f", "lavfi", "-i", f"aevalsrc='{tones}':s=48000:d=7.3", "-f", "lavfi", "-i", "color=s=64x64:r=5:d=7.3"]
    codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"]
    run_ffmpeg(["-y", *sources, "-map", "1:v", "-map", "0:a", *codecs, str(out)])
    return out


def _decode(args: list[str]) -> np.ndarray:
    cmd = [str(resolve_ffmpeg()), "-hide_banner", "-nostdin", *args]
    return np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, dtype="<f4")


@pytest.mark.parametrize("rate", [8000, 16000])
def test_regrouped_graph_gives_the_plain_decode_bit_for_bit(stereo_aac: Path, rate: int) -> None:
    plain = ["-loglevel", "error", "-i", str(stereo_aac), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(rate)]
    expected = _decode([*plain, "-f", "f32le", "pipe:1"])
    got = _decode(audio_pipe_args(stereo_aac, rate))
    assert got.size == expected.size > 7 * rate  # the last, partial frame is kept (no padding)
    np.testing.assert_array_equal(got, expected)
