"""Loudness: one audio-only measurement of the clip window, then a fixed gain in the render."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.ffmpeg import run_ffmpeg
from studio.render import RenderError, gain_to_target, loudness_args, make_plan, measure_loudness, parse_ebur128
from studio.render.render import render_clip
from tests.studio.render.conftest import SMALL

SUMMARY = """
[Parsed_ebur128_0 @ 0x7f] Summary:

  Integrated loudness:
    I:         -21.8 LUFS
    Threshold: -31.8 LUFS

  Loudness range:
    LRA:         3.5 LU
    Threshold:   0.0 LUFS
"""


def test_parse_summary() -> None:
    measured = parse_ebur128("frame log...\n  I: -5.0 LUFS (momentary)\n" + SUMMARY)
    assert measured.integrated == -21.8 and measured.lra == 3.5
    assert parse_ebur128(SUMMARY.replace("-21.8", "-inf")).integrated == -70.0
    with pytest.raises(RenderError, match="no EBU R128"):
        parse_ebur128("nothing useful")


def test_args_decode_only_the_window_audio() -> None:
    args = loudness_args(Path("/r.flv"), start=12.5, end=42.5)
    assert args[args.index("-ss") + 1] == "12.500" and args[args.index("-t") + 1] == "30.000"
    assert args.index("-ss") < args.index("-i")
    assert "-vn" in args and args[args.index("-map") + 1] == "0:a:0"
    assert "ebur128=framelog=quiet" in args and args[-3:] == ["-f", "null", "-"]
    with pytest.raises(RenderError):
        loudness_args(Path("/r.flv"), start=5, end=5)


def test_gain_to_target() -> None:
    assert gain_to_target(-20.0, -14.0) == 6.0
    assert gain_to_target(-8.0, -14.0) == -6.0
    assert gain_to_target(-70.0, -14.0) == 0.0  # silence is not boosted
    assert gain_to_target(-50.0, -14.0) == 20.0  # capped


def quiet_tone(path: Path) -> Path:
    run_ffmpeg(
        [
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=30:duration=4",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=500:sample_rate=48000:duration=4,volume=-6dB",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ]
    )
    return path


@pytest.mark.slow
def test_render_normalises_to_the_preset_target(tmp_path: Path) -> None:
    source = quiet_tone(tmp_path / "quiet.mp4")
    before = measure_loudness(source, start=0.5, end=3.5)
    assert before.integrated < -25
    result = render_clip(make_plan(source, start=0.5, end=3.5, preset=SMALL), tmp_path / "loud.mp4")
    assert result.loudness is not None and result.loudness.integrated == pytest.approx(before.integrated, abs=0.2)
    assert result.gain_db == pytest.approx(SMALL.loudness_lufs - before.integrated, abs=0.01)
    after = measure_loudness(result.path, start=0.0, end=3.0)
    assert after.integrated == pytest.approx(SMALL.loudness_lufs, abs=1.0)
    # a known measurement skips the analysis pass; normalisation can be switched off
    known = render_clip(make_plan(source, start=0.5, end=3.5, preset=SMALL, source_lufs=-30.0), tmp_path / "k.mp4")
    assert known.loudness is None and known.gain_db == 16.0
    off = render_clip(make_plan(source, start=0.5, end=3.5, preset=SMALL, normalize_loudness=False), tmp_path / "o.mp4")
    assert off.gain_db == 0.0
    assert measure_loudness(off.path, start=0, end=3).integrated == pytest.approx(before.integrated, abs=1.0)
