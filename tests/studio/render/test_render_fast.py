"""Fast mode: keyframe-aligned stream copy in source codecs, reporting where it really starts and ends."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import av
import pytest

from studio.ffmpeg import resolve_ffmpeg
from studio.probe import probe
from studio.render import RenderPlanError, copy_window, keyframe_at_or_before, make_plan, render_clip
from tests.studio.render.conftest import SMALL, MakeSource


def keyframes(path: Path) -> list[float]:
    """Keyframe times (seconds from the file's start), demuxed independently."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        origin = (container.start_time or 0) / av.time_base
        assert video.time_base is not None
        return sorted(
            float(p.pts * video.time_base) - origin
            for p in container.demux(video)
            if p.is_keyframe and p.pts is not None
        )


def video_packet_hashes(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [hashlib.sha1(bytes(p)).hexdigest() for p in container.demux(container.streams.video[0]) if p.size]


def clean_decode(path: Path) -> str:
    cmd = [str(resolve_ffmpeg()), "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stderr


@pytest.mark.parametrize("kind", ["long_bframes", "long_flv", "long_ts", "long_mkv"])
def test_fast_excerpt_starts_on_the_keyframe_and_stays_in_sync(
    render_source: MakeSource, tmp_path: Path, kind: str
) -> None:
    source = render_source(kind)
    keys = keyframes(source)
    expected_start = max(k for k in keys if k <= 7.7 + 1e-6)
    result = render_clip(make_plan(source, start=7.7, end=10.2, preset=SMALL, mode="fast"), tmp_path / "fast.mp4")
    assert result.mode == "fast" and result.report.fast
    assert result.actual_start == pytest.approx(expected_start, abs=1e-3)
    assert 10.2 <= result.actual_end <= 10.2 + 0.2  # through the last frame starting before the end
    facts = result.report.facts
    assert facts.first_packet_keyframe and facts.first_packet_pts == pytest.approx(0, abs=1e-3)
    assert facts.video_duration == pytest.approx(result.actual_end - result.actual_start, abs=1e-3)
    assert abs((facts.audio_duration or 0) - (facts.video_duration or 0)) <= 0.05
    assert facts.faststart and (facts.video_codec, facts.audio_codec) == ("h264", "aac")
    assert clean_decode(result.path) == ""
    if kind != "long_ts":  # a copy, not a re-encode: the packets are the source's own (TS is Annex B, MP4 is not)
        assert set(video_packet_hashes(result.path)) <= set(video_packet_hashes(source))


def test_fast_keeps_source_codecs_the_full_validator_would_reject(render_source: MakeSource, tmp_path: Path) -> None:
    source = render_source("odd")  # 321x179 yuv444p, 44.1 kHz mono
    result = render_clip(make_plan(source, start=0.3, end=2.0, preset=SMALL, mode="fast"), tmp_path / "f.mp4")
    info = probe(result.path)
    assert (info.width, info.height, info.pix_fmt, info.sample_rate) == (321, 179, "yuv444p", 44100)
    assert result.actual_start == 0.0


def test_fast_keeps_rotation_and_handles_silent_sources(render_source: MakeSource, tmp_path: Path) -> None:
    rotated = render_clip(
        make_plan(render_source("rotated"), start=0.5, end=2.0, preset=SMALL, mode="fast"), tmp_path / "r.mp4"
    )
    assert probe(rotated.path).rotation == probe(render_source("rotated")).rotation != 0
    silent = render_clip(
        make_plan(render_source("noaudio"), start=0.5, end=2.0, preset=SMALL, mode="fast"), tmp_path / "s.mp4"
    )
    assert silent.report.facts.audio_codec is None


def test_copy_window_and_keyframe_lookup(render_source: MakeSource) -> None:
    source = render_source("long_bframes")
    keys = keyframes(source)
    assert keys[:3] == pytest.approx([0.0, 1.5, 3.0])
    assert keyframe_at_or_before(source, 4.4) == pytest.approx(3.0)
    assert keyframe_at_or_before(source, 4.5) == pytest.approx(4.5)
    window = copy_window(source, 4.6, 6.0)
    assert window.start == pytest.approx(4.5) and window.end >= 6.0
    assert window.video_packets >= round((6.0 - 4.5) * 30)


def test_fast_mode_refuses_overlays(render_source: MakeSource) -> None:
    with pytest.raises(RenderPlanError, match="fast mode"):
        make_plan(render_source("landscape"), start=0.5, end=2.0, preset=SMALL, mode="fast", reframe="blur")
