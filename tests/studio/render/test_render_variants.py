"""Per-leader variants: base clip by stream copy + an end card with the leader's QR, validated end to end."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest
import zxingcpp
from PIL import Image

from studio.cards import render_end_card
from studio.ffmpeg import resolve_ffmpeg, run_ffmpeg
from studio.render.errors import RenderPlanError
from studio.render.presets import Preset, encoder_args, get_preset
from studio.render.validate import validate_output
from studio.render.variants import (
    CARD_SPEED_PARAMS,
    VariantBaseError,
    concat_args,
    end_card_args,
    probe_base,
    render_variant,
    render_variants,
)

PRESET: Preset = get_preset("douyin").scaled(270, 480)
BASE_S = 3.0
CARD_S = 2.0
URLS = {"alice": "https://s.example.com/s/Ab3xK9?src=qr", "bob-2": "https://s.example.com/s/Zq81Lm?src=qr"}


def make_base(path: Path, preset: Preset, *, audio_s: float = BASE_S) -> Path:
    """A BASE_S clip encoded like the renderer does: moving test pattern, a 440 Hz tone for ``audio_s``."""
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={preset.width}x{preset.height}:rate={preset.fps}:duration={BASE_S}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={audio_s}",
            *encoder_args(preset),
            "-y",
            str(path),
        ]
    )
    return path


def card(url: str, leader: str) -> Image.Image:
    return render_end_card(size=(PRESET.width, PRESET.height), qr_url=url, leader=leader, content=None)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_base(tmp_path_factory.mktemp("variants") / "base.mp4", PRESET)


@pytest.fixture(scope="module")
def variants(base: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    png = tmp_path_factory.mktemp("cards") / "bob.png"
    card(URLS["bob-2"], "Bob").save(png)  # one card as a PIL image, one as a PNG file
    cards: dict[str, Image.Image | Path] = {"alice": card(URLS["alice"], "Alice"), "bob-2": png}
    return render_variants(base, cards, base.parent / "out", preset=PRESET, seconds=CARD_S)


def packet_hashes(path: Path, kind: str) -> list[str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [hashlib.sha1(bytes(p)).hexdigest() for p in container.demux(stream) if p.size]


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= t - 1e-3:
                return frame.to_ndarray(format="gray")
    raise AssertionError(f"no frame at {t} s in {path}")


def qr_texts(image: np.ndarray) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def test_variants_are_named_per_leader(variants: dict[str, Path], base: Path) -> None:
    assert set(variants) == set(URLS)
    assert variants["alice"] == base.parent / "out" / "base.alice.mp4"
    assert sorted(p.name for p in (base.parent / "out").iterdir()) == ["base.alice.mp4", "base.bob-2.mp4"]


@pytest.mark.parametrize("leader", sorted(URLS))
def test_variant_decodes_cleanly_and_passes_the_validator(variants: dict[str, Path], leader: str) -> None:
    path = variants[leader]
    result = subprocess.run(
        [str(resolve_ffmpeg()), "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stdout == "" and result.stderr == ""
    report = validate_output(path, preset=PRESET, expected_duration=BASE_S + CARD_S)
    facts = report.facts
    assert facts.faststart and facts.boxes.index("moov") < facts.boxes.index("mdat")
    assert facts.duration is not None and abs(facts.duration - (BASE_S + CARD_S)) <= 0.1
    assert facts.audio_duration is not None and facts.video_duration is not None
    assert abs(facts.audio_duration - facts.video_duration) <= 0.05


@pytest.mark.parametrize("leader", sorted(URLS))
def test_end_card_carries_the_leaders_qr_from_the_first_card_frame(variants: dict[str, Path], leader: str) -> None:
    path = variants[leader]
    assert qr_texts(frame_at(path, BASE_S)) == [URLS[leader]]  # the first frame after the base
    assert qr_texts(frame_at(path, BASE_S + CARD_S - 0.1)) == [URLS[leader]]
    assert qr_texts(frame_at(path, BASE_S - 1 / PRESET.fps)) == []  # the base's last frame has no code


@pytest.mark.parametrize("leader", sorted(URLS))
def test_base_packets_are_copied_bit_for_bit(base: Path, variants: dict[str, Path], leader: str) -> None:
    for kind in ("video", "audio"):
        original = packet_hashes(base, kind)
        copied = packet_hashes(variants[leader], kind)
        assert copied[: len(original)] == original, f"{kind} packets of the base were re-encoded or altered"
        assert len(copied) > len(original)


def tone_end(path: Path) -> float:
    """Time (s) where the audio's 440 Hz tone stops."""
    with av.open(str(path)) as container:
        chunks = [
            frame.to_ndarray().reshape(-1, 2)[:, 0] if frame.format.is_packed else frame.to_ndarray()[0]
            for frame in container.decode(audio=0)
        ]
    samples = np.abs(np.concatenate(chunks))
    loud = np.flatnonzero(samples > 0.02)
    return float(loud[-1]) / 48000


def decoded_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        return sum(frame.samples for frame in container.decode(audio=0)) / 48000


AAC_FRAME = 1024 / 48000


def test_audio_stays_in_sync_across_the_join(variants: dict[str, Path]) -> None:
    end = tone_end(variants["alice"])
    assert abs(end - BASE_S) <= 0.03, f"the base's tone ends at {end:.3f} s, not at the join"
    # no stray AAC frame at the join (the card's priming packet would add one and delay the card's audio)
    assert abs(decoded_seconds(variants["alice"]) - (BASE_S + CARD_S)) < AAC_FRAME


def test_base_with_longer_audio_still_joins_at_the_video_end(tmp_path: Path) -> None:
    base = make_base(tmp_path / "long-audio.mp4", PRESET, audio_s=BASE_S + 0.1)
    out = render_variant(base, card(URLS["alice"], "Alice"), tmp_path / "v.mp4", preset=PRESET, seconds=CARD_S)
    facts = validate_output(out, preset=PRESET, expected_duration=BASE_S + CARD_S).facts
    assert facts.video_duration is not None and facts.audio_duration is not None
    assert facts.video_duration == pytest.approx(BASE_S + CARD_S, abs=1e-3)
    assert abs(facts.audio_duration - facts.video_duration) < AAC_FRAME
    assert abs(decoded_seconds(out) - (BASE_S + CARD_S)) < AAC_FRAME
    assert qr_texts(frame_at(out, BASE_S)) == [URLS["alice"]]


def test_base_that_does_not_match_the_preset_is_refused(base: Path, tmp_path: Path) -> None:
    other = get_preset("douyin").scaled(272, 480)
    out = tmp_path / "out" / "v.mp4"
    with pytest.raises(VariantBaseError, match=r"size 270x480 is not the preset's 272x480"):
        render_variant(base, card(URLS["alice"], "Alice"), out, preset=other)
    assert not out.exists()


def test_failed_variant_leaves_nothing_behind(base: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    with pytest.raises(RenderPlanError, match="end card image not found"):
        render_variant(base, tmp_path / "missing.png", out_dir / "v.mp4", preset=PRESET)
    assert list(out_dir.iterdir()) == []
    with pytest.raises(RenderPlanError, match="leader ids"):
        render_variants(base, {"../evil": tmp_path / "x.png"}, out_dir, preset=PRESET)


def test_commands_reuse_the_presets_encoder_flags(base: Path, tmp_path: Path) -> None:
    from studio.render.variants import CardInput

    facts = probe_base(base, PRESET)
    assert facts.timescale == PRESET.video_timescale and facts.frame_count == round(BASE_S * PRESET.fps)
    args = end_card_args(CardInput(tmp_path / "c.png"), tmp_path / "c.mp4", facts=facts, preset=PRESET, seconds=2.0)
    flags = encoder_args(PRESET)
    start = args.index(flags[0])
    assert args[start : start + len(flags)] == flags
    assert args[args.index("-x264-params") + 1] == CARD_SPEED_PARAMS
    assert args[args.index("-frames:v") + 1] == "60"
    plain = end_card_args(
        CardInput(tmp_path / "c.png"), tmp_path / "c.mp4", facts=facts, preset=PRESET, seconds=2.0, fast=False
    )
    assert "-x264-params" not in plain
    join = concat_args(tmp_path / "l.ffconcat", tmp_path / "o.mp4", same_parameter_sets=True)
    assert join[join.index("-c") + 1] == "copy" and "+faststart" in join and "-copyts" in join


def test_card_is_re_encoded_plainly_when_speed_flags_change_its_parameter_sets(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import studio.render.variants as variants_module

    monkeypatch.setattr(variants_module, "CARD_SPEED_PARAMS", "weightp=0:threads=1")  # changes the PPS
    out = render_variant(base, card(URLS["alice"], "Alice"), tmp_path / "v.mp4", preset=PRESET, seconds=CARD_S)
    original = packet_hashes(base, "video")
    assert packet_hashes(out, "video")[: len(original)] == original
    assert qr_texts(frame_at(out, BASE_S)) == [URLS["alice"]]


def test_base_from_other_encoder_settings_joins_with_in_band_parameter_sets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = tmp_path / "other.mp4"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={PRESET.width}x{PRESET.height}:rate={PRESET.fps}:duration={BASE_S}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={BASE_S}",
            *encoder_args(PRESET),
            "-x264-params",
            "weightp=0:ref=2",
            "-y",
            str(base),
        ]
    )
    with caplog.at_level("WARNING", logger="studio.render.variants"):
        out = render_variant(base, card(URLS["bob-2"], "Bob"), tmp_path / "v.mp4", preset=PRESET, seconds=CARD_S)
    assert "in-band parameter sets" in caplog.text
    result = subprocess.run(
        [str(resolve_ffmpeg()), "-v", "error", "-xerror", "-i", str(out), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == ""
    validate_output(out, preset=PRESET, expected_duration=BASE_S + CARD_S)
    assert qr_texts(frame_at(out, BASE_S + 0.5)) == [URLS["bob-2"]]


def test_bt709_tagged_base_gets_a_matching_card_and_a_pure_copy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = tmp_path / "bt709.mp4"
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={PRESET.width}x{PRESET.height}:rate={PRESET.fps}:duration={BASE_S}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={BASE_S}",
            "-vf",
            "scale=out_color_matrix=bt709:out_range=tv",
            *encoder_args(PRESET),
            "-colorspace",
            "bt709",
            "-color_range",
            "tv",
            "-y",
            str(base),
        ]
    )
    assert probe_base(base, PRESET).colorspace == 1
    with caplog.at_level("WARNING", logger="studio.render.variants"):
        out = render_variant(base, card(URLS["alice"], "Alice"), tmp_path / "v.mp4", preset=PRESET, seconds=CARD_S)
    assert "in-band" not in caplog.text
    original = packet_hashes(base, "video")
    assert packet_hashes(out, "video")[: len(original)] == original
    assert qr_texts(frame_at(out, BASE_S)) == [URLS["alice"]]
