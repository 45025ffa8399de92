"""Probe recordings with PyAV: what is in the file, and can we decode it?

The fast path reads stream headers and decodes one video frame. ``thorough=True`` also
samples packet timestamps to detect a variable frame rate. Unusable files raise
:class:`~studio.errors.ProbeError` with a stable ``code`` and a message a person can act on.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import av.error
from av.container import InputContainer
from av.packet import Packet
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream

from studio.errors import ProbeError
from studio.hls import is_playlist, playlist_duration, validate_playlist
from studio.mediainfo import MediaInfo, StreamInfo

__all__ = ["SUPPORTED_FORMATS", "MediaInfo", "StreamInfo", "probe"]

#: libavformat format names we accept, with the name shown to people.
SUPPORTED_FORMATS: dict[str, str] = {
    "mov,mp4,m4a,3gp,3g2,mj2": "MP4/MOV",
    "matroska,webm": "MKV/WebM",
    "flv": "FLV",
    "mpegts": "MPEG-TS",
    "hls": "HLS",
}
_PLAIN_OPTIONS = {"protocol_whitelist": "file"}
_HLS_EXTENSIONS = "ts,m4s,mp4,m4v,m4a,aac,mpegts,fmp4,cmfv,cmfa,mov,m3u8,key,bin"  # key/bin: AES-128 keys
_HLS_OPTIONS = {
    "protocol_whitelist": "file,crypto",
    "allowed_extensions": _HLS_EXTENSIONS,
    "allowed_segment_extensions": _HLS_EXTENSIONS,
}
FIRST_FRAME_PACKETS = 600  # give up on decoding after this many video packets (a stream may start mid-GOP)
VFR_HEAD_PACKETS = 300
VFR_MIDDLE_PACKETS = 120
VFR_TOLERANCE = 0.10  # allowed spread (p95 - p5) of frame durations, as a share of the median
_MP4_TOP_BOXES = {b"ftyp", b"styp", b"mdat", b"moov", b"free", b"skip", b"wide", b"pdin", b"moof", b"uuid"}
_MAX_BOXES = 200_000


def probe(path: Path, *, thorough: bool = False) -> MediaInfo:
    """Probe ``path`` (MP4, MOV, MKV/WebM, FLV, MPEG-TS or a local .m3u8) and return :class:`MediaInfo`.

    Raises :class:`ProbeError` with code ``not_media``, ``unsupported_container``,
    ``no_video``, ``zero_length``, ``truncated_mp4`` or ``undecodable`` (or
    :class:`~studio.errors.UnsafePlaylistError` for a playlist that reaches outside its folder).
    """
    path = Path(path).absolute()
    if not path.is_file():
        raise ProbeError(f"{path} does not exist or is not a file", code="not_media")
    size = path.stat().st_size
    if size == 0:
        raise ProbeError(
            f"{path.name} is empty (0 bytes): nothing was recorded or the upload failed", code="zero_length"
        )

    hls_duration: float | None = None
    hls = is_playlist(path)
    if hls:
        segments = validate_playlist(path)
        if not segments:
            raise ProbeError(f"{path.name} is an HLS playlist that lists no segments", code="zero_length")
        size = sum(s.stat().st_size for s in segments)
        hls_duration = playlist_duration(path)
    else:
        _check_mp4_boxes(path)

    container = _open(path, hls=hls)
    try:
        info = _inspect(container, path, size, thorough=thorough, hls_duration=hls_duration)
    finally:
        container.close()
    if info.duration <= 0:
        info = _with_duration(info, _duration_from_packets(path, hls=hls))
    if info.duration <= 0:
        raise ProbeError(f"{path.name} has zero duration: it contains no playable video", code="zero_length")
    return info


def _open(path: Path, *, hls: bool) -> InputContainer:
    options = dict(_HLS_OPTIONS if hls else _PLAIN_OPTIONS)
    try:
        return av.open(str(path), mode="r", options=options, metadata_errors="replace")
    except (av.error.FFmpegError, OSError) as exc:
        if hls:
            raise ProbeError(
                f"HLS playlist {path.name} names only safe local files, but FFmpeg cannot read them "
                f"({_reason(exc)}); check that the segments are complete MPEG-TS/fMP4 files",
                code="not_media",
            ) from exc
        raise ProbeError(
            f"{path.name} is not a media file that FFmpeg can read ({_reason(exc)}); "
            "expected a video recording (MP4, MOV, MKV, FLV, MPEG-TS or HLS)",
            code="not_media",
        ) from exc


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _inspect(
    container: InputContainer, path: Path, size: int, *, thorough: bool, hls_duration: float | None
) -> MediaInfo:
    fmt = container.format.name
    streams = tuple(
        StreamInfo(index=s.index, kind=s.type, codec=s.codec_context.name if s.codec_context else None)
        for s in container.streams
    )
    videos = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    if not videos:
        found = ", ".join(f"{s.kind} {s.codec or '?'}" for s in streams) or "no streams"
        raise ProbeError(f"{path.name} has no video stream (it contains: {found})", code="no_video")
    if fmt not in SUPPORTED_FORMATS:
        raise ProbeError(
            f"{path.name} is a {container.format.long_name} file; supported recordings are "
            + ", ".join(dict.fromkeys(SUPPORTED_FORMATS.values())),
            code="unsupported_container",
        )
    video = videos[0]
    audio = container.streams.audio[0] if container.streams.audio else None
    cc = video.codec_context
    if cc is None:
        raise ProbeError(
            f"{path.name}: the video stream's codec is unknown to this FFmpeg build (no decoder); "
            "re-encode it to H.264 first",
            code="undecodable",
        )

    frame, pts = _first_frame(container, video, path, want_packets=VFR_HEAD_PACKETS if thorough else 0)
    duration = _header_duration(container, video) or hls_duration or 0.0
    vfr: bool | None = None
    if thorough:
        windows = [pts, *_middle_window(container, video, duration)]
        vfr = _is_vfr(windows, video.time_base)

    width, height = cc.width or frame.width, cc.height or frame.height
    rotation = _rotation(frame, video.metadata)
    swap = rotation in (90, 270)
    rate = video.average_rate or video.guessed_rate or video.base_rate
    bit_rate = container.bit_rate if fmt != "hls" else None  # hls reports the playlist's own rate
    if not bit_rate and duration > 0:
        bit_rate = int(size * 8 / duration)
    return MediaInfo(
        path=str(path),
        container=fmt,
        duration=round(duration, 6),
        size_bytes=size,
        bit_rate=bit_rate or None,
        video_codec=cc.name,
        width=width,
        height=height,
        rotation=rotation,
        display_width=height if swap else width,
        display_height=width if swap else height,
        fps=round(float(rate), 3) if rate else None,
        variable_frame_rate=vfr,
        pix_fmt=cc.pix_fmt or frame.format.name,
        audio_codec=audio.codec_context.name if audio is not None and audio.codec_context else None,
        sample_rate=audio.codec_context.sample_rate if audio is not None and audio.codec_context else None,
        channels=audio.codec_context.layout.nb_channels if audio is not None and audio.codec_context else None,
        streams=streams,
    )


def _first_frame(
    container: InputContainer, video: VideoStream, path: Path, *, want_packets: int
) -> tuple[VideoFrame, list[int]]:
    """Decode the first video frame; also collect the pts of the first ``want_packets`` packets."""
    frame: VideoFrame | None = None
    pts: list[int] = []
    packets = 0
    last_error: BaseException | None = None
    failures: list[BaseException] = []
    for packet in _packets(container, video, failures):
        if packet.pts is not None:
            pts.append(packet.pts)
        if packet.size:
            packets += 1
        if frame is None:
            try:
                frames = packet.decode()
            except av.error.FFmpegError as exc:
                last_error = exc  # e.g. slices before the first SPS/keyframe: keep going
                frames = []
            if frames:
                frame = frames[0]
        if frame is not None and len(pts) >= want_packets:
            break
        if frame is None and packets >= FIRST_FRAME_PACKETS:
            break
    if frame is not None:
        return frame, pts
    if packets == 0 and not failures:
        raise ProbeError(f"{path.name} has a video stream but no video frames", code="zero_length")
    last_error = last_error or (failures[-1] if failures else None)
    why = f": {_reason(last_error)}" if last_error else ""
    raise ProbeError(
        f"{path.name}: no video frame could be decoded from the first {packets} packets "
        f"({video.codec_context.name}){why}; the video data is damaged or uses an unsupported profile",
        code="undecodable",
    )


def _packets(container: InputContainer, stream: VideoStream, failures: list[BaseException]) -> Iterator[Packet]:
    """Demux ``stream`` until the end or until the data is damaged beyond reading (noted in ``failures``)."""
    packets = container.demux(stream)
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            return
        except (av.error.FFmpegError, IndexError) as exc:  # PyAV raises IndexError for a stream that appears late
            failures.append(exc)
            return
        yield packet


def _header_duration(container: InputContainer, video: VideoStream) -> float | None:
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    return None


def _middle_window(container: InputContainer, video: VideoStream, duration: float) -> list[list[int]]:
    """pts of up to VFR_MIDDLE_PACKETS packets from the middle of the file, if it can seek there."""
    if duration < 20 or not video.time_base:
        return []
    try:
        container.seek(int(duration / 2 / video.time_base), stream=video)
        pts: list[int] = []
        for packet in _packets(container, video, []):
            if packet.pts is not None:
                pts.append(packet.pts)
            if len(pts) >= VFR_MIDDLE_PACKETS:
                break
    except av.error.FFmpegError:
        return []  # not seekable: the head sample has to do
    return [pts]


def _is_vfr(windows: list[list[int]], time_base: Fraction | None) -> bool | None:
    """VFR when frame durations spread (p95 - p5) beyond VFR_TOLERANCE of the median, plus rounding."""
    deltas: list[int] = []
    for window in windows:
        ordered = sorted(set(window))
        deltas.extend(b - a for a, b in pairwise(ordered))
    deltas = sorted(d for d in deltas if d > 0)
    if len(deltas) < 8 or time_base is None:
        return None
    median = deltas[len(deltas) // 2]
    low, high = deltas[int(len(deltas) * 0.05)], deltas[min(len(deltas) - 1, int(len(deltas) * 0.95))]
    return (high - low) > VFR_TOLERANCE * median + 2  # two ticks of timestamp rounding


def _rotation(frame: VideoFrame, metadata: dict[str, str]) -> int:
    """Clockwise display rotation, normalised to 0/90/180/270.

    The display matrix gives a counter-clockwise angle; the legacy ``rotate`` tag a clockwise one.
    """
    ccw = frame.rotation
    if ccw:
        clockwise = -float(ccw)
    else:
        try:
            clockwise = float(metadata.get("rotate", "0"))
        except ValueError:
            clockwise = 0.0
    return round(clockwise / 90.0) % 4 * 90


def _with_duration(info: MediaInfo, duration: float) -> MediaInfo:
    bit_rate = info.bit_rate or (int(info.size_bytes * 8 / duration) if duration > 0 else None)
    return replace(info, duration=round(duration, 6), bit_rate=bit_rate)


def _duration_from_packets(path: Path, *, hls: bool) -> float:
    """Video duration from packet timestamps, for containers whose header has none (live FLV/MKV)."""
    container = _open(path, hls=hls)
    try:
        videos = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
        time_base = videos[0].time_base if videos else None
        if not videos or time_base is None:
            return 0.0
        video = videos[0]
        first: int | None = None
        end: int | None = None
        for packet in _packets(container, video, []):
            if packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            stop = packet.pts + (packet.duration or 0)
            end = stop if end is None else max(end, stop)
        if first is None or end is None:
            return 0.0
        return float((end - first) * time_base)
    except av.error.FFmpegError:
        return 0.0
    finally:
        container.close()


def _check_mp4_boxes(path: Path) -> None:
    """Raise ``truncated_mp4`` for an ISO-BMFF file with media data but no moov atom."""
    seen: set[bytes] = set()
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8 or head[4:8] not in _MP4_TOP_BOXES:
            return
        offset = 0
        for _ in range(_MAX_BOXES):
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                break
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if not box_type.isascii() or not box_type.strip():
                return  # not boxes after all: let the demuxer decide
            seen.add(box_type)
            if box_type == b"moov":
                return
            if box_size == 1 and len(header) == 16:
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                break  # runs to the end of the file
            if box_size < 8:
                return
            offset += box_size
            if offset >= size:
                break
    if seen & {b"ftyp", b"mdat"} and b"moov" not in seen:
        raise ProbeError(
            f"{path.name} is an MP4/MOV whose moov atom (the index) is missing: the recording was cut off "
            "before it was finalised (app crash, power loss or an interrupted upload). It cannot be read as is. "
            "Recover it with `untrunc` and a good file recorded on the same device and settings "
            "(untrunc good.mp4 broken.mp4), or re-export it from the recording app. "
            "Tip: record to FLV or MPEG-TS, which stay readable when cut off.",
            code="truncated_mp4",
        )
