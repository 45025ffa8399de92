"""studio.hls: playlists may only name files inside their own folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from studio.errors import ProbeError, UnsafePlaylistError
from studio.hls import is_playlist, playlist_duration, validate_playlist
from studio.probe import probe

MakeMedia = Callable[[str], Path]


@pytest.fixture
def hls_copy(media: MakeMedia, tmp_path: Path) -> Path:
    """A private copy of the generated HLS folder (tests may edit it)."""
    folder = tmp_path / "stream"
    shutil.copytree(media("hls").parent, folder)
    return folder


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _media(folder: Path, *entries: str, head: tuple[str, ...] = ()) -> Path:
    body: list[str] = []
    for entry in entries:
        body += ["#EXTINF:1.0,", entry]
    return _write(folder / "list.m3u8", "#EXTM3U", "#EXT-X-TARGETDURATION:1", *head, *body, "#EXT-X-ENDLIST")


def test_generated_playlist_is_valid(media: MakeMedia) -> None:
    playlist = media("hls")
    segments = validate_playlist(playlist)
    assert [s.name for s in segments] == ["seg000.ts", "seg001.ts"]
    assert all(s.is_absolute() and s.is_file() for s in segments)
    assert playlist_duration(playlist) == pytest.approx(2.0, abs=0.05)


def test_master_playlist_recurses_into_variants(hls_copy: Path) -> None:
    variant = hls_copy / "720p"
    variant.mkdir()
    for seg in hls_copy.glob("*.ts"):
        seg.rename(variant / seg.name)
    (hls_copy / "index.m3u8").rename(variant / "index.m3u8")
    master = _write(
        hls_copy / "master.m3u8",
        "#EXTM3U",
        "#EXT-X-STREAM-INF:BANDWIDTH=300000,RESOLUTION=160x90",
        "720p/index.m3u8",
    )
    assert [s.relative_to(hls_copy.resolve()).as_posix() for s in validate_playlist(master)] == [
        "720p/seg000.ts",
        "720p/seg001.ts",
    ]
    assert playlist_duration(master) == pytest.approx(2.0, abs=0.05)
    info = probe(master)
    assert info.container == "hls" and info.video_codec == "h264"


@pytest.mark.parametrize(
    ("uri", "why"),
    [
        ("http://example.com/seg0.ts", "is a URL"),
        ("file:///etc/passwd", "is a URL"),
        ("data:video/mp2t;base64,AAAA", "is a URL"),
        ("/etc/passwd", "absolute path"),
        ("../outside.ts", "'..'"),
        ("sub/../seg000.ts", "'..'"),
        ("missing.ts", "does not exist"),
    ],
)
def test_unsafe_segment_uris(hls_copy: Path, uri: str, why: str) -> None:
    (hls_copy.parent / "outside.ts").write_bytes(b"\x47" * 188)
    playlist = _media(hls_copy, "seg000.ts", uri)
    with pytest.raises(UnsafePlaylistError) as err:
        validate_playlist(playlist)
    message = str(err.value)
    assert "list.m3u8 line 6" in message and why in message and uri in message
    assert err.value.code == "unsafe_playlist"


def test_symlink_out_of_the_folder(hls_copy: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.ts"
    secret.write_bytes(b"\x47" * 188)
    os.symlink(secret, hls_copy / "link.ts")
    with pytest.raises(UnsafePlaylistError, match="resolves outside the playlist's folder"):
        validate_playlist(_media(hls_copy, "link.ts"))


def test_symlink_inside_the_folder_is_fine(hls_copy: Path) -> None:
    os.symlink(hls_copy / "seg000.ts", hls_copy / "alias.ts")
    assert [s.name for s in validate_playlist(_media(hls_copy, "alias.ts"))] == ["seg000.ts"]


@pytest.mark.parametrize(
    "tag",
    [
        '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.example.com/k1"',
        '#EXT-X-KEY:METHOD=AES-128,URI="../key.bin"',
        '#EXT-X-MAP:URI="/srv/init.mp4"',
        '#EXT-X-MAP:URI="file:init.mp4"',
    ],
)
def test_unsafe_key_and_map_uris(hls_copy: Path, tag: str) -> None:
    playlist = _media(hls_copy, "seg000.ts", head=(tag,))
    with pytest.raises(UnsafePlaylistError, match=r"list\.m3u8 line 3"):
        validate_playlist(playlist)


def test_map_and_key_inside_the_folder(hls_copy: Path) -> None:
    (hls_copy / "init.mp4").write_bytes(b"\0" * 16)
    (hls_copy / "key.bin").write_bytes(b"k" * 16)
    head = ('#EXT-X-KEY:METHOD=AES-128,URI="key.bin"', '#EXT-X-MAP:URI="init.mp4"')
    segments = validate_playlist(_media(hls_copy, "seg000.ts", "seg001.ts", head=head))
    assert [s.name for s in segments] == ["init.mp4", "seg000.ts", "seg001.ts"]  # keys are not media


def test_master_media_rendition_is_checked(hls_copy: Path) -> None:
    master = _write(
        hls_copy / "master.m3u8",
        "#EXTM3U",
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="cn",URI="http://cdn.example.com/audio.m3u8"',
        '#EXT-X-STREAM-INF:BANDWIDTH=300000,AUDIO="a"',
        "index.m3u8",
    )
    with pytest.raises(UnsafePlaylistError, match=r"master\.m3u8 line 2"):
        validate_playlist(master)


def test_variant_with_unsafe_segment(hls_copy: Path) -> None:
    _write(hls_copy / "bad.m3u8", "#EXTM3U", "#EXTINF:1.0,", "/etc/passwd")
    master = _write(hls_copy / "master.m3u8", "#EXTM3U", "#EXT-X-STREAM-INF:BANDWIDTH=1", "bad.m3u8")
    with pytest.raises(UnsafePlaylistError, match=r"bad\.m3u8 line 3"):
        validate_playlist(master)


def test_playlist_that_includes_itself(hls_copy: Path) -> None:
    loop = _write(hls_copy / "loop.m3u8", "#EXTM3U", "#EXT-X-STREAM-INF:BANDWIDTH=1", "loop.m3u8")
    with pytest.raises(UnsafePlaylistError, match="includes itself"):
        validate_playlist(loop)


def test_not_a_playlist(tmp_path: Path) -> None:
    fake = _write(tmp_path / "list.m3u8", "seg0.ts", "seg1.ts")
    with pytest.raises(ProbeError) as err:
        validate_playlist(fake)
    assert err.value.code == "not_media" and "#EXTM3U" in str(err.value)


def test_probe_refuses_before_ffmpeg_opens_anything(hls_copy: Path) -> None:
    playlist = _media(hls_copy, "seg000.ts", "http://127.0.0.1:9/seg.ts")
    with pytest.raises(UnsafePlaylistError, match="is a URL"):
        probe(playlist)


def test_empty_media_playlist_is_zero_length(tmp_path: Path) -> None:
    playlist = _write(tmp_path / "empty.m3u8", "#EXTM3U", "#EXT-X-ENDLIST")
    assert validate_playlist(playlist) == []
    with pytest.raises(ProbeError) as err:
        probe(playlist)
    assert err.value.code == "zero_length"


def test_is_playlist(tmp_path: Path, media: MakeMedia) -> None:
    assert is_playlist(media("hls"))
    assert not is_playlist(media("mp4"))
    sniffed = _write(tmp_path / "upload.bin", "#EXTM3U", "#EXTINF:1,", "a.ts")
    assert is_playlist(sniffed)


@pytest.mark.parametrize(("kind", "first"), [("hls_fmp4", "init.mp4"), ("hls_aes", "index0.ts")])
def test_fmp4_and_encrypted_playlists(media: MakeMedia, kind: str, first: str) -> None:
    playlist = media(kind)
    text = playlist.read_text(encoding="utf-8")
    assert (
        ('#EXT-X-MAP:URI="init.mp4"' in text)
        if kind == "hls_fmp4"
        else ('#EXT-X-KEY:METHOD=AES-128,URI="k.key"' in text)
    )
    segments = validate_playlist(playlist)
    assert segments[0].name == first and len(segments) >= 2
    assert all(s.suffix != ".key" for s in segments)
    info = probe(playlist, thorough=True)
    assert (info.container, info.video_codec, info.has_audio) == ("hls", "h264", True)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.variable_frame_rate is False
