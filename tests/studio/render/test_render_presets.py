"""Platform presets and the shared encoder flags."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from studio.ffmpeg import run_ffmpeg
from studio.render import PLATFORM_PRESETS, RenderPlanError, encoder_args, get_preset, validate_output

NAMES = ("douyin", "kuaishou", "channels", "xiaohongshu", "tiktok", "shorts", "reels", "square", "landscape")


def test_every_platform_has_a_preset() -> None:
    assert set(PLATFORM_PRESETS) == set(NAMES)
    for preset in PLATFORM_PRESETS.values():
        assert preset.width % 2 == 0 and preset.height % 2 == 0
        assert preset.fps == 30
        assert preset.crf <= 23
        assert 0 < preset.maxrate_kbps < preset.bufsize_kbps
        assert (preset.loudness_lufs, preset.true_peak_db) == (-14.0, -1.0)
        assert preset.audio_rate == 48000
        assert preset.qr_policy in ("corner", "end_card", "none")


def test_platform_shapes_and_limits() -> None:
    assert (get_preset("douyin").width, get_preset("douyin").height) == (1080, 1920)
    assert (get_preset("xiaohongshu").width, get_preset("xiaohongshu").height) == (1080, 1440)  # 3:4
    assert (get_preset("square").width, get_preset("square").height) == (1080, 1080)
    assert (get_preset("landscape").width, get_preset("landscape").height) == (1920, 1080)
    assert get_preset("douyin").max_duration == 900
    assert get_preset("channels").max_duration == 180
    assert get_preset("tiktok").max_duration == 600 and get_preset("tiktok").min_duration == 3
    assert get_preset("shorts").max_duration == 180


def test_douyin_never_takes_a_corner_qr() -> None:
    assert get_preset("douyin").qr_policy == "end_card"
    assert get_preset("kuaishou").qr_policy == "corner"


@pytest.mark.parametrize("name", ["douyin", "tiktok", "reels"])
def test_vertical_feeds_keep_ui_zones_clear(name: str) -> None:
    preset = get_preset(name)
    assert 0.20 <= preset.safe_bottom / preset.height <= 0.26  # caption bar and description
    assert preset.safe_right > preset.safe_left  # like / comment / share rail
    x, y, w, h = preset.safe_box
    assert (x + w, y + h) == (preset.width - preset.safe_right, preset.height - preset.safe_bottom)


def test_get_preset_is_case_insensitive_and_lists_names_when_unknown() -> None:
    assert get_preset(" Douyin ") is PLATFORM_PRESETS["douyin"]
    with pytest.raises(RenderPlanError, match="xiaohongshu"):
        get_preset("weibo")


def test_scaled_preset_keeps_proportions() -> None:
    small = get_preset("douyin").scaled(270, 480)
    assert (small.width, small.height) == (270, 480)
    assert small.safe_bottom == round(get_preset("douyin").safe_bottom / 4)
    assert small.qr_policy == "end_card"


def test_bad_presets_are_refused() -> None:
    with pytest.raises(RenderPlanError, match="even"):
        replace(get_preset("douyin"), width=1081)
    with pytest.raises(RenderPlanError, match="fps"):
        replace(get_preset("douyin"), fps=90)


def test_encoder_args_pin_the_shared_encoding() -> None:
    args = encoder_args(get_preset("douyin"))
    pairs = dict(zip(args[::2], args[1::2], strict=True))
    assert pairs["-c:v"] == "libx264" and pairs["-preset"] == "veryfast"
    assert pairs["-profile:v"] == "high" and pairs["-pix_fmt"] == "yuv420p"
    assert pairs["-crf"] == "23" and pairs["-maxrate"] == "8000k" and pairs["-bufsize"] == "16000k"
    assert pairs["-g"] == pairs["-keyint_min"] == "60" and pairs["-sc_threshold"] == "0"
    assert pairs["-r"] == "30" and pairs["-video_track_timescale"] == "90000"
    assert pairs["-c:a"] == "aac" and pairs["-ar"] == "48000" and pairs["-ac"] == "2" and pairs["-b:a"] == "128k"
    assert pairs["-movflags"] == "+faststart"


def test_encoder_args_produce_a_file_the_validator_accepts(tmp_path: Path) -> None:
    preset = get_preset("douyin").scaled(180, 320)
    out = tmp_path / "enc.mp4"
    run_ffmpeg(
        [
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=180x320:rate=30:duration=1",
            "-f",
            "lavfi",
            "-i",
            "sine=sample_rate=44100:duration=1",
            *encoder_args(preset),
            str(out),
        ]
    )
    report = validate_output(out, preset=preset, expected_duration=1.0)
    assert report.facts.profile == "High" and report.facts.sample_rate == 48000
    assert report.facts.faststart
