"""Spliced end cards: a leader's own IDR frame followed by a shared template's all-skip frames.

An end card is a still picture, so after its first (IDR) frame x264 codes every frame as "nothing
changed" (P/B skip macroblocks, no residual). Those frames copy their reference and so do not depend
on the picture: the ones from a template card (a neutral still, encoded once with the very same
flags) show the leader's picture when they follow the leader's IDR. Per leader that leaves a one-frame
encode and a remux (no decode) instead of a full card encode.

Nothing here is trusted blindly: the template must decode to one still picture, the leader's IDR
must carry the template's SPS/PPS, and every spliced card is decoded and must show its first frame
throughout (:func:`still_mismatch`). The caller falls back to a full encode when any check fails.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np
from PIL import Image

from studio.render.errors import RenderError

__all__ = ["CardTemplate", "SpliceRejected", "TemplateCache", "neutral_card", "splice_card", "still_mismatch"]

#: The template card's picture: flat mid grey (any still works; a flat one is coded exactly by its IDR).
NEUTRAL_RGB = (128, 128, 128)


class SpliceRejected(RenderError):
    """A spliced end card cannot be used (parameter sets differ, template not still...); encode in full."""

    code = "splice_rejected"


@dataclass(frozen=True)
class CardTemplate:
    """A verified template card MP4 (its bytes) and the parameter sets it was encoded with."""

    data: bytes
    video_extradata: bytes
    audio_extradata: bytes
    fast: bool  # encoded with CARD_SPEED_PARAMS


TemplateEntry = CardTemplate | str  # a template, or why none can be used with these flags


class TemplateCache:
    """Thread-safe memo of template cards by key; each key is built once even when threads ask together."""

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, TemplateEntry] = OrderedDict()
        self._building: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], TemplateEntry]) -> TemplateEntry:
        """The entry for ``key``, calling ``build`` (outside the cache lock) if there is none yet.

        Exceptions from ``build`` (timeouts, ffmpeg failures) are raised and not cached.
        """
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            key_lock = self._building.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._entries:
                    return self._entries[key]
            entry = build()
            with self._lock:
                self._entries[key] = entry
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
                self._building.pop(key, None)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def neutral_card(size: tuple[int, int]) -> Image.Image:
    """The template's picture: ``size``, flat :data:`NEUTRAL_RGB`."""
    return Image.new("RGB", size, NEUTRAL_RGB)


def _planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """The frame's pixel planes without line padding (views, no copy)."""
    out = []
    for plane in frame.planes:
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, plane.line_size)
        out.append(rows[:, : plane.width])
    return out


def still_mismatch(path: Path) -> str | None:
    """Decode ``path``'s video: None if it decodes and its last frame equals the first exactly, else what differs.

    Every frame is decoded (a splice that breaks decoding shows here); skip frames that carry content
    drift from the first picture, so comparing the last with the first finds them at 1/n of the cost.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = 1  # variants run in parallel already
            first: list[np.ndarray] | None = None
            last: av.VideoFrame | None = None
            count = 0
            for frame in container.decode(stream):
                if first is None:
                    first = [plane.copy() for plane in _planes(frame)]
                last = frame
                count += 1
    except av.error.FFmpegError as exc:
        return f"card does not decode: {exc}"
    if first is None or last is None:
        return "card has no video frames"
    if not all(np.array_equal(a, b) for a, b in zip(first, _planes(last), strict=True)):
        return f"frame {count - 1} differs from frame 0 (the skip frames are not content-free)"
    return None


def splice_card(idr_card: Path, template: Path, out: Path, *, timescale: int) -> None:
    """Write ``out``: ``template`` with each IDR packet replaced by ``idr_card``'s IDR (remux only).

    Every other packet (video skip frames, silent audio) keeps the template's bytes, timestamps and
    flags. :class:`SpliceRejected` if the IDR is not a keyframe or its SPS/PPS differ from the template's.
    """
    with av.open(str(idr_card)) as source:
        video = source.streams.video[0]
        idr_sets = bytes(video.codec_context.extradata or b"")
        packets = [p for p in source.demux(video) if p.size]
        if not packets or not packets[0].is_keyframe:
            raise SpliceRejected(f"{idr_card.name}: no IDR packet")
        idr_payload = bytes(packets[0])
    with av.open(str(template)) as tpl:
        t_video, t_audio = tpl.streams.video[0], tpl.streams.audio[0]
        if bytes(t_video.codec_context.extradata or b"") != idr_sets:
            raise SpliceRejected("the leader's IDR has other SPS/PPS than the template")
        options = {"movflags": "+faststart", "video_track_timescale": str(timescale)}
        with av.open(str(out), "w", format="mp4", options=options) as muxer:
            o_video = muxer.add_stream_from_template(t_video)
            o_audio = muxer.add_stream_from_template(t_audio)
            for packet in tpl.demux(t_video, t_audio):
                if not packet.size:
                    continue  # demuxer flush packets
                if packet.stream is t_video:
                    if packet.is_keyframe:  # frame 0 and every GOP start (a card may outlast a GOP)
                        replaced = av.Packet(idr_payload)
                        replaced.pts, replaced.dts, replaced.duration = packet.pts, packet.dts, packet.duration
                        replaced.time_base = packet.time_base
                        replaced.is_keyframe = True
                        packet = replaced
                    packet.stream = o_video
                else:
                    packet.stream = o_audio
                muxer.mux(packet)
