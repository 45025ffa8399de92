"""Pure plan checks and ffmpeg argument/filtergraph building (no ffmpeg runs)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from sidedata.records import TranscriptCue
from studio.probe import MediaInfo
from studio.render import (
    CardOverlay,
    QrOverlay,
    RenderPlan,
    RenderPlanError,
    build_render_args,
    card_geometry,
    get_preset,
    qr_geometry,
    resolve_reframe,
)
from studio.render.graph import escape_filter_path

SMALL = get_preset("douyin").scaled(270, 480, name="small")
CORNER = get_preset("kuaishou").scaled(540, 960, name="corner")


def info(width: int = 1280, height: int = 720, *, rotation: int = 0, audio: bool = True, duration: float = 60.0):
    swap = rotation in (90, 270)
    return MediaInfo(
        path="/src/rec.mp4",
        container="mov,mp4,m4a,3gp,3g2,mj2",
        duration=duration,
        size_bytes=1,
        bit_rate=1,
        video_codec="h264",
        width=width,
        height=height,
        rotation=rotation,
        display_width=height if swap else width,
        display_height=width if swap else height,
        fps=30.0,
        variable_frame_rate=None,
        pix_fmt="yuv420p",
        audio_codec="aac" if audio else None,
        sample_rate=44100 if audio else None,
        channels=2 if audio else None,
    )


def plan(**kwargs: object) -> RenderPlan:
    values: dict[str, object] = {
        "source": Path("/src/rec.mp4"),
        "info": info(),
        "start": 10.0,
        "end": 20.0,
        "preset": SMALL,
        "gain_db": 0.0,
    }
    values.update(kwargs)
    return RenderPlan(**values)  # type: ignore[arg-type]


def png(path: Path, size: tuple[int, int], colour: tuple[int, ...] = (255, 0, 0, 255)) -> Path:
    Image.new("RGBA", size, colour).save(path)
    return path


def build(p: RenderPlan, tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    args, env = build_render_args(p, tmp_path / "out.mp4", tmp_path / "work")
    script = Path(args[args.index("-/filter_complex") + 1]).read_text(encoding="utf-8")
    return args, env, script


def test_one_filtergraph_script_with_input_seek_and_shared_encoder_flags(tmp_path: Path) -> None:
    args, env, script = build(plan(), tmp_path)
    assert args.index("-ss") < args.index("-i")  # input seek: frame-accurate with a re-encode
    assert args[args.index("-ss") + 1] == "10.000000" and args[args.index("-t") + 1] == "10.000000"
    assert "-filter_complex_script" not in args and "-vf" not in args
    assert args.count("-/filter_complex") == 1
    assert args[-3:] == ["-f", "mp4", str(tmp_path / "out.mp4")]
    assert "-map_metadata" in args and "[vout]" in args and "[aout]" in args
    assert args[args.index("-profile:v") + 1] == "high" and "+faststart" in args
    assert script.startswith("[0:v]fps=30:start_time=0,")  # CFR output whatever the source's timing
    assert "trim=end_frame=300" in script  # exactly 10 s of frames at 30 fps
    assert env == {}


def test_landscape_gets_blurred_padding_computed_at_low_resolution(tmp_path: Path) -> None:
    p = plan()
    assert resolve_reframe(p) == "blur"
    _, _, script = build(p, tmp_path)
    low = re.search(r"crop=(\d+):(\d+),boxblur=", script)
    assert low is not None
    assert (int(low.group(1)), int(low.group(2))) == (68, 120)  # a quarter of 270x480
    assert "scale=270:480:flags=bilinear[bg]" in script  # scaled up only after blurring
    assert "[fgsrc]scale=270:152[fg]" in script and "[bg][fg]overlay=0:164[framed]" in script


def test_portrait_source_is_only_scaled(tmp_path: Path) -> None:
    p = plan(info=info(720, 1280))
    assert resolve_reframe(p) == "scale"
    _, _, script = build(p, tmp_path)
    assert "boxblur" not in script and "crop=" not in script
    assert "[src]scale=270:480,pad=270:480:0:0:color=black[framed]" in script


def test_rotated_phone_video_counts_as_portrait(tmp_path: Path) -> None:
    assert resolve_reframe(plan(info=info(1280, 720, rotation=90))) == "scale"


def test_slightly_different_aspect_is_padded(tmp_path: Path) -> None:
    _, _, script = build(plan(info=info(720, 1200)), tmp_path)  # 3:5, not quite 9:16
    assert "[src]scale=270:450,pad=270:480:0:15:color=black[framed]" in script


def test_centre_crop_and_odd_source_dimensions(tmp_path: Path) -> None:
    _, _, script = build(plan(info=info(1281, 719), reframe="crop"), tmp_path)
    crop = re.search(r"\[src\]crop=(\d+):(\d+):(\d+):(\d+),scale=270:480\[framed\]", script)
    assert crop is not None
    w, h, x, y = map(int, crop.groups())
    assert w % 2 == 0 and h % 2 == 0 and w <= 1281 and h <= 719
    assert abs(w / h - 270 / 480) < 0.01 and x == (1281 - w) // 2 and y == 0


def test_card_and_qr_overlays(tmp_path: Path) -> None:
    card = CardOverlay(png(tmp_path / "card.png", (400, 160)), appear_at=1.0, duration=5.0, entrance="slide")
    qr = QrOverlay(png(tmp_path / "qr.png", (120, 120)), corner="top-right")
    p = plan(preset=CORNER, card=card, qr=qr)
    args, _, script = build(p, tmp_path)
    assert args.count("-i") == 3 and str(card.image) in args and str(qr.image) in args
    geo = card_geometry(card, CORNER, (400, 160))
    assert "enable='between(t,1.000,6.000)'" in script
    assert re.search(rf"overlay=x={geo.x}:y='{geo.y}\+\(\d+\)\*pow\(1-min\(1\\,max\(0\\,\(t-1.000\)", script)
    q = qr_geometry(qr, CORNER, (120, 120))
    assert f"[carded][2:v]overlay=x={q.x}:y={q.y}[qrd]" in script
    sx, sy, sw, sh = CORNER.safe_box
    assert q.x + q.w <= sx + sw and q.y >= sy  # inside the safe area, top-right
    assert geo.y + geo.h <= sy + sh  # the card rests above the bottom UI zone


def test_fade_entrance_fades_the_card_alpha(tmp_path: Path) -> None:
    card = CardOverlay(png(tmp_path / "card.png", (200, 80)), appear_at=0.5, duration=2.0, entrance="fade")
    _, _, script = build(plan(card=card), tmp_path)
    assert "loop=loop=" in script and "setpts=N/(30*TB)" in script
    assert "fade=t=in:st=0.500:d=0.400:alpha=1" in script and "fade=t=out:st=2.100:d=0.400:alpha=1" in script


def test_no_corner_qr_where_the_preset_forbids_it(tmp_path: Path) -> None:
    qr = QrOverlay(png(tmp_path / "qr.png", (60, 60)))
    with pytest.raises(RenderPlanError, match=r"does not allow a corner QR.*end card"):
        plan(preset=get_preset("douyin"), qr=qr)
    with pytest.raises(RenderPlanError, match="qr_policy=end_card"):
        plan(preset=get_preset("channels"), qr=qr)


def test_captions_burn_through_libass_with_a_generated_fonts_conf(tmp_path: Path) -> None:
    p = plan(captions=[TranscriptCue(11.0, 12.5, "上链接")])
    _, env, script = build(p, tmp_path)
    conf = Path(env["FONTCONFIG_FILE"])
    assert conf.is_file() and "<dir>" in conf.read_text(encoding="utf-8")
    ass = tmp_path / "work" / "captions.ass"
    assert f"ass=filename={escape_filter_path(ass)}[captioned]" in script
    assert script.index("[captioned]") > script.index("[framed]")  # captions are drawn last, on top
    assert "Dialogue: 0,0:00:01.00,0:00:02.50," in ass.read_text(encoding="utf-8")


def test_captions_off_or_outside_the_window_add_nothing(tmp_path: Path) -> None:
    for captions in (None, [], [TranscriptCue(50.0, 51.0, "later")]):
        _, env, script = build(plan(captions=captions), tmp_path)
        assert "ass=" not in script and "FONTCONFIG_FILE" not in env


def test_audio_gain_limiter_and_length(tmp_path: Path) -> None:
    _, _, script = build(plan(gain_db=6.5), tmp_path)
    assert "[0:a:0]aresample=48000:async=1:first_pts=0" in script
    assert "volume=6.50dB,alimiter=limit=0.8414:level=0:latency=1" in script  # -1.5 dBFS sample peak
    assert "apad=whole_dur=10.000000,atrim=end=10.000000" in script


def test_known_loudness_gives_the_gain(tmp_path: Path) -> None:
    _, _, script = build(plan(gain_db=None, source_lufs=-20.0), tmp_path)
    assert "volume=6.00dB" in script


def test_silent_source_gets_generated_silence(tmp_path: Path) -> None:
    _, _, script = build(plan(info=info(audio=False)), tmp_path)
    assert "anullsrc=r=48000:cl=stereo,atrim=end=10.000000[aout]" in script
    assert "[0:a" not in script


def test_filter_paths_are_escaped_for_both_levels() -> None:
    assert escape_filter_path(Path("/a b/c.ass")) == "/a b/c.ass"
    assert escape_filter_path(Path("/x'y:z,w[1];\\")) == "/x\\\\\\'y\\\\:z\\,w\\[1\\]\\;\\\\\\\\"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": -1.0}, "before the start"),
        ({"end": 61.0}, "after the end of the recording"),
        ({"start": 20.0, "end": 20.0}, "must be before end"),
        ({"start": 30.0, "end": 20.0}, "must be before end"),
        ({"reframe": "zoom"}, "unknown reframe"),
        ({"card": CardOverlay(Path("/nope/card.png"))}, "card image /nope/card.png does not exist"),
    ],
)
def test_bad_plans_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RenderPlanError, match=message):
        plan(**kwargs)


def test_duration_limits_come_from_the_preset() -> None:
    long_source = info(duration=400.0)
    with pytest.raises(RenderPlanError, match="over channels's maximum of 180 s"):
        plan(info=long_source, start=0.0, end=200.0, preset=get_preset("channels"))
    with pytest.raises(RenderPlanError, match="under tiktok's minimum of 3 s"):
        plan(start=0.0, end=2.0, preset=get_preset("tiktok"))
    assert plan(info=long_source, start=0.0, end=200.0, preset=get_preset("douyin")).frame_count == 6000


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(RenderPlanError) as caught:
        plan(start=-5.0, end=100.0, reframe="zoom")
    assert str(caught.value).count(";") >= 2


def test_fast_mode_takes_no_overlays(tmp_path: Path) -> None:
    with pytest.raises(RenderPlanError, match=r"fast mode.*captions.*reframing"):
        plan(mode="fast", captions=[TranscriptCue(11.0, 12.0, "x")], reframe="crop")
    fast = plan(mode="fast")
    with pytest.raises(RenderPlanError, match="stream copy"):
        build_render_args(fast, tmp_path / "o.mp4", tmp_path)


def test_overlays_larger_than_the_frame_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RenderPlanError, match="larger than"):
        build(plan(card=CardOverlay(png(tmp_path / "big.png", (300, 100)))), tmp_path)
    with pytest.raises(RenderPlanError, match="does not fit the safe area"):
        build(plan(preset=CORNER, qr=QrOverlay(png(tmp_path / "qr.png", (500, 500)))), tmp_path)


def test_plan_keeps_the_source_timing() -> None:
    p = replace(plan(), start=10.0, end=10.5)
    assert p.frame_count == 15 and p.output_duration == pytest.approx(0.5)
