"""Real renders: every source kind and reframe mode passes the validator; overlays and captions show."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import zxingcpp

from sidedata.records import TranscriptCue
from studio.cards.qr import qr_image
from studio.errors import FFmpegCancelled, FFmpegTimeout
from studio.ffmpeg import resolve_ffmpeg
from studio.probe import probe
from studio.render import (
    CardOverlay,
    QrOverlay,
    RenderFailed,
    RenderFontError,
    RenderPlanError,
    get_preset,
    make_plan,
    render_clip,
)
from tests.studio.render.conftest import QR_PRESET, SMALL, MakeSource, frame_at

SOURCE_KINDS = ["landscape", "portrait", "rotated", "vfr", "fps60", "odd", "flv", "noaudio"]


def decode_errors(path: Path) -> str:
    """What ``ffmpeg -v error -xerror -i path -f null -`` prints (nothing for a clean file)."""
    cmd = [str(resolve_ffmpeg()), "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stderr


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("kind", SOURCE_KINDS)
def test_every_source_kind_renders_a_valid_clip(render_source: MakeSource, tmp_path: Path, kind: str) -> None:
    out = tmp_path / f"{kind}.mp4"
    result = render_clip(make_plan(render_source(kind), start=0.5, end=2.5, preset=SMALL), out)
    assert result.path == out and out.is_file()
    facts = result.report.facts
    assert (facts.width, facts.height) == (270, 480)
    assert facts.duration == pytest.approx(2.0, abs=0.05)
    assert (facts.audio_codec, facts.sample_rate, facts.channels) == ("aac", 48000, 2)  # silence when none
    assert abs((facts.audio_duration or 0) - (facts.video_duration or 0)) <= 0.05
    assert probe(out).rotation == 0  # rotation is applied, not passed on
    assert decode_errors(out) == ""
    assert not leftovers(tmp_path)


def test_frames_are_cut_exactly_at_the_start(render_source: MakeSource, tmp_path: Path) -> None:
    """testsrc2 prints its own clock: the first rendered frame must be the source frame at ``start``."""
    source = render_source("landscape")
    out = render_clip(make_plan(source, start=1.5, end=2.5, preset=SMALL, reframe="scale"), tmp_path / "c.mp4").path
    first = frame_at(out, 0.0, tmp_path, gray=True)[164:316, :].astype(int)  # the 270x152 picture band
    expected = frame_at(source, 1.5, tmp_path, gray=True)
    from PIL import Image

    expected = np.asarray(Image.fromarray(expected).resize((270, 152))).astype(int)
    earlier = np.asarray(Image.fromarray(frame_at(source, 1.4, tmp_path, gray=True)).resize((270, 152))).astype(int)
    assert np.abs(first - expected).mean() < np.abs(first - earlier).mean() / 2


def sharpest_edge(frame: np.ndarray) -> int:
    """Largest step between horizontally neighbouring pixels: big across sharp edges, small when blurred."""
    return int(np.abs(np.diff(frame.astype(int), axis=1)).max())


@pytest.mark.parametrize("mode", ["blur", "crop", "scale", "subject"])
def test_every_reframe_mode_passes_the_validator(render_source: MakeSource, tmp_path: Path, mode: str) -> None:
    out = tmp_path / f"{mode}.mp4"
    render_clip(make_plan(render_source("landscape"), start=0.5, end=2.5, preset=SMALL, reframe=mode), out)
    frame = frame_at(out, 1.0, tmp_path, gray=True)
    top, middle, bottom = frame[:120], frame[200:280], frame[-100:]
    assert sharpest_edge(middle) > 50  # the picture itself stays sharp
    if mode == "scale":
        assert top.mean() < 8 and bottom.mean() < 8  # letterboxed
    elif mode == "blur":
        assert top.mean() > 20 and bottom.mean() > 20  # blurred fill, not black bars
        assert sharpest_edge(top) < 40
    else:  # crops fill the frame with sharp picture
        assert top.mean() > 20 and bottom.mean() > 20 and sharpest_edge(top) > 50


def test_rotated_phone_video_comes_out_upright(render_source: MakeSource, tmp_path: Path) -> None:
    source = render_source("rotated")
    out = render_clip(make_plan(source, start=0.5, end=2.5, preset=SMALL, reframe="scale"), tmp_path / "r.mp4").path
    frame = frame_at(out, 1.0, tmp_path, gray=True)
    upright = frame_at(source, 1.0, tmp_path, gray=True)  # ffmpeg's own autorotated decode: 180x320
    assert upright.shape == (320, 180)
    white_upright = [q.mean() > 128 for q in quadrants(upright)]
    white_render = [q.mean() > 128 for q in quadrants(frame)]
    assert white_render == white_upright and sum(white_render) == 1
    assert not white_render[0]  # the unrotated picture has its white block top-left


def quadrants(frame: np.ndarray) -> list[np.ndarray]:
    """Top-left, top-right, bottom-left, bottom-right corner patches (a fifth of each side)."""
    h, w = frame.shape[:2]
    dh, dw = h // 5, w // 5
    return [frame[:dh, :dw], frame[:dh, -dw:], frame[-dh:, :dw], frame[-dh:, -dw:]]


def bright(frame: np.ndarray) -> np.ndarray:
    return frame > 160


def test_captions_really_appear_in_the_caption_area(render_source: MakeSource, tmp_path: Path) -> None:
    cues = [TranscriptCue(0.5, 1.5, "上链接 保湿面霜")]
    plan = make_plan(render_source("black"), start=0.0, end=2.5, preset=SMALL, reframe="scale", captions=cues)
    out = render_clip(plan, tmp_path / "cap.mp4").path
    during, after = frame_at(out, 1.0, tmp_path, gray=True), frame_at(out, 2.0, tmp_path, gray=True)
    ys, xs = np.nonzero(bright(during))
    assert len(ys) > 40  # the text is drawn
    assert ys.max() < SMALL.height - SMALL.safe_bottom  # clear of the bottom UI zone
    assert ys.min() > SMALL.height // 2  # in the lower part, nowhere else
    assert xs.min() >= SMALL.safe_left and xs.max() < SMALL.width - SMALL.safe_right
    assert not bright(after).any()  # gone when the cue ends
    assert not bright(frame_at(out, 0.2, tmp_path, gray=True)).any()  # not there before it starts


def test_caption_glyphs_are_real_not_tofu(render_source: MakeSource, tmp_path: Path) -> None:
    """Distinct characters draw distinct shapes, unlike a codepoint no font has (the missing-glyph box)."""
    cues = [
        TranscriptCue(0.0, 0.6, "上链接"),
        TranscriptCue(0.7, 1.3, "保湿霜"),
        TranscriptCue(1.4, 2.0, "\U0010fffd" * 3),
    ]
    plan = make_plan(render_source("black"), start=0.0, end=2.0, preset=SMALL, reframe="scale", captions=cues)
    out = render_clip(plan, tmp_path / "glyphs.mp4").path
    first, second, tofu = (bright(frame_at(out, t, tmp_path, gray=True)) for t in (0.3, 1.0, 1.7))
    assert first.sum() > 30 and second.sum() > 30

    def differ(a: np.ndarray, b: np.ndarray) -> float:
        return float((a ^ b).sum() / max(1, (a | b).sum()))

    assert differ(first, second) > 0.3
    assert differ(first, tofu) > 0.3 and differ(second, tofu) > 0.3


def glyph_mask(image: np.ndarray) -> np.ndarray:
    """The bright glyph's bounding box, resized to 48x48 booleans."""
    from PIL import Image

    ys, xs = np.nonzero(image > 128)
    crop = Image.fromarray(((image > 128) * 255).astype(np.uint8)[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1])
    return np.asarray(crop.resize((48, 48))) > 128


def test_captions_prefer_simplified_glyph_forms(render_source: MakeSource, tmp_path: Path) -> None:
    """骨 differs between Simplified and Traditional forms; the caption must match the Simplified drawing
    (the default font: Noto Sans SC, bundled) rather than the Traditional one (the TC package font)."""
    from PIL import Image, ImageDraw, ImageFont

    from studio.fonts import find_cjk_font, find_fallback_font

    preset = get_preset("square")
    plan = make_plan(
        render_source("black"),
        start=0.0,
        end=1.0,
        preset=preset,
        reframe="scale",
        captions=[TranscriptCue(0.0, 1.0, "骨")],
    )
    drawn = glyph_mask(frame_at(render_clip(plan, tmp_path / "gu.mp4").path, 0.5, tmp_path, gray=True))
    simplified = find_cjk_font().path
    traditional = find_fallback_font(simplified)
    assert traditional is not None, "the Traditional (TC) package font is a dependency"
    references = {}
    for language, path in (("zh-Hans", simplified), ("zh-Hant", traditional.path)):
        canvas = Image.new("L", (220, 220))
        ImageDraw.Draw(canvas).text((20, 0), "骨", font=ImageFont.truetype(str(path), 160), fill=255)
        references[language] = glyph_mask(np.asarray(canvas))
    assert (references["zh-Hans"] ^ references["zh-Hant"]).sum() > 40  # the two forms really differ

    # bold + outline thicken the strokes, so neither matches exactly; the Traditional form misses by far more
    assert (drawn ^ references["zh-Hans"]).sum() < 0.9 * (drawn ^ references["zh-Hant"]).sum()


def test_captions_under_a_path_that_needs_escaping(render_source: MakeSource, tmp_path: Path) -> None:
    folder = tmp_path / "we'ird, [dir]; a:b\\c"
    folder.mkdir()
    plan = make_plan(
        render_source("black"),
        start=0.0,
        end=1.5,
        preset=SMALL,
        reframe="scale",
        captions=[TranscriptCue(0.0, 1.5, "上链接")],
    )
    out = render_clip(plan, folder / "clip.mp4").path
    assert bright(frame_at(out, 0.7, tmp_path, gray=True)).sum() > 20
    assert [p.name for p in folder.iterdir()] == ["clip.mp4"]


def test_corner_qr_decodes_from_the_final_mp4(render_source: MakeSource, tmp_path: Path) -> None:
    url = "https://ls.example.com/s/Ab3xK9q?m=qr"
    qr_png = tmp_path / "qr.png"
    qr_image(url, size=200).save(qr_png)
    plan = make_plan(
        render_source("landscape"), start=0.5, end=2.5, preset=QR_PRESET, qr=QrOverlay(qr_png, corner="top-right")
    )
    out = render_clip(plan, tmp_path / "qr.mp4").path
    for t in (0.0, 1.9):
        frame = frame_at(out, t, tmp_path)
        found = zxingcpp.read_barcodes(frame)
        assert [r.text for r in found] == [url]
        corner = found[0].position.top_left
        assert corner.x > QR_PRESET.width / 2 and corner.y < QR_PRESET.height / 3  # top-right, in the safe area
        assert corner.y >= QR_PRESET.safe_top


@pytest.mark.parametrize("entrance", ["slide", "fade", "none"])
def test_card_overlay_appears_with_its_entrance(render_source: MakeSource, tmp_path: Path, entrance: str) -> None:
    from PIL import Image

    card_png = tmp_path / "card.png"
    Image.new("RGBA", (200, 60), (230, 20, 20, 255)).save(card_png)
    card = CardOverlay(card_png, appear_at=0.6, duration=1.0, entrance=entrance)  # type: ignore[arg-type]
    plan = make_plan(render_source("black"), start=0.0, end=2.0, preset=SMALL, reframe="scale", card=card)
    out = render_clip(plan, tmp_path / "card.mp4").path

    def red(t: float) -> np.ndarray:
        rgb = frame_at(out, t, tmp_path).astype(int)
        return (rgb[..., 0] > 150) & (rgb[..., 1] < 90)

    card_share = 200 * 60 / (270 * 480)
    assert not red(0.3).any()  # not yet
    settled = red(1.3)
    assert settled.mean() == pytest.approx(card_share, rel=0.15)  # fully in
    ys, xs = np.nonzero(settled)
    assert ys.max() < SMALL.height - SMALL.safe_bottom  # resting above the bottom UI zone
    assert abs((xs.min() + xs.max()) / 2 - (SMALL.safe_left + (SMALL.width - SMALL.safe_right)) / 2) <= 2
    assert not red(1.9).any()  # gone after its duration
    entering = red(0.7)
    if entrance == "slide":
        assert np.nonzero(entering)[0].mean() > ys.mean() + 10  # still sliding up from below
    elif entrance == "fade":
        assert entering.sum() < settled.sum() * 0.5  # still faint
    else:
        assert entering.sum() == pytest.approx(settled.sum(), rel=0.05)


@pytest.mark.slow
def test_douyin_preset_full_size_with_card_and_captions(render_source: MakeSource, tmp_path: Path) -> None:
    from PIL import Image

    card_png = tmp_path / "card.png"
    Image.new("RGBA", (900, 260), (255, 255, 255, 230)).save(card_png)
    plan = make_plan(
        render_source("landscape"),
        start=1.0,
        end=3.0,
        preset=get_preset("douyin"),
        card=CardOverlay(card_png, appear_at=0.2),
        captions=[TranscriptCue(1.0, 3.0, "这款面霜今天只要八十九元")],
    )
    result = render_clip(plan, tmp_path / "douyin.mp4")
    facts = result.report.facts
    assert (facts.width, facts.height, facts.profile, facts.pix_fmt) == (1080, 1920, "High", "yuv420p")
    assert facts.duration == pytest.approx(2.0, abs=0.05) and facts.faststart
    assert decode_errors(result.path) == ""


def test_bad_times_are_refused_before_rendering(render_source: MakeSource, tmp_path: Path) -> None:
    source = render_source("landscape")
    for start, end, message in ((2.0, 2.0, "before end"), (3.0, 9.0, "after the end"), (-1.0, 1.0, "before the start")):
        with pytest.raises(RenderPlanError, match=message):
            make_plan(source, start=start, end=end, preset=SMALL)


def test_missing_font_is_a_clear_error(render_source: MakeSource, tmp_path: Path) -> None:
    plan = make_plan(
        render_source("black"),
        start=0.0,
        end=1.0,
        preset=SMALL,
        captions=[TranscriptCue(0.0, 1.0, "上链接")],
        font=tmp_path / "missing.otf",
    )
    out = tmp_path / "out" / "clip.mp4"
    with pytest.raises(RenderFontError, match=r"missing\.otf"):
        render_clip(plan, out)
    assert not out.exists() and not leftovers(out.parent)


def test_corrupt_source_region_fails_with_ffmpegs_reason(render_source: MakeSource, tmp_path: Path) -> None:
    data = bytearray(render_source("long_bframes").read_bytes())
    rng = np.random.default_rng(1)
    for offset in range(len(data) * 45 // 100, len(data) * 55 // 100, 97):
        data[offset : offset + 40] = rng.integers(0, 256, 40, dtype=np.uint8).tobytes()
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(bytes(data))
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous clip")  # an older file at the final path survives a failed render
    with pytest.raises(RenderFailed, match="corrupt") as caught:
        render_clip(make_plan(corrupt, start=4.0, end=8.0, preset=SMALL, source_lufs=-20.0), out)
    assert "h264" in caught.value.stderr or "Invalid data" in caught.value.stderr
    assert out.read_bytes() == b"previous clip" and not leftovers(tmp_path)


@pytest.mark.slow
def test_timeout_and_cancel_leave_no_partial_file(render_source: MakeSource, tmp_path: Path) -> None:
    plan = make_plan(render_source("landscape"), start=0.0, end=4.0, preset=get_preset("douyin"), source_lufs=-14.0)
    out = tmp_path / "clip.mp4"
    with pytest.raises(FFmpegTimeout):
        render_clip(plan, out, timeout=0.2)
    assert not out.exists() and not leftovers(tmp_path)
    with pytest.raises(FFmpegCancelled):
        render_clip(plan, out, should_cancel=lambda: True)
    assert not out.exists() and not leftovers(tmp_path)


def test_progress_is_reported(render_source: MakeSource, tmp_path: Path) -> None:
    seen: list[float | None] = []
    plan = make_plan(render_source("landscape"), start=0.0, end=2.0, preset=SMALL, gain_db=0.0)
    render_clip(plan, tmp_path / "p.mp4", on_progress=lambda p: seen.append(p.fraction))
    assert seen and seen[-1] == 1.0
