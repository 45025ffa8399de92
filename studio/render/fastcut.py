"""Fast mode: a keyframe-aligned stream copy in source codecs (no decoding), remuxed with PyAV.

Packets are chosen by index rather than by ffmpeg's ``-ss``/``-t`` so the excerpt is exact for every
container and for B-frame streams: video from the keyframe at/before ``start`` through the last frame
that starts before ``end`` (plus any reference frames those need), audio from that keyframe to the
video's end. Timestamps are shifted so the keyframe sits at pts 0; the MP4 is written ``+faststart``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import av.error
from av.container import InputContainer
from av.packet import Packet
from av.stream import Disposition, Stream

from studio.errors import FFmpegCancelled, FFmpegTimeout
from studio.ffmpeg import Progress, ProgressCallback
from studio.render.errors import RenderFailed

__all__ = ["CopyWindow", "copy_window", "stream_copy"]

SEEK_LEAD = 3.0  # seconds to seek before the start, so audio interleaved ahead of the keyframe is read
REORDER_MARGIN = 1.0  # seconds of packets read past the end (B-frame reordering)
_PROGRESS_EVERY = 200  # packets between progress reports / cancel checks


@dataclass(frozen=True)
class CopyWindow:
    """What a stream copy of ``[start, end)`` really covers, in source seconds (from the file's start).

    ``start`` is the keyframe, ``end`` the end of the last presented video frame.
    """

    start: float
    end: float
    video_packets: int

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class _VideoPacket:
    pts: int
    duration: int
    keyframe: bool


@dataclass(frozen=True)
class _Selection:
    window: CopyWindow
    seek_to: float | None  # absolute seconds to seek before demuxing (None: read from the start)
    keyframe_pts: int
    count: int  # video packets to copy from the keyframe on, in demux order
    dts: list[int]  # rewritten decode timestamps of those packets (monotonic, <= pts)
    end_abs: float  # absolute end of the video: audio stops here


def _open(source: Path) -> InputContainer:
    try:
        return av.open(str(source), metadata_errors="replace")
    except (av.error.FFmpegError, OSError) as exc:
        raise RenderFailed(f"cannot open {source.name} for a stream copy: {exc}") from exc


def _video_stream(container: InputContainer, source: Path) -> Stream:
    videos = [s for s in container.streams.video if not s.disposition & Disposition.attached_pic]
    if not videos or videos[0].time_base is None:
        raise RenderFailed(f"{source.name} has no usable video stream")
    return videos[0]


def _demux(container: InputContainer, streams: list[Stream], seek_to: float | None, video: Stream) -> Iterator[Packet]:
    if seek_to is not None and video.time_base is not None:
        container.seek(int(seek_to / video.time_base), stream=video, backward=True, any_frame=False)
    yield from container.demux(streams)


def _scan(source: Path, start_abs: float, end_abs: float, seek_to: float | None) -> list[_VideoPacket]:
    """Video packets in demux order from the seek point to a little past the end."""
    packets: list[_VideoPacket] = []
    with _open(source) as container:
        video = _video_stream(container, source)
        tb = video.time_base
        assert tb is not None
        stop = int((end_abs + REORDER_MARGIN) / tb)
        for packet in _demux(container, [video], seek_to, video):
            if packet.pts is None:
                continue
            if packet.pts > stop and (packet.dts is None or packet.dts > stop):
                break
            packets.append(_VideoPacket(pts=packet.pts, duration=packet.duration or 0, keyframe=packet.is_keyframe))
    return packets


def _select(source: Path, start: float, end: float) -> _Selection:
    with _open(source) as container:
        video = _video_stream(container, source)
        tb = video.time_base
        assert tb is not None
        origin = (container.start_time or 0) / av.time_base
    start_abs, end_abs = start + origin, end + origin
    seek_to: float | None = start_abs - SEEK_LEAD if start - SEEK_LEAD > 0 else None
    try:
        packets = _scan(source, start_abs, end_abs, seek_to)
    except av.error.FFmpegError:
        packets = []
    first_key = next((p for p in packets if p.keyframe), None)
    if seek_to is not None and (first_key is None or first_key.pts * tb > start_abs + 1e-6):
        seek_to = None  # the seek landed late (or failed): read from the start of the file
        packets = _scan(source, start_abs, end_abs, None)
    start_tick, end_tick = start_abs / tb, end_abs / tb
    keys = [i for i, p in enumerate(packets) if p.keyframe]
    if not keys:
        raise RenderFailed(f"{source.name} has no video keyframe at or after {start:.3f} s")
    before = [i for i in keys if packets[i].pts <= start_tick + 1e-6]
    k_index = before[-1] if before else keys[0]
    key_pts = packets[k_index].pts
    last = max((i for i in range(k_index, len(packets)) if packets[i].pts < end_tick), default=k_index)
    chosen = packets[k_index : last + 1]
    kept = [p for p in chosen if p.pts >= key_pts]  # leading open-GOP frames before the keyframe are dropped
    ordered = sorted(p.pts for p in kept)
    typical = _typical_duration(ordered)
    ends = []
    for i, pts in enumerate(ordered):
        dur = next((p.duration for p in kept if p.pts == pts), 0) or (
            ordered[i + 1] - pts if i + 1 < len(ordered) else typical
        )
        ends.append(pts + dur)
    delay = max((s - p.pts for s, p in zip(ordered, kept, strict=True)), default=0)
    dts = [s - delay for s in ordered]
    window_end = max(ends) * tb
    return _Selection(
        window=CopyWindow(start=float(key_pts * tb - origin), end=float(window_end - origin), video_packets=len(kept)),
        seek_to=seek_to,
        keyframe_pts=key_pts,
        count=len(chosen),
        dts=dts,
        end_abs=float(window_end),
    )


def _typical_duration(ordered: list[int]) -> int:
    gaps = sorted(b - a for a, b in pairwise(ordered) if b > a)
    return gaps[len(gaps) // 2] if gaps else 1


def copy_window(source: Path, start: float, end: float) -> CopyWindow:
    """The span a stream copy of ``[start, end)`` covers, without writing anything (demux only)."""
    try:
        return _select(Path(source), start, end).window
    except (av.error.FFmpegError, IndexError) as exc:
        raise RenderFailed(f"cannot read the packets of {Path(source).name}: {exc}") from exc


def stream_copy(
    source: Path,
    output: Path,
    *,
    start: float,
    end: float,
    on_progress: ProgressCallback | None = None,
    timeout: float | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> CopyWindow:
    """Copy ``[start, end)`` of ``source`` (moved back to a keyframe) into the MP4 ``output``.

    Raises :class:`RenderFailed` when the source cannot be read or its codecs cannot go into MP4,
    :class:`~studio.errors.FFmpegTimeout` / :class:`~studio.errors.FFmpegCancelled` like run_ffmpeg.
    """
    source, output = Path(source), Path(output)
    deadline = time.monotonic() + timeout if timeout else None
    try:
        selection = _select(source, start, end)
        _remux(source, output, selection, on_progress, deadline, timeout, should_cancel)
    except (av.error.FFmpegError, ValueError) as exc:
        raise RenderFailed(f"stream copy of {source.name} failed: {exc}") from exc
    return selection.window


def _remux(
    source: Path,
    output: Path,
    sel: _Selection,
    on_progress: ProgressCallback | None,
    deadline: float | None,
    timeout: float | None,
    should_cancel: Callable[[], bool] | None,
) -> None:
    with _open(source) as container:
        video = _video_stream(container, source)
        audio = container.streams.audio[0] if container.streams.audio else None
        v_tb = video.time_base
        assert v_tb is not None
        key_seconds = Fraction(sel.keyframe_pts) * v_tb
        with av.open(str(output), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            out_video = out.add_stream_from_template(video)
            out_audio = out.add_stream_from_template(audio) if audio is not None else None
            streams = [video] + ([audio] if audio is not None else [])
            copied, written, started, seen = 0, 0, False, 0
            for packet in _demux(container, streams, sel.seek_to, video):
                seen += 1
                if seen % _PROGRESS_EVERY == 0:
                    _check(deadline, timeout, should_cancel)
                if packet.pts is None or packet.time_base is None:
                    continue
                if packet.stream.index == video.index:
                    if not started:
                        started = packet.pts == sel.keyframe_pts and packet.is_keyframe
                    if not started or copied >= sel.count:
                        if copied >= sel.count and out_audio is None:
                            break
                        continue
                    if packet.pts < sel.keyframe_pts:
                        copied += 1  # an open-GOP leading frame: counted in demux order, not copied
                        continue
                    packet.dts = sel.dts[written]
                    copied += 1
                    written += 1
                    _rebase(packet, key_seconds, out_video)
                    out.mux(packet)
                    if on_progress is not None and copied % _PROGRESS_EVERY == 0:
                        done = float(packet.pts * packet.time_base)
                        on_progress(Progress(out_seconds=done, fraction=None, speed=None, done=False))
                elif audio is not None and out_audio is not None and packet.stream.index == audio.index:
                    seconds = packet.pts * packet.time_base
                    if seconds >= sel.end_abs and copied >= sel.count:
                        break
                    if key_seconds <= seconds < sel.end_abs:
                        packet.dts = packet.pts
                        _rebase(packet, key_seconds, out_audio)
                        out.mux(packet)
    if on_progress is not None:
        on_progress(Progress(out_seconds=sel.window.duration, fraction=1.0, speed=None, done=True))


def _rebase(packet: Packet, offset_seconds: Fraction, stream: Stream) -> None:
    tb = packet.time_base
    assert tb is not None and packet.pts is not None
    shift = round(offset_seconds / tb)
    packet.pts -= shift
    if packet.dts is not None:
        packet.dts -= shift
    packet.stream = stream


def _check(deadline: float | None, timeout: float | None, should_cancel: Callable[[], bool] | None) -> None:
    if should_cancel is not None and should_cancel():
        raise FFmpegCancelled("stream copy was cancelled", args=[], returncode=None, stderr="")
    if deadline is not None and time.monotonic() > deadline:
        raise FFmpegTimeout(f"stream copy ran past its {timeout:.0f} s limit", args=[], returncode=None, stderr="")
