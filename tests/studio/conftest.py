"""Small media files made with the pinned ffmpeg, once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from studio.ffmpeg import run_ffmpeg
from tests.support.lazy_media import lazy_media

MakeMedia = Callable[[str], Path]

_QUIET = ["-loglevel", "error", "-y"]
_TESTSRC = "testsrc2=size=160x90:rate=25:duration=2"
_SRC = ["-f", "lavfi", "-i", _TESTSRC, "-f", "lavfi", "-i", "sine=frequency=440:duration=2"]
_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"]
_VFR = ["-fps_mode", "vfr", *_X264]


def _ffmpeg(*args: str) -> None:
    run_ffmpeg([*_QUIET, *args], timeout=60)


def _build(kind: str, root: Path, make: MakeMedia) -> Path:
    """Make the file for ``kind`` under ``root`` and return its path."""
    if kind == "mp4":  # h264/aac, moov at the end (no faststart), keyframe every second
        out = root / "clip.mp4"
        _ffmpeg(*_SRC, *_X264, "-c:a", "aac", "-shortest", str(out))
    elif kind in ("mkv", "flv", "ts"):
        out = root / f"clip.{kind}"
        _ffmpeg("-i", str(make("mp4")), "-c", "copy", str(out))
    elif kind == "live_mkv":  # muxed as a live stream: no duration and no cues in the file
        out = root / "live.mkv"
        _ffmpeg("-i", str(make("mp4")), "-c", "copy", "-live", "1", str(out))
    elif kind == "webm":
        out = root / "clip.webm"
        vp9 = ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"]
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25:duration=1", *vp9, str(out))
    elif kind.startswith("rot"):  # rotCCW: -display_rotation CCW (counter-clockwise degrees)
        out = root / f"{kind}.mov"
        _ffmpeg("-display_rotation", kind.removeprefix("rot"), "-i", str(make("mp4")), "-c", "copy", str(out))
    elif kind == "vfr":  # 30 fps for the first second, then every third frame (10 fps)
        out = root / "vfr.mkv"
        drop = r"select='lt(t\,1)+not(mod(n\,3))'"
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30:duration=3", "-vf", drop, *_VFR, str(out))
    elif kind == "late_vfr":  # 30 fps for 40 s, then 10 fps for 40 s: constant in the first 300 packets
        out = root / "late_vfr.mkv"
        drop = r"select='lt(t\,40)+not(mod(n\,3))'"
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=32x32:rate=30:duration=80", "-vf", drop, *_VFR, str(out))
    elif kind == "fps60":
        out = root / "fps60.mp4"
        _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=160x90:rate=60:duration=2", *_X264, str(out))
    elif kind == "hls":
        folder = root / "hls"
        folder.mkdir()
        out = folder / "index.m3u8"
        hls = ["-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"]
        _ffmpeg("-i", str(make("mp4")), *hls, "-hls_segment_filename", str(folder / "seg%03d.ts"), str(out))
    elif kind in ("hls_fmp4", "hls_aes"):  # fMP4 segments with #EXT-X-MAP; AES-128 with a local #EXT-X-KEY
        folder = root / kind
        folder.mkdir()
        out = folder / "index.m3u8"
        extra = ["-hls_segment_type", "fmp4"]
        if kind == "hls_aes":
            (folder / "k.key").write_bytes(bytes(range(16)))
            (root / "keyinfo.txt").write_text(f"k.key\n{folder / 'k.key'}\n", encoding="utf-8")
            extra = ["-hls_key_info_file", str(root / "keyinfo.txt")]
        hls = ["-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"]
        _ffmpeg("-i", str(make("mp4")), *hls, *extra, str(out))
    elif kind == "m4a":
        out = root / "audio.m4a"
        _ffmpeg("-i", str(make("mp4")), "-vn", "-c:a", "copy", str(out))
    elif kind == "text":
        out = root / "notes.mp4"
        out.write_text("this is a shopping list, not a video\n保湿面霜 x2\n", encoding="utf-8")
    elif kind == "empty":
        out = root / "empty.mp4"
        out.write_bytes(b"")
    elif kind == "truncated":  # moov is written last, so the first half has ftyp+mdat only
        data = make("mp4").read_bytes()
        out = root / "cut.mp4"
        out.write_bytes(data[: len(data) // 2])
    elif kind == "unknown_codec":  # Matroska codec id no decoder knows
        data = make("mkv").read_bytes()
        assert data.count(b"V_MPEG4/ISO/AVC") == 1
        out = root / "unknown.mkv"
        out.write_bytes(data.replace(b"V_MPEG4/ISO/AVC", b"V_MPEG4/ISO/XYZ"))
    elif kind == "no_sps":  # h264 whose parameter set is gone: every packet fails to decode
        patched = bytearray(make("mkv").read_bytes())
        private = patched.find(b"\x63\xa2")  # Matroska CodecPrivate (avcC)
        nal = private + 3 + 8  # element id (2) + size (1) + avcC header (6) + SPS length (2)
        assert patched[nal] == 0x67, "expected the SPS NAL header"
        patched[nal] = 0x6C  # turn the SPS into filler data
        out = root / "no_sps.mkv"
        out.write_bytes(bytes(patched))
    else:
        raise KeyError(kind)
    return out


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MakeMedia:
    """``media(kind)`` returns the path of a small test file, made on first use."""
    return lazy_media(_build, tmp_path_factory.mktemp("studio-media"))
