"""Covers: choosing a sharp, well-lit frame near the peak with ffmpeg, and the title band."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from studio.cards import CardError, CardTheme, choose_cover_time, pick_cover_frame, render_cover, score_frame
from studio.cards.cover import DARK_LUMA, FrameScore, cover_frame_args, cover_sample_args, sample_times
from studio.ffmpeg import run_ffmpeg


@pytest.fixture(scope="module")
def blur_black_sharp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s, 160x120 at 10 fps: 0-1 s blurred, 1-2 s black, 2-3 s sharp test pattern."""
    out = tmp_path_factory.mktemp("cover") / "clip.mp4"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=10:duration=3",
            "-vf",
            "boxblur=6:enable='lt(t,1)',drawbox=c=black:t=fill:enable='between(t,1,2)'",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(out),
        ]
    )
    return out


def test_pick_cover_frame_avoids_the_black_and_the_blurred_frames(blur_black_sharp: Path) -> None:
    frame = pick_cover_frame(blur_black_sharp, around=1.5, window=2.0)
    assert frame.size == (160, 120) and frame.mode == "RGB"
    assert 2.0 <= frame.info["cover_time"] < 3.0
    assert np.asarray(frame.convert("L")).mean() > DARK_LUMA


def test_pick_cover_frame_cover_crops_to_size(blur_black_sharp: Path) -> None:
    frame = pick_cover_frame(blur_black_sharp, around=1.0, window=1.0, size=(90, 160))  # 0.6 0.8 lit, 1.0+ black
    assert frame.size == (90, 160)
    assert np.asarray(frame.convert("L")).mean() > DARK_LUMA
    assert frame.info["cover_time"] < 1.0


def test_pick_cover_frame_rejects_a_peak_outside_the_video(blur_black_sharp: Path) -> None:
    with pytest.raises(CardError, match="outside the video"):
        pick_cover_frame(blur_black_sharp, around=9.0)


def test_cover_sampling_is_one_ffmpeg_run_with_one_seeked_input_per_time(tmp_path: Path) -> None:
    times = sample_times(10.0, 2.0, 5, duration=60.0)
    assert times == [9.2, 9.6, 10.0, 10.4, 10.8]
    assert sample_times(0.2, 2.0, 5, duration=1.0)[0] == 0.0 and max(sample_times(0.9, 2.0, 5, 1.0)) <= 0.95
    args = cover_sample_args(Path("v.mp4"), times, tmp_path)
    assert args.count("-i") == 5 and args.count("-map") == 5
    assert all(args[args.index("-i", i) - 2] == "-ss" for i in range(len(args)) if args[i] == "-i")
    assert [a for a in args if a.endswith(".png")] == [str(tmp_path / f"sample_{i:02d}.png") for i in range(5)]
    one = cover_frame_args(Path("v.mp4"), 10.4, tmp_path / "c.png", size=(1080, 1920))
    assert one[:4] == ["-ss", "10.400", "-i", "v.mp4"] and "crop=1080:1920" in one[one.index("-vf") + 1]


def test_choose_cover_time_prefers_sharp_lit_frames_then_the_brightest() -> None:
    scores = [FrameScore(1.0, 50.0, 120.0), FrameScore(1.5, 900.0, 10.0), FrameScore(2.0, 300.0, 90.0)]
    assert choose_cover_time(scores, around=1.5).time == 2.0
    dark = [FrameScore(1.0, 50.0, 5.0), FrameScore(2.0, 10.0, 20.0)]
    assert choose_cover_time(dark, around=1.0).time == 2.0
    with pytest.raises(CardError):
        choose_cover_time([], around=1.0)


def test_score_frame_sharpness_orders_blur_below_detail() -> None:
    rng = np.random.default_rng(1)
    detail = Image.fromarray((rng.random((64, 64)) * 255).astype(np.uint8))
    flat = Image.new("L", (64, 64), 128)
    assert score_frame(detail, 0).sharpness > score_frame(flat, 0).sharpness == 0
    assert score_frame(flat, 0).brightness == pytest.approx(128)


def test_render_cover_has_exact_size_and_a_readable_title_band() -> None:
    frame = Image.new("RGB", (1280, 720), (40, 90, 160))
    theme = CardTheme(accent="#ffcc00")
    cover = render_cover(
        frame, title="这款保湿面霜真的绝了！干皮救星，冬天必备 Hydrating Cream", size=(1080, 1920), theme=theme
    )
    assert cover.size == (1080, 1920) and cover.mode == "RGB"
    pixels = np.asarray(cover).astype(int)
    band_rows = np.where((np.abs(pixels[:, 5] - [255, 204, 0]) < 40).all(axis=1))[0]
    assert len(band_rows) > 150 and 0.45 * 1920 < band_rows.mean() < 0.85 * 1920
    band = pixels[band_rows.min() : band_rows.max(), 60:1020]
    assert (band.sum(axis=-1) < 120).any(), "no dark title text on the yellow band"
    assert tuple(pixels[100, 540]) == (40, 90, 160)
    assert render_cover(frame, title="  ", size=(108, 192)).size == (108, 192)
