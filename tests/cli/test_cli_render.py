"""``liveslice render`` as a real subprocess: a media file (no database) or a stored recording's id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from studio.render import get_preset, validate_output
from tests.services.clips.clip_media import (
    BUY_URL,
    CATALOG,
    TIMELINE,
    TRANSCRIPT,
    corrupt_copy,
    decode_errors,
    frame,
    make_source,
    qr_texts,
)

SHARE = "https://ls.example.com/s/kS9x2"
LEADERS = {"小王团长": "https://ls.example.com/s/wang", "Lily": "https://ls.example.com/s/lily"}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli-render")
    made = {"source": make_source(folder / "live.mp4")}
    for name, text in (("catalog", CATALOG), ("timeline", TIMELINE), ("transcript", TRANSCRIPT)):
        path = folder / {"catalog": "catalog.csv", "timeline": "timeline.csv", "transcript": "t.srt"}[name]
        path.write_text(text, encoding="utf-8")
        made[name] = path
    leaders = folder / "leaders.csv"
    leaders.write_text("name,share_url\n" + "".join(f"{n},{u}\n" for n, u in LEADERS.items()), encoding="utf-8")
    made["leaders"] = leaders
    return made


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    base.update(LIVESLICE_MEDIA_ROOT=str(tmp_path / "media"), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "liveslice", *args], env=base, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.slow
def test_file_render_on_douyin_with_card_captions_poster_and_variants(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out" / "clip.mp4"
    result = _cli(
        tmp_path,
        "render",
        str(files["source"]),
        "--start",
        "0:00.5",
        "--end",
        "00:00:03",
        "--sku",
        "LS-0001",
        "--products",
        str(files["catalog"]),
        "--transcript",
        str(files["transcript"]),
        "--leaders",
        str(files["leaders"]),
        "--out",
        str(out),
        "--json",
        env={"TTY_COMPATIBLE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "100%" in result.stderr and "━" in result.stderr  # the progress bar went to stderr
    doc = json.loads(result.stdout)  # exactly one JSON document on stdout
    douyin = get_preset("douyin")
    assert doc["clip_id"] is None and doc["preset"] == "douyin" and doc["sku"] == "LS-0001"
    assert (doc["start"], doc["end"]) == (0.5, pytest.approx(3.0, abs=0.01)) and not doc["corner_qr"]
    assert doc["share_url"] == BUY_URL and doc["product"]["price"] == "89.00"
    report = validate_output(out, preset=douyin, expected_duration=2.5)
    assert (report.facts.width, report.facts.height) == (1080, 1920)
    assert qr_texts(frame(out, 1.5, tmp_path)) == []  # douyin: no QR burned into the clip
    assert doc["files"]["video"] == str(out)
    assert Path(doc["files"]["cover"]).is_file() and doc["files"]["cover"].endswith("clip.cover.jpg")
    assert qr_texts(Path(doc["files"]["poster"])) == [BUY_URL]
    variants = doc["files"]["variants"]
    assert sorted(v["leader"] for v in variants.values()) == sorted(LEADERS)
    for variant in variants.values():
        video = Path(variant["video"])
        validate_output(video, preset=douyin, expected_duration=2.5 + 3.0)
        assert decode_errors(video) == ""
        assert qr_texts(frame(video, 4.0, tmp_path)) == [LEADERS[variant["leader"]]]
        assert qr_texts(Path(variant["poster"])) == [LEADERS[variant["leader"]]]
    assert not (tmp_path / "media" / "liveslice.db").exists()  # a file renders without any database


@pytest.mark.slow
def test_stored_recording_render_with_a_corner_qr_is_recorded_once(files: dict[str, Path], tmp_path: Path) -> None:
    ingested = _cli(tmp_path, "ingest", str(files["source"]))
    assert ingested.returncode == 0, ingested.stderr
    rec_id = ingested.stdout.split()[1].rstrip(":")
    for kind in ("catalog", "timeline", "transcript"):
        extra = [] if kind == "catalog" else ["-r", rec_id]
        assert _cli(tmp_path, "import", kind, str(files[kind]), *extra).returncode == 0
    args = ["render", rec_id, "--start", "1", "--end", "3", "--platform", "kuaishou", "--share-url", SHARE, "--json"]
    first = _cli(tmp_path, *args)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["clip_id"] and doc["recording"] == {"id": rec_id} and doc["corner_qr"] and doc["sku"] == "LS-0001"
    video = Path(doc["files"]["video"])
    assert video == tmp_path / "media" / "clips" / doc["clip_id"] / "clip.mp4"
    validate_output(video, preset=get_preset("kuaishou"), expected_duration=2.0)
    assert qr_texts(frame(video, 0.2, tmp_path)) == [SHARE] and qr_texts(frame(video, 1.9, tmp_path)) == [SHARE]
    assert qr_texts(Path(doc["files"]["poster"])) == [SHARE]
    copy = tmp_path / "exported" / "mine.mp4"
    again = _cli(tmp_path, *args, "--out", str(copy))
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["clip_id"] == doc["clip_id"]  # the same window again: the same clip, files replaced
    assert second["files"]["video"] == str(copy) and copy.read_bytes() == video.read_bytes()
    assert sorted(p.name for p in copy.parent.iterdir()) == ["mine.cover.jpg", "mine.mp4", "mine.poster.png"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2", "--end", "2"], "start (2 s) must be before end (2 s)"),
        (["--start", "5", "--end", "0:09"], "outside the recording, which is 8.000 s long"),
        (["--start", "soon", "--end", "3"], "--start: 'soon' is not a time"),
        (["--start", "0", "--end", "1", "--sku", "LS-0001"], "--sku LS-0001 needs --products"),
        (["--start", "0", "--end", "1", "--sku", "NOPE", "--products", "CATALOG"], "unknown SKU 'NOPE'"),
        (["--start", "0", "--end", "1", "--reframe", "zoom"], "--reframe must be one of"),
        (["--start", "0", "--end", "1", "--platform", "myspace"], "unknown preset 'myspace'"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(
    files: dict[str, Path], tmp_path: Path, args: list[str], message: str
) -> None:
    args = [str(files["catalog"]) if a == "CATALOG" else a for a in args]
    out = tmp_path / "out.mp4"
    result = _cli(tmp_path, "render", str(files["source"]), *args, "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split()), result.stderr
    assert not out.exists()


def test_unknown_recording_and_missing_font_exit_2(files: dict[str, Path], tmp_path: Path) -> None:
    unknown = _cli(tmp_path, "render", "no-such-recording", "--start", "0", "--end", "1")
    assert unknown.returncode == 2 and "neither a media file nor a recording id" in unknown.stderr
    out = tmp_path / "font.mp4"
    missing = _cli(
        tmp_path,
        "render",
        str(files["source"]),
        "--start",
        "0",
        "--end",
        "1",
        "--sku",
        "LS-0001",
        "--products",
        str(files["catalog"]),
        "--out",
        str(out),
        env={"LIVESLICE_FONT": str(tmp_path / "missing.otf")},
    )
    assert missing.returncode == 2 and "CJK font" in missing.stderr and "missing.otf" in missing.stderr
    assert not out.exists()


def test_a_corrupt_source_region_exits_2_and_leaves_no_file(files: dict[str, Path], tmp_path: Path) -> None:
    source = corrupt_copy(files["source"], tmp_path / "corrupt.mp4")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = _cli(tmp_path, "render", str(source), "--start", "3", "--end", "5", "--out", str(out_dir / "c.mp4"))
    assert result.returncode == 2 and "corrupt" in result.stderr, result.stderr
    assert list(out_dir.iterdir()) == []  # nothing at the final path, no temp files left beside it
