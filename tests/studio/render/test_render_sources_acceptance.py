"""Acceptance: independently made sources through every platform preset, checked by an independent spec check.

The sources are generated here (not by ``tests/studio/render/conftest.py``): each shows a red bar at the top and
a blue bar at the bottom of its upright picture, around a moving test pattern, so a decoded output frame
tells whether it came out upright. The spec check reads the files with PyAV and its own box parser; it
never calls ``studio.render.validate``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import zxingcpp

from sidedata.records import TranscriptCue
from studio.cards import CardContent, qr_image, render_product_card
from studio.ffmpeg import run_ffmpeg
from studio.render import PLATFORM_PRESETS, CardOverlay, Preset, QrOverlay, get_preset, make_plan, render_clip

pytestmark = pytest.mark.slow

BARS = "drawbox=x=0:y=0:w=iw:h=ih*0.12:color=red:t=fill,drawbox=x=0:y=ih*0.88:w=iw:h=ih*0.12:color=blue:t=fill"
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
AAC = ["-c:a", "aac", "-shortest"]
SHARE_URL = "https://ls.example.com/s/Acc3pT9x?m=qr"
CUE_TEXT = "这款面霜今天只要八十九元"


@dataclass(frozen=True)
class Source:
    path: Path
    display: tuple[int, int]  # upright width x height, as a player shows it
    seconds: float


def _ffmpeg(*args: str) -> None:
    run_ffmpeg(["-v", "error", "-y", *args], timeout=120)


def _video(size: str, rate: int, seconds: float, extra: str = "") -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds},{BARS}{extra}"]


def _tone(seconds: float, rate: int = 48000, channels: str = "mono") -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=f=440:r={rate}:d={seconds},aformat=channel_layouts={channels}"]


def make_source(kind: str, root: Path) -> Source:
    """Build the source called ``kind`` under ``root``."""
    if kind == "portrait":  # 3.2 s: TikTok and Reels need clips of 3 s or more
        out = root / "portrait.mp4"
        _ffmpeg(*_video("720x1280", 30, 3.2), *_tone(3.2, 44100), *X264, "-g", "30", *AAC, str(out))
        return Source(out, (720, 1280), 3.2)
    if kind == "landscape":  # B-frames, as OBS recordings have
        out = root / "landscape.mp4"
        _ffmpeg(
            *_video("1280x720", 30, 3.2),
            *_tone(3.2, channels="stereo"),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "60",
            *AAC,
            str(out),
        )
        return Source(out, (1280, 720), 3.2)
    if kind == "vfr":  # 30 fps, then 15 fps, then irregular gaps (frames picked from a 60 fps pattern)
        out = root / "vfr.mp4"
        pick = r"select='lt(t\,0.6)*not(mod(n\,2))+between(t\,0.6\,1.2)*not(mod(n\,4))+gt(t\,1.2)*gt(not(mod(n\,5))+not(mod(n\,7))\,0)'"  # noqa: E501
        _ffmpeg(*_video("640x360", 60, 2.0, f",{pick}"), *_tone(2.0, 44100), *X264, "-fps_mode", "vfr", *AAC, str(out))
        return Source(out, (640, 360), 2.0)
    if kind == "rotated":  # a phone clip stored 1280x720, flagged to be shown turned 90 degrees counter-clockwise
        stored, out = root / "rotated-stored.mp4", root / "rotated.mp4"
        _ffmpeg(*_video("720x1280", 30, 2.0, ",transpose=clock"), *_tone(2.0), *X264, *AAC, str(stored))
        _ffmpeg("-display_rotation", "90", "-i", str(stored), "-c", "copy", str(out))
        return Source(out, (720, 1280), 2.0)
    if kind == "fps60":
        out = root / "fps60.mp4"
        _ffmpeg(*_video("1280x720", 60, 2.0), *_tone(2.0), *X264, *AAC, str(out))
        return Source(out, (1280, 720), 2.0)
    if kind == "odd":  # odd dimensions: H.264 needs 4:4:4 for them
        out = root / "odd.mkv"
        odd = ",format=yuv444p,scale=853:479,setsar=1"
        _ffmpeg(
            *_video("854x480", 25, 2.0, odd),
            *_tone(2.0, 22050),
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv444p",
            *AAC,
            str(out),
        )
        return Source(out, (853, 479), 2.0)
    if kind == "flv":  # H.264 with B-frames + AAC in FLV, as live CDN recordings come
        out = root / "live.flv"
        _ffmpeg(
            *_video("960x540", 30, 2.0),
            *_tone(2.0, 44100, "stereo"),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-pix_fmt",
            "yuv420p",
            "-g",
            "30",
            *AAC,
            "-f",
            "flv",
            str(out),
        )
        return Source(out, (960, 540), 2.0)
    raise KeyError(kind)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Source]:
    root = tmp_path_factory.mktemp("acceptance-sources")
    made: dict[str, Source] = {}

    def get(kind: str) -> Source:
        if kind not in made:
            made[kind] = make_source(kind, root)
        return made[kind]

    return get


@pytest.fixture(scope="module")
def card_png(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Preset], Path]:
    """A product card with a Chinese name, as wide as the preset's safe area (at most 860 px)."""
    root = tmp_path_factory.mktemp("acceptance-cards")
    content = CardContent("保湿面霜 Hydrating Cream 限量礼盒装", Decimal("89.00"), Decimal("129.00"), coupon="满99减10")

    def get(preset: Preset) -> Path:
        width = min(860, preset.safe_box[2] - 2 * round(preset.width * 0.02))
        path = root / f"card-{width}.png"
        if not path.exists():
            render_product_card(content, width=width).save(path)
        return path

    return get


# -- the independent spec check ------------------------------------------------------------------------------


def top_level_boxes(path: Path) -> list[str]:
    """ISO-BMFF top-level box types in file order."""
    data, boxes, offset = path.read_bytes(), [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        assert size >= 8, f"corrupt box {kind!r} at {offset}"
        offset += size
    assert offset == len(data), "trailing bytes after the last box"
    return boxes


@dataclass(frozen=True)
class Decoded:
    video_times: list[float]  # presentation times of decoded frames, seconds
    first_keyframe: bool
    video_end: float  # end of the last frame (pts + duration), seconds
    audio_start: float
    audio_seconds: float  # decoded samples / rate (encoder priming already dropped by the edit list)


def decode(path: Path) -> Decoded:
    times: list[float] = []
    keyframe, video_end, audio_start, samples, rate = False, 0.0, None, 0, 1
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        for packet in container.demux(video, audio):
            for frame in packet.decode():
                if not isinstance(frame, av.VideoFrame | av.AudioFrame):
                    continue
                assert frame.pts is not None and frame.time_base is not None
                at = float(frame.pts * frame.time_base)
                if isinstance(frame, av.VideoFrame):
                    keyframe = keyframe or (not times and frame.key_frame)
                    times.append(at)
                    video_end = max(video_end, at + float((packet.duration or 0) * packet.time_base))
                else:
                    audio_start = at if audio_start is None else audio_start
                    samples, rate = samples + frame.samples, frame.sample_rate
    return Decoded(times, keyframe, video_end, audio_start or 0.0, samples / rate)


def spec_check(path: Path, preset: Preset, expected: float) -> None:
    """H.264 High yuv420p, AAC 48 kHz, faststart, preset size, duration, A/V sync, keyframe at 0, CFR."""
    boxes = top_level_boxes(path)
    assert "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"), boxes
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0].codec_context, container.streams.audio[0].codec_context
        assert (video.name, video.profile, video.pix_fmt) == ("h264", "High", "yuv420p")
        assert (video.width, video.height) == (preset.width, preset.height)
        assert (audio.name, audio.sample_rate) == ("aac", 48000)
        assert container.streams.video[0].average_rate == Fraction(preset.fps)
        assert container.duration is not None
        assert abs(container.duration / av.time_base - expected) <= 0.1
    got = decode(path)
    assert got.first_keyframe and abs(got.video_times[0]) < 1e-3, "first frame is not a keyframe at 0"
    steps = np.diff(got.video_times)
    assert np.allclose(steps, 1 / preset.fps, rtol=0.01), f"not a constant {preset.fps} fps: {sorted(set(steps))}"
    video_seconds = got.video_end - got.video_times[0]
    assert abs(video_seconds - expected) <= 0.1
    assert abs(got.audio_start) <= 0.05
    assert abs(video_seconds - got.audio_seconds) <= 0.05, (video_seconds, got.audio_seconds)


def frame_rgb(path: Path, at: float) -> np.ndarray:
    """The first decoded frame at or after ``at`` seconds, as H x W x 3 RGB."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.pts is not None and frame.time_base is not None and frame.pts * frame.time_base >= at - 1e-6:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {at} s in {path}")


def assert_upright(path: Path, preset: Preset, display: tuple[int, int]) -> None:
    """The source picture sits fitted in the middle with its red bar on top and blue bar below."""
    rgb = frame_rgb(path, 0.1).astype(int)  # before the card slides in and the caption shows
    scale = min(preset.width / display[0], preset.height / display[1])
    w, h = display[0] * scale, display[1] * scale
    x0, y0 = (preset.width - w) / 2, (preset.height - h) / 2
    cols = slice(int(x0 + 0.1 * w), int(x0 + 0.5 * w))  # left half: clear of a top-right QR

    def band(top: float, bottom: float) -> np.ndarray:
        return rgb[int(y0 + top * h) : int(y0 + bottom * h), cols].reshape(-1, 3).mean(axis=0)

    red, blue = band(0.02, 0.09), band(0.91, 0.98)
    assert red[0] > 150 and red[1] < 80 and red[2] < 80, f"top is not red: {red}"
    assert blue[2] > 150 and blue[0] < 80 and blue[1] < 80, f"bottom is not blue: {blue}"


# -- the matrix ---------------------------------------------------------------------------------------------

# (source, preset, start, end): every preset at least once, every source through a 9:16 and a non-9:16 preset.
MATRIX = [
    ("portrait", "tiktok", 0.1, 3.1),
    ("portrait", "square", 1.0, 2.0),
    ("landscape", "reels", 0.1, 3.1),
    ("landscape", "xiaohongshu", 1.0, 2.0),
    ("vfr", "douyin", 0.5, 1.5),
    ("vfr", "landscape", 0.5, 1.5),
    ("rotated", "kuaishou", 0.5, 1.5),
    ("rotated", "landscape", 0.5, 1.5),
    ("fps60", "channels", 0.5, 1.5),
    ("fps60", "square", 0.5, 1.5),
    ("odd", "shorts", 0.5, 1.5),
    ("odd", "landscape", 0.5, 1.5),
    ("flv", "douyin", 0.5, 1.5),
    ("flv", "xiaohongshu", 0.5, 1.5),
]


def test_matrix_covers_every_preset_and_shape() -> None:
    assert {preset for _, preset, _, _ in MATRIX} == set(PLATFORM_PRESETS)
    for kind in {k for k, _, _, _ in MATRIX}:
        shapes = {get_preset(p).width * 16 == get_preset(p).height * 9 for k, p, _, _ in MATRIX if k == kind}
        assert shapes == {True, False}, kind


def test_sources_are_what_they_claim(source: Callable[[str], Source], tmp_path: Path) -> None:
    """Rotation, variable frame rate, 60 fps, odd size and FLV really are in the files."""
    with av.open(str(source("rotated").path)) as container:
        stored = container.streams.video[0].codec_context
        assert (stored.width, stored.height) == (1280, 720)
        assert next(container.decode(video=0)).rotation == 90
    png = tmp_path / "upright.png"
    run_ffmpeg(["-v", "error", "-i", str(source("rotated").path), "-frames:v", "1", str(png)])  # autorotates
    from PIL import Image

    with Image.open(png) as upright:
        assert upright.size == (720, 1280)
        assert upright.convert("RGB").getpixel((360, 40)) == pytest.approx((255, 0, 0), abs=40)
    with av.open(str(source("vfr").path)) as container:
        pts = sorted(p.pts for p in container.demux(video=0) if p.pts is not None)
        assert len(set(np.diff(pts))) >= 3
    with av.open(str(source("fps60").path)) as container:
        assert container.streams.video[0].average_rate == 60
    with av.open(str(source("odd").path)) as container:
        odd = container.streams.video[0].codec_context
        assert (odd.width, odd.height) == (853, 479)
    with av.open(str(source("flv").path)) as container:
        assert container.format.name == "flv"
        assert (container.streams.video[0].codec_context.name, container.streams.audio[0].codec_context.name) == (
            "h264",
            "aac",
        )


@pytest.mark.parametrize(("kind", "preset_name", "start", "end"), MATRIX, ids=[f"{k}-{p}" for k, p, _, _ in MATRIX])
def test_source_renders_to_spec(
    source: Callable[[str], Source],
    card_png: Callable[[Preset], Path],
    tmp_path: Path,
    kind: str,
    preset_name: str,
    start: float,
    end: float,
) -> None:
    src, preset = source(kind), get_preset(preset_name)
    qr = None
    if preset.qr_policy == "corner" and kind == "rotated":
        qr_png = tmp_path / "qr.png"
        qr_image(SHARE_URL, size=240).save(qr_png)
        qr = QrOverlay(qr_png)
    plan = make_plan(
        src.path,
        start=start,
        end=end,
        preset=preset,
        card=CardOverlay(card_png(preset), appear_at=0.5),
        captions=[TranscriptCue(start + 0.3, end - 0.05, CUE_TEXT)],
        qr=qr,
    )
    out = render_clip(plan, tmp_path / f"{kind}-{preset_name}.mp4").path
    spec_check(out, preset, end - start)
    assert_upright(out, preset, src.display)
    if qr is not None:
        assert [r.text for r in zxingcpp.read_barcodes(frame_rgb(out, 0.7).astype(np.uint8))] == [SHARE_URL]


@pytest.mark.parametrize("kind", ["flv", "vfr"])
def test_fast_excerpt_has_faststart_and_av_sync(source: Callable[[str], Source], tmp_path: Path, kind: str) -> None:
    plan = make_plan(source(kind).path, start=0.6, end=1.6, preset=get_preset("douyin"), mode="fast")
    result = render_clip(plan, tmp_path / f"{kind}-fast.mp4")
    boxes = top_level_boxes(result.path)
    assert boxes.index("moov") < boxes.index("mdat"), boxes
    assert result.actual_start <= 0.6 + 1e-3 and result.actual_end >= 1.6 - 0.05
    got = decode(result.path)
    assert got.first_keyframe
    video_seconds = got.video_end - got.video_times[0]
    assert video_seconds >= 1.0 - 0.05
    assert abs(got.audio_start - got.video_times[0]) <= 0.05
    assert abs(video_seconds - got.audio_seconds) <= 0.05, (video_seconds, got.audio_seconds)


def test_the_spec_check_itself_catches_defects(tmp_path: Path) -> None:
    """The independent check fails on files that break the spec: no faststart, VFR, upside down."""
    preset = get_preset("douyin").scaled(108, 192, name="tiny")
    high = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-profile:v", "high"]
    good_args = [
        *_video("108x192", 30, 1.0),
        *_tone(1.0),
        *high,
        "-r",
        "30",
        "-c:a",
        "aac",
        "-ar",
        "48000",
        "-shortest",
    ]
    late_moov = tmp_path / "late-moov.mp4"
    _ffmpeg(*good_args, str(late_moov))
    with pytest.raises(AssertionError, match="moov"):
        spec_check(late_moov, preset, 1.0)
    good = tmp_path / "good.mp4"
    _ffmpeg(*good_args, "-movflags", "+faststart", str(good))
    spec_check(good, preset, 1.0)
    assert_upright(good, preset, (108, 192))
    flipped = tmp_path / "flipped.mp4"
    _ffmpeg("-i", str(good), "-vf", "vflip", *high, "-c:a", "copy", "-movflags", "+faststart", str(flipped))
    with pytest.raises(AssertionError, match="not red"):
        assert_upright(flipped, preset, (108, 192))
    vfr = tmp_path / "vfr.mp4"
    drop = r"select='not(eq(n\,5))'"  # one frame missing: a gap of two frame intervals
    _ffmpeg(
        "-i", str(good), "-vf", drop, "-fps_mode", "vfr", *high, "-c:a", "copy", "-movflags", "+faststart", str(vfr)
    )
    with pytest.raises(AssertionError, match=r"constant|average_rate"):
        spec_check(vfr, preset, 1.0)
