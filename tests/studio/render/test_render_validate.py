"""The output validator catches every defect a platform would reject, and lists them all."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from studio.ffmpeg import run_ffmpeg
from studio.render import RenderValidationError, encoder_args, get_preset, validate_output
from studio.render.validate import mp4_top_level_boxes

PRESET = get_preset("douyin").scaled(180, 320, name="tiny")


def encode(
    out: Path,
    *,
    size: str = "180x320",
    seconds: float = 1.0,
    audio_seconds: float | None = None,
    audio: bool = True,
    replace: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
    extra: tuple[str, ...] = (),
) -> Path:
    """An MP4 made with the shared encoder flags, some of them replaced or dropped on purpose."""
    flags = encoder_args(PRESET)
    pairs = list(zip(flags[::2], flags[1::2], strict=True))
    pairs = [(k, (replace or {}).get(k, v)) for k, v in pairs if k not in drop]
    inputs = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=30:duration={seconds}"]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=sample_rate=48000:duration={audio_seconds or seconds}"]
    args = ["-loglevel", "error", "-y", *inputs, *[x for pair in pairs for x in pair], *extra, str(out)]
    run_ffmpeg(args)
    return out


def problems(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(RenderValidationError) as caught:
        validate_output(path, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def test_good_file_passes_every_check(tmp_path: Path) -> None:
    report = validate_output(encode(tmp_path / "good.mp4"), preset=PRESET, expected_duration=1.0)
    assert set(report.checks) >= {
        "faststart",
        "keyframe_at_0",
        "av_sync",
        "h264_high",
        "yuv420p",
        "aac_48k",
        "dimensions",
        "duration",
    }
    facts = report.facts
    assert (facts.width, facts.height, facts.profile, facts.pix_fmt) == (180, 320, "High", "yuv420p")
    assert facts.boxes.index("moov") < facts.boxes.index("mdat")
    assert facts.frame_rate == pytest.approx(30, rel=0.01)


@pytest.mark.parametrize(
    ("name", "kwargs", "expected"),
    [
        ("yuv444", {"replace": {"-pix_fmt": "yuv444p", "-profile:v": "high444"}}, "yuv420p"),
        ("baseline", {"replace": {"-profile:v": "baseline"}}, "expected h264 High"),
        ("44k", {"replace": {"-ar": "44100"}}, "48000"),
        ("nofaststart", {"drop": ("-movflags",)}, "faststart"),
        ("wrongsize", {"size": "200x320"}, "needs 180x320"),
        ("desync", {"audio_seconds": 1.5, "extra": ()}, "durations differ"),
        ("noaudio", {"audio": False}, "no audio stream"),
        ("nokey", {"extra": ("-bsf:v", r"noise=drop=eq(n\,0)")}, "keyframe at pts 0"),
        ("mp3", {"replace": {"-c:a": "libmp3lame", "-profile:a": "0"}}, "expected AAC"),
    ],
)
def test_each_defect_is_caught(tmp_path: Path, name: str, kwargs: dict[str, object], expected: str) -> None:
    path = encode(tmp_path / f"{name}.mp4", **kwargs)  # type: ignore[arg-type]
    found = problems(path, preset=PRESET, expected_duration=None)
    assert any(expected in p for p in found), found


def test_wrong_duration_is_caught(tmp_path: Path) -> None:
    path = encode(tmp_path / "short.mp4")
    assert any("planned 1.500 s" in p for p in problems(path, preset=PRESET, expected_duration=1.5))
    validate_output(path, preset=PRESET, expected_duration=1.08)  # within ±0.1 s


def test_all_failures_are_listed_together(tmp_path: Path) -> None:
    path = encode(
        tmp_path / "bad.mp4",
        replace={"-pix_fmt": "yuv444p", "-profile:v": "high444", "-ar": "44100"},
        drop=("-movflags",),
    )
    found = problems(path, preset=PRESET, expected_duration=2.0)
    assert len(found) >= 5  # faststart, profile, pixel format, sample rate, duration
    message = str(RenderValidationError(found, path=str(path)))
    assert f"failed {len(found)} check(s)" in message


def test_fast_mode_checks_only_faststart_sync_and_keyframe(tmp_path: Path) -> None:
    source_codecs = encode(
        tmp_path / "src.mp4", replace={"-pix_fmt": "yuv444p", "-profile:v": "high444", "-ar": "44100"}
    )
    report = validate_output(source_codecs, fast=True)
    assert set(report.checks) == {"faststart", "keyframe_at_0", "av_sync"}
    validate_output(encode(tmp_path / "silent.mp4", audio=False), fast=True)  # no audio is fine for an excerpt
    assert any("faststart" in p for p in problems(encode(tmp_path / "slow.mp4", drop=("-movflags",)), fast=True))
    assert any("durations differ" in p for p in problems(encode(tmp_path / "ds.mp4", audio_seconds=1.5), fast=True))


def test_unreadable_or_missing_files_fail_cleanly(tmp_path: Path) -> None:
    assert "missing or empty" in problems(tmp_path / "nope.mp4")[0]
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    assert "not a readable media file" in problems(junk)[0]


def box(kind: bytes, payload: bytes = b"", *, large: bool = False) -> bytes:
    if large:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def test_box_walker_handles_64_bit_sizes_and_to_end_boxes(tmp_path: Path) -> None:
    path = tmp_path / "boxes.mp4"
    path.write_bytes(box(b"ftyp", b"isom") + box(b"mdat", b"\0" * 40, large=True) + box(b"moov", b"\0" * 8))
    assert mp4_top_level_boxes(path) == ["ftyp", "mdat", "moov"]
    path.write_bytes(box(b"ftyp", b"isom") + box(b"moov") + struct.pack(">I4s", 0, b"mdat") + b"\0" * 64)
    assert mp4_top_level_boxes(path) == ["ftyp", "moov", "mdat"]
