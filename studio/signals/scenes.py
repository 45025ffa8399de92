"""Shot/scene changes: per-tick cut strength from small grey frames sampled at the tick rate.

The pinned ffmpeg decodes the video, resamples it to ``hz`` frames per second (each tick
gets the frame at its start), shrinks it to ``width`` px grey and pipes raw bytes out. Per
tick, the cut strength blends the grey-histogram distance to the previous frame with the mean
absolute pixel difference, and lies in [0, 1]. It costs a full video decode, so callers make
it optional; ``keyframes_only`` decodes only keyframes (much faster, GOP-coarse timing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.errors import MediaError
from studio.signals.audio import stream_ffmpeg_raw
from studio.signals.cache import cached_arrays
from studio.signals.timebase import DEFAULT_HZ

__all__ = ["frame_strengths", "scene_changes", "scene_pipe_args"]

CACHE_VERSION = "scenes-1"
DEFAULT_WIDTH = 64
HEIGHT = 36  # fixed, so the frame size is known without probing; aspect ratio does not matter here
HIST_BINS = 16
PIXEL_DIFF_FULL = 0.25  # a mean absolute difference of this (0..1 scale) counts as a full cut
CHUNK_FRAMES = 256


def scene_pipe_args(path: Path, hz: float, width: int, *, keyframes_only: bool = False) -> list[str]:
    """ffmpeg arguments writing ``hz`` grey ``width``x36 frames per second of ``path`` to stdout."""
    skip = ["-skip_frame", "nokey"] if keyframes_only else []
    return [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-threads",
        "2",
        *skip,
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        f"fps={hz:g}:round=down,scale={width}:{HEIGHT}:flags=area,format=gray",
        "-f",
        "rawvideo",
        "pipe:1",
    ]


def frame_strengths(frames: np.ndarray, previous: np.ndarray | None) -> np.ndarray:
    """Cut strength in [0,1] of each (n, h, w) uint8 frame against the one before it.

    The first frame is compared with ``previous`` (the last frame of the prior chunk), or
    scores 0 when there is none.
    """
    n = frames.shape[0]
    flat = frames.reshape(n, -1)
    before = np.empty_like(flat)
    before[1:] = flat[:-1]
    before[0] = previous.reshape(-1) if previous is not None else flat[0]
    pixel = np.abs(flat.astype(np.int16) - before.astype(np.int16)).mean(axis=1) / 255.0
    bins = (flat >> 4).astype(np.int64) + np.arange(n)[:, None] * HIST_BINS
    hist = np.bincount(bins.ravel(), minlength=n * HIST_BINS).reshape(n, HIST_BINS) / flat.shape[1]
    prev_hist = np.empty_like(hist)
    prev_hist[1:] = hist[:-1]
    if previous is not None:
        prev_hist[0] = np.bincount(previous.reshape(-1) >> 4, minlength=HIST_BINS) / flat.shape[1]
    else:
        prev_hist[0] = hist[0]
    hist_dist = 0.5 * np.abs(hist - prev_hist).sum(axis=1)
    return np.clip(0.5 * hist_dist + 0.5 * np.minimum(1.0, pixel / PIXEL_DIFF_FULL), 0.0, 1.0).astype(np.float32)


def scene_changes(
    path: Path,
    *,
    hz: float = DEFAULT_HZ,
    cache_dir: Path | None = None,
    width: int = DEFAULT_WIDTH,
    keyframes_only: bool = False,
) -> np.ndarray:
    """Per-tick cut strength in [0,1] (float32) for the first video stream of ``path``."""
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"recording not found: {path}", code="not_found")
    key = {
        "kind": "scenes",
        "path": path,
        "hz": hz,
        "width": width,
        "keyframes_only": keyframes_only,
        "version": CACHE_VERSION,
    }

    def compute() -> dict[str, np.ndarray]:
        size = width * HEIGHT
        parts: list[np.ndarray] = []
        previous: np.ndarray | None = None
        for raw in stream_ffmpeg_raw(
            scene_pipe_args(path, hz, width, keyframes_only=keyframes_only),
            size * CHUNK_FRAMES,
            missing_code="no_video",
        ):
            count = len(raw) // size
            if not count:
                continue
            frames = np.frombuffer(raw[: count * size], dtype=np.uint8).reshape(count, HEIGHT, width)
            parts.append(frame_strengths(frames, previous))
            previous = frames[-1].copy()
        if not parts:
            raise MediaError(f"{path} has no decodable video frames", code="no_video")
        return {"strength": np.concatenate(parts)}

    return cached_arrays(key, cache_dir, compute)["strength"].astype(np.float32, copy=False)
