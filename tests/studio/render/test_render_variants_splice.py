"""Spliced end cards: the leader's IDR + a template's skip frames, verified, with a full-encode fallback."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av
import numpy as np
import pytest
import zxingcpp
from PIL import Image

import studio.render.variant_args as variant_args
import studio.render.variants as variants_module
from studio.cards import render_end_card
from studio.ffmpeg import resolve_ffmpeg, run_ffmpeg
from studio.render.presets import Preset, encoder_args, get_preset
from studio.render.splice import SpliceRejected, TemplateCache, splice_card, still_mismatch
from studio.render.validate import validate_output
from studio.render.variants import CardInput, end_card_args, probe_base, render_variant, render_variants

SMALL: Preset = get_preset("douyin").scaled(270, 480, name="splice-small")
FULL: Preset = get_preset("douyin")
CARD_S = 2.5  # longer than the 2 s GOP: the card holds a second IDR
URLS = {"alice": "https://s.example.com/s/Ab3xK9?src=qr", "bob-2": "https://s.example.com/s/Zq81Lm?src=qr"}


def make_base(path: Path, preset: Preset, seconds: float) -> Path:
    """A clip encoded like the renderer does: moving test pattern and a tone."""
    run_ffmpeg(
        [
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={preset.width}x{preset.height}:rate={preset.fps}:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=48000:duration={seconds}",
            *encoder_args(preset),
            "-y",
            str(path),
        ]
    )
    return path


def card(preset: Preset, leader: str) -> Image.Image:
    return render_end_card(size=(preset.width, preset.height), qr_url=URLS[leader], leader=leader, content=None)


@contextmanager
def fallback_log() -> Iterator[list[str]]:
    """Messages of full-encode fallbacks logged while the block runs (from any thread)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "encoded in full" in record.getMessage():
                messages.append(record.getMessage())

    logger, handler = logging.getLogger("studio.render.variants"), Collect(level=logging.INFO)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def decodes_cleanly(path: Path) -> bool:
    result = subprocess.run(
        [str(resolve_ffmpeg()), "-v", "error", "-xerror", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stderr == ""


def last_frame(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        last = deque(container.decode(video=0), maxlen=1)
        assert last, f"no video frames in {path}"
        return last[0].to_ndarray(format="gray")


def qr_texts(image: np.ndarray) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(image)]


def packet_hashes(path: Path, kind: str) -> list[str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return [hashlib.sha1(bytes(p)).hexdigest() for p in container.demux(stream) if p.size]


def check_variant(base: Path, out: Path, preset: Preset, leader: str, total: float) -> None:
    assert decodes_cleanly(out)
    validate_output(out, preset=preset, expected_duration=total)
    assert qr_texts(last_frame(out)) == [URLS[leader]]  # the skip frames show the leader's card
    for kind in ("video", "audio"):
        original = packet_hashes(base, kind)
        assert packet_hashes(out, kind)[: len(original)] == original


@pytest.fixture(scope="module")
def small_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_base(tmp_path_factory.mktemp("splice") / "base.mp4", SMALL, 2.0)


@pytest.fixture(scope="module")
def spliced(small_base: Path) -> tuple[dict[str, Path], list[str]]:
    with fallback_log() as fallbacks:
        cards: dict[str, Image.Image | Path] = {leader: card(SMALL, leader) for leader in URLS}
        paths = render_variants(small_base, cards, small_base.parent / "out", preset=SMALL, seconds=CARD_S)
    return paths, fallbacks


def test_small_variants_are_spliced_not_encoded_in_full(spliced: tuple[dict[str, Path], list[str]]) -> None:
    paths, fallbacks = spliced
    assert fallbacks == []
    card_frames = round(CARD_S * SMALL.fps)
    a, b = card_packets(paths["alice"], card_frames), card_packets(paths["bob-2"], card_frames)
    keyframes = [i for i, (_, key) in enumerate(a) if key]
    assert keyframes == [0, SMALL.gop] == [i for i, (_, key) in enumerate(b) if key]
    assert all(a[i][0] != b[i][0] for i in keyframes)  # each leader's own IDR, at every GOP start
    assert all(a[i] == b[i] for i in range(card_frames) if i not in keyframes)  # the template's skip frames


def card_packets(path: Path, count: int) -> list[tuple[bytes, bool]]:
    """The last ``count`` video packets (the end card): payload and keyframe flag."""
    with av.open(str(path)) as container:
        return [(bytes(p), p.is_keyframe) for p in container.demux(video=0) if p.size][-count:]


@pytest.mark.parametrize("leader", sorted(URLS))
def test_spliced_variant_is_clean_valid_and_shows_the_leaders_qr_to_the_end(
    small_base: Path, spliced: tuple[dict[str, Path], list[str]], leader: str
) -> None:
    check_variant(small_base, spliced[0][leader], SMALL, leader, 2.0 + CARD_S)


@pytest.mark.slow
def test_full_size_variant_is_spliced_and_correct(tmp_path: Path) -> None:
    base = make_base(tmp_path / "base.mp4", FULL, 1.0)
    with fallback_log() as fallbacks:
        out = render_variant(base, card(FULL, "alice"), tmp_path / "v.mp4", preset=FULL, seconds=3.0)
    assert fallbacks == []
    check_variant(base, out, FULL, "alice", 4.0)


def moving_input(workdir: Path, size: tuple[int, int]) -> CardInput:
    """A moving picture read as an image sequence: a template made from it is not one still."""
    width, height = size
    run_ffmpeg(
        [
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={width}x{height}:rate=30:duration=2",
            "-y",
            str(workdir / "m%03d.png"),
        ]
    )
    return CardInput(workdir / "m%03d.png")


def test_moving_template_is_refused_and_the_card_encoded_in_full(
    small_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(variants_module, "_template_input", moving_input)
    with fallback_log() as fallbacks:
        out = render_variant(small_base, card(SMALL, "bob-2"), tmp_path / "v.mp4", preset=SMALL, seconds=CARD_S)
    assert fallbacks and "template card is not one still picture" in fallbacks[0]
    check_variant(small_base, out, SMALL, "bob-2", 2.0 + CARD_S)


def test_per_variant_check_catches_skip_frames_that_are_not_content_free(small_base: Path, tmp_path: Path) -> None:
    facts = probe_base(small_base, SMALL)
    raw = tmp_path / "card.rgb"
    raw.write_bytes(card(SMALL, "alice").tobytes())
    leader = CardInput(raw, raw_size=(SMALL.width, SMALL.height))
    idr, moving, neutral = tmp_path / "idr.mp4", tmp_path / "moving.mp4", tmp_path / "neutral.mp4"
    run_ffmpeg(end_card_args(leader, idr, facts=facts, preset=SMALL, seconds=1 / SMALL.fps))
    run_ffmpeg(
        end_card_args(
            moving_input(tmp_path, (SMALL.width, SMALL.height)), moving, facts=facts, preset=SMALL, seconds=CARD_S
        )
    )
    run_ffmpeg(
        end_card_args(
            variants_module._template_input(tmp_path, (SMALL.width, SMALL.height)),
            neutral,
            facts=facts,
            preset=SMALL,
            seconds=CARD_S,
        )
    )
    bad, good = tmp_path / "bad.mp4", tmp_path / "good.mp4"
    splice_card(idr, moving, bad, timescale=facts.timescale)
    splice_card(idr, neutral, good, timescale=facts.timescale)
    mismatch = still_mismatch(bad)
    assert mismatch is not None and "differs from frame 0" in mismatch
    assert still_mismatch(good) is None
    assert qr_texts(last_frame(good)) == [URLS["alice"]]


def test_idr_with_other_parameter_sets_is_rejected(
    small_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = probe_base(small_base, SMALL)
    size = (SMALL.width, SMALL.height)
    template, idr = tmp_path / "t.mp4", tmp_path / "idr.mp4"
    run_ffmpeg(
        end_card_args(
            variants_module._template_input(tmp_path, size), template, facts=facts, preset=SMALL, seconds=CARD_S
        )
    )
    monkeypatch.setattr(variant_args, "CARD_SPEED_PARAMS", "weightp=0:threads=1")  # changes the PPS
    run_ffmpeg(
        end_card_args(
            variants_module._template_input(tmp_path, size), idr, facts=facts, preset=SMALL, seconds=1 / SMALL.fps
        )
    )
    with pytest.raises(SpliceRejected, match="other SPS/PPS"):
        splice_card(idr, template, tmp_path / "out.mp4", timescale=facts.timescale)


def test_template_cache_builds_each_key_once_across_threads() -> None:
    cache = TemplateCache(size=2)
    calls: list[str] = []
    gate = threading.Barrier(6)

    def build() -> str:
        calls.append("built")
        return "entry"

    def ask() -> None:
        gate.wait()
        assert cache.get("key", build) == "entry"

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == ["built"]
    cache.get("a", lambda: "a")
    cache.get("b", lambda: "b")
    assert cache.get("key", lambda: "rebuilt") == "rebuilt"  # evicted: size 2
