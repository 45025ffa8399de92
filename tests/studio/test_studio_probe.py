"""studio.probe against real files made by the pinned ffmpeg."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from PIL import Image

from studio.errors import ProbeError, UnsafePlaylistError
from studio.ffmpeg import run_ffmpeg
from studio.probe import MediaInfo, probe

MakeMedia = Callable[[str], Path]
MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"


@pytest.mark.parametrize(
    ("kind", "container"),
    [("mp4", MP4_FORMAT), ("mkv", "matroska,webm"), ("flv", "flv"), ("ts", "mpegts"), ("hls", "hls")],
)
def test_accepted_containers(media: MakeMedia, kind: str, container: str) -> None:
    info = probe(media(kind))
    assert info.container == container
    assert info.video_codec == "h264"
    assert (info.width, info.height) == (160, 90)
    assert (info.display_width, info.display_height) == (160, 90)
    assert info.rotation == 0
    assert info.fps == 25.0
    assert info.pix_fmt == "yuv420p"
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.has_audio
    assert (info.audio_codec, info.sample_rate, info.channels) == ("aac", 44100, 1)
    assert info.variable_frame_rate is None  # only the thorough probe looks at timestamps
    assert info.bit_rate and 50_000 < info.bit_rate < 2_000_000
    assert [s.kind for s in info.streams] == ["video", "audio"]


def test_webm_without_audio(media: MakeMedia) -> None:
    info = probe(media("webm"), thorough=True)
    assert info.container == "matroska,webm"
    assert info.video_codec == "vp9"
    assert info.duration == pytest.approx(1.0, abs=0.1)
    assert not info.has_audio
    assert (info.audio_codec, info.sample_rate, info.channels) == (None, None, None)
    assert info.variable_frame_rate is False


def test_to_dict_is_json_safe(media: MakeMedia) -> None:
    info = probe(media("mp4"))
    data = json.loads(json.dumps(info.to_dict()))
    assert data["has_audio"] is True
    assert data["width"] == 160
    assert data["streams"][1] == {"index": 1, "kind": "audio", "codec": "aac"}
    assert data["size_bytes"] == media("mp4").stat().st_size
    assert MediaInfo.from_dict(data) == info


def _ffmpeg_frame_size(source: Path, tmp_path: Path) -> tuple[int, int]:
    """Size of the first frame as the pinned ffmpeg outputs it (autorotate on, as in renders)."""
    png = tmp_path / "frame.png"
    run_ffmpeg(["-loglevel", "error", "-y", "-i", str(source), "-frames:v", "1", str(png)])
    with Image.open(png) as image:
        return image.size


@pytest.mark.parametrize(("ccw", "clockwise"), [(90, 270), (270, 90), (180, 180)])
def test_rotation_from_display_matrix(media: MakeMedia, tmp_path: Path, ccw: int, clockwise: int) -> None:
    info = probe(media(f"rot{ccw}"))
    assert (info.display_width, info.display_height) == _ffmpeg_frame_size(media(f"rot{ccw}"), tmp_path)
    assert info.rotation == clockwise
    assert (info.width, info.height) == (160, 90)  # as coded
    if clockwise == 180:
        assert (info.display_width, info.display_height) == (160, 90)
        assert not info.portrait
    else:
        assert (info.display_width, info.display_height) == (90, 160)
        assert info.portrait


def test_matroska_rotate_tag_is_ignored_like_ffmpeg_does(media: MakeMedia, tmp_path: Path) -> None:
    tagged = tmp_path / "tagged.mkv"
    run_ffmpeg(["-loglevel", "error", "-i", str(media("mp4")), "-c", "copy", "-metadata:s:v", "rotate=90", str(tagged)])
    with av.open(str(tagged)) as container:
        assert container.streams.video[0].metadata.get("ROTATE") == "90"
    info = probe(tagged)
    assert info.rotation == 0
    assert (info.display_width, info.display_height) == _ffmpeg_frame_size(tagged, tmp_path) == (160, 90)


def test_vfr_detected_only_when_thorough(media: MakeMedia) -> None:
    assert probe(media("vfr")).variable_frame_rate is None
    assert probe(media("vfr"), thorough=True).variable_frame_rate is True


@pytest.mark.parametrize("kind", ["mp4", "mkv", "flv", "ts", "hls"])
def test_constant_rate_is_not_vfr(media: MakeMedia, kind: str) -> None:
    assert probe(media(kind), thorough=True).variable_frame_rate is False


def test_vfr_found_in_the_middle_sample(media: MakeMedia) -> None:
    # constant for the first 300+ packets; only the sample taken from the middle shows the change
    assert probe(media("late_vfr"), thorough=True).variable_frame_rate is True


def test_sixty_fps(media: MakeMedia) -> None:
    info = probe(media("fps60"), thorough=True)
    assert info.fps == 60.0
    assert info.variable_frame_rate is False


def test_duration_from_packets_when_header_has_none(media: MakeMedia) -> None:
    with av.open(str(media("live_mkv"))) as container:  # the precondition: no duration anywhere
        assert container.duration is None and container.streams.video[0].duration is None
    info = probe(media("live_mkv"))
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.bit_rate and info.bit_rate > 0


def test_hls_size_is_its_segments(media: MakeMedia) -> None:
    playlist = media("hls")
    info = probe(playlist)
    segments = sorted(playlist.parent.glob("*.ts"))
    assert len(segments) == 2
    assert info.size_bytes == sum(s.stat().st_size for s in segments)


def test_text_file_renamed_mp4_is_not_media(media: MakeMedia) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media("text"))
    assert err.value.code == "not_media"
    assert "notes.mp4 is not a media file" in str(err.value)


def test_missing_file_is_not_media(tmp_path: Path) -> None:
    with pytest.raises(ProbeError) as err:
        probe(tmp_path / "nope.mp4")
    assert err.value.code == "not_media"
    assert "does not exist" in str(err.value)


def test_audio_only_has_no_video(media: MakeMedia) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media("m4a"))
    assert err.value.code == "no_video"
    assert "no video stream" in str(err.value) and "audio aac" in str(err.value)


def test_empty_file_is_zero_length(media: MakeMedia) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media("empty"))
    assert err.value.code == "zero_length"
    assert "0 bytes" in str(err.value)


def test_mp4_cut_before_moov(media: MakeMedia) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media("truncated"))
    assert err.value.code == "truncated_mp4"
    message = str(err.value)
    assert "moov" in message and "untrunc" in message and "re-export" in message
    assert "FLV or MPEG-TS" in message


@pytest.mark.parametrize("kind", ["flv", "ts"])
def test_cut_flv_and_ts_stay_readable(media: MakeMedia, tmp_path: Path, kind: str) -> None:
    data = media(kind).read_bytes()
    cut = tmp_path / f"cut.{kind}"
    cut.write_bytes(data[: len(data) // 2])
    info = probe(cut, thorough=True)
    assert info.video_codec == "h264"
    assert 0.3 < info.duration < 2.1


def test_unknown_codec_is_undecodable(media: MakeMedia) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media("unknown_codec"))
    assert err.value.code == "undecodable"
    assert "no decoder" in str(err.value)


def test_first_frame_that_fails_to_decode(media: MakeMedia) -> None:
    with pytest.raises(ProbeError) as err:
        probe(media("no_sps"))
    assert err.value.code == "undecodable"
    assert "no video frame could be decoded" in str(err.value)


def test_other_containers_are_refused(tmp_path: Path) -> None:
    still = tmp_path / "cover.png"
    run_ffmpeg(["-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1", str(still)])
    with pytest.raises(ProbeError) as err:
        probe(still)
    assert err.value.code == "unsupported_container"
    assert "MP4/MOV" in str(err.value)


def test_playlist_in_disguise_is_validated(tmp_path: Path) -> None:
    fake = tmp_path / "video.mp4"
    fake.write_text("#EXTM3U\n#EXTINF:2.0,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n", encoding="utf-8")
    with pytest.raises(UnsafePlaylistError, match="line 3"):
        probe(fake)


def test_fast_probe_of_a_huge_file_reads_little(media: MakeMedia, tmp_path: Path) -> None:
    """A 4 GB (sparse) MPEG-TS: the fast probe reads its head and tail only."""
    clip = media("ts").read_bytes()
    huge = tmp_path / "huge.ts"
    with huge.open("wb") as fh:
        fh.write(clip)
        fh.truncate(4 * 1024**3)  # a hole that reads as zeros
        fh.seek(0, 2)
        fh.write(clip)
    start = time.perf_counter()
    info: MediaInfo = probe(huge)
    elapsed = time.perf_counter() - start
    assert info.size_bytes > 4 * 1024**3
    assert info.video_codec == "h264"
    assert elapsed < 1.0, f"fast probe took {elapsed:.2f} s"
