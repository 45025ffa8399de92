"""Subject-aware crop for reframing landscape sources: follow the largest face, else the motion centre.

One ffmpeg run decodes the clip window small and slow (grey, :data:`ANALYSIS_WIDTH` px wide,
:data:`ANALYSIS_FPS` frames per second). Each analysis frame yields a subject centre: the largest
Haar-cascade face, else (for a while after a face was lost) the last face, else the weighted centroid
of the pixels that changed since the previous frame, else nothing (the previous centre is held; the
frame centre when nothing was ever found). The centres are interpolated to the output frame rate
and smoothed into a crop window path: a dead zone ignores small moves, a critically damped spring
eases in and out, and a hard step limit caps the speed.

**Pixel space of the speed limit.** The crop window moves at most ``max_step`` (8) px per frame at
30 fps, i.e. ``max_step * 30`` px/s and never more than ``max_step`` px in one frame at any rate. The
limit holds in *source* pixels (where the crop window lives) and, when ``output_width`` is given,
also in *output* pixels after the crop is scaled to the output: per frame the window then moves at
most ``max_step * min(1, crop_w / output_width)`` source px (rounded down to whole pixels, at least 1).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from studio.errors import MediaError, ToolchainError
from studio.ffmpeg import stream_ffmpeg

__all__ = [
    "ANALYSIS_FPS",
    "ANALYSIS_WIDTH",
    "CropTrack",
    "SubjectDetector",
    "SubjectSamples",
    "analysis_args",
    "detect_subjects",
    "plan_subject_crop",
    "smooth_path",
    "step_limit",
]

ANALYSIS_WIDTH = 320  # px; a face must be >= MIN_FACE px here, i.e. >= 96 px in a 1280 px wide source
ANALYSIS_FPS = 6.0
MIN_FACE = 24
CHUNK_FRAMES = 16  # analysis frames per pipe read
FACE_EVERY = 2  # look for faces in every 2nd analysis frame (3 per second): the cascade is the costly part
FACE_HOLD_S = 1.0  # keep following a face this long after the detector lost it
MOTION_THRESHOLD = 18  # grey levels (after a small blur) that count as change
MIN_MOTION_SHARE = 0.0005  # share of the frame's pixels that must change to count as motion
DEAD_ZONE = 0.06  # share of the crop size the subject may wander before the crop follows
SMOOTH_TIME = 0.3  # s, the critically damped spring's time constant
MAX_STEP = 8.0  # px per frame at REFERENCE_FPS
REFERENCE_FPS = 30.0
CROP_NAME = "crop@subject"


@dataclass
class CropTrack:
    """A crop window per output frame: top-left ``xs[i]``, ``ys[i]`` (source px) of a ``w`` x ``h`` window."""

    xs: np.ndarray
    ys: np.ndarray
    w: int
    h: int
    fps: float

    def __post_init__(self) -> None:
        self.xs = np.asarray(self.xs, dtype=np.int64)
        self.ys = np.asarray(self.ys, dtype=np.int64)
        if self.xs.shape != self.ys.shape or self.xs.ndim != 1 or not len(self.xs):
            raise ValueError("a crop track needs equally long, non-empty 1-D xs and ys")
        if self.w <= 0 or self.h <= 0 or self.fps <= 0:
            raise ValueError(f"bad crop track geometry: {self.w}x{self.h} at {self.fps} fps")

    @property
    def frames(self) -> int:
        return len(self.xs)

    def commands(self) -> str:
        """The ``sendcmd`` script: one command per change of x or y, half a frame before that frame."""
        lines: list[str] = []
        for axis, values in (("x", self.xs), ("y", self.ys)):
            changes = np.flatnonzero(np.diff(values)) + 1
            lines.extend(f"{(i - 0.5) / self.fps:.6f} {CROP_NAME} {axis} {int(values[i])};" for i in changes.tolist())
        lines.sort(key=lambda line: float(line.split(" ", 1)[0]))
        return "\n".join(lines) + "\n" if lines else ""

    def filter(self, workdir: Path) -> str:
        """A filter chain cropping along the track, for frames timed ``i / fps`` from 0.

        Writes the command file into ``workdir`` (named by its content, so several tracks can share
        one folder). A track that never moves needs no file and is a plain ``crop``.
        """
        crop = f"{CROP_NAME}=w={self.w}:h={self.h}:x={int(self.xs[0])}:y={int(self.ys[0])}:exact=1"
        script = self.commands()
        if not script:
            return crop
        digest = hashlib.sha1(f"{self.w}x{self.h}@{self.fps}\n{script}".encode()).hexdigest()[:12]
        path = Path(workdir) / f"subject-crop-{digest}.cmd"
        path.write_text(script, encoding="ascii")
        return f"sendcmd=f={_filter_value(str(path.absolute()))},{crop}"


@dataclass(frozen=True)
class SubjectSamples:
    """Subject centres (source px) at ``times`` (s from the clip start); ``kinds``: face, motion or none."""

    times: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    kinds: tuple[str, ...]


def _filter_value(value: str) -> str:
    """Escape ``value`` as a filter option inside a filtergraph (both escaping levels)."""
    for ch in "\\':":
        value = value.replace(ch, "\\" + ch)
    for ch in "\\'[],;":
        value = value.replace(ch, "\\" + ch)
    return value


def analysis_args(source: Path, *, start: float, end: float, width: int, height: int, rate: float) -> list[str]:
    """ffmpeg arguments writing grey ``width`` x ``height`` frames at ``rate`` fps of [start, end) to stdout."""
    return [
        "-v",
        "error",
        "-threads",
        "2",
        "-ss",
        f"{start:.6f}",
        "-t",
        f"{end - start:.6f}",
        "-i",
        str(source),
        "-map",
        "0:v:0",
        "-an",
        "-sn",
        "-dn",
        "-vf",
        f"fps={rate:g},scale={width}:{height}:flags=area,format=gray",
        "-f",
        "rawvideo",
        "pipe:1",
    ]


@lru_cache(maxsize=1)
def _cascade_path() -> str:
    if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
        raise ToolchainError(
            f"OpenCV {cv2.__version__} has no Haar cascades (5.x dropped them): "
            "pip install 'opencv-python-headless>=4.9,<5'"
        )
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
    if not path.is_file():
        raise ToolchainError(f"OpenCV's face cascade is missing at {path}; reinstall opencv-python-headless")
    return str(path)


def _largest_face(detector: cv2.CascadeClassifier, frame: np.ndarray) -> tuple[float, float] | None:
    # no histogram equalisation: it turns dark sensor noise into texture and makes the cascade 20x slower
    faces = detector.detectMultiScale(frame, scaleFactor=1.15, minNeighbors=5, minSize=(MIN_FACE, MIN_FACE))
    if len(faces) == 0:
        return None
    x, y, w, h = max((tuple(int(v) for v in f) for f in faces), key=lambda f: f[2] * f[3])
    return x + w / 2, y + h / 2


def _motion_centre(before: np.ndarray, after: np.ndarray) -> tuple[float, float] | None:
    diff = cv2.absdiff(before, after).astype(np.float64)
    diff[diff < MOTION_THRESHOLD] = 0.0
    total = diff.sum()
    if np.count_nonzero(diff) < max(4, MIN_MOTION_SHARE * diff.size) or total <= 0:
        return None
    rows, cols = diff.sum(axis=1), diff.sum(axis=0)
    cx = float(cols @ np.arange(diff.shape[1])) / total
    cy = float(rows @ np.arange(diff.shape[0])) / total
    return cx + 0.5, cy + 0.5


class SubjectDetector:
    """Feed grey analysis frames in order (:meth:`add`); :meth:`samples` gives a subject centre per frame.

    ``scale`` converts analysis px to source px. A motion centre is timed between the two frames it
    compares. Faces are looked for in every :data:`FACE_EVERY`-th frame unless ``faces`` is False.
    """

    def __init__(self, *, rate: float, scale: float, faces: bool = True) -> None:
        self.rate, self.scale = rate, scale
        self.detector = cv2.CascadeClassifier(_cascade_path()) if faces else None
        self.previous: np.ndarray | None = None
        self.last_face: tuple[float, float, float] | None = None  # (t, cx, cy)
        self.times: list[float] = []
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.kinds: list[str] = []

    def add(self, frame: np.ndarray) -> None:
        k = len(self.times)
        t = k / self.rate
        blurred = cv2.GaussianBlur(frame, (5, 5), 0)
        centre: tuple[float, float] | None
        face = _largest_face(self.detector, frame) if self.detector is not None and k % FACE_EVERY == 0 else None
        if face is not None:
            self.last_face = (t, *face)
            centre, kind, when = face, "face", t
        elif self.last_face is not None and t - self.last_face[0] <= FACE_HOLD_S:
            centre, kind, when = self.last_face[1:], "face", t
        else:
            centre = _motion_centre(self.previous, blurred) if self.previous is not None else None
            kind, when = ("motion" if centre else "none"), (t - 0.5 / self.rate if k else t)
        self.previous = blurred
        self.times.append(when)
        self.xs.append(centre[0] * self.scale if centre else math.nan)
        self.ys.append(centre[1] * self.scale if centre else math.nan)
        self.kinds.append(kind)

    def samples(self) -> SubjectSamples:
        return SubjectSamples(np.array(self.times), np.array(self.xs), np.array(self.ys), tuple(self.kinds))


def detect_subjects(frames: np.ndarray, *, rate: float, scale: float, faces: bool = True) -> SubjectSamples:
    """Subject centre per grey analysis frame (``frames``: n x h x w uint8 at ``rate`` fps)."""
    detector = SubjectDetector(rate=rate, scale=scale, faces=faces)
    for frame in frames:
        detector.add(frame)
    return detector.samples()


def _fill_gaps(values: np.ndarray, fallback: float) -> np.ndarray:
    """Hold the previous known value over gaps; before the first one, use the first; none at all: fallback."""
    known = np.flatnonzero(~np.isnan(values))
    if not len(known):
        return np.full(len(values), fallback)
    index = np.maximum.accumulate(np.where(np.isnan(values), -1, np.arange(len(values))))
    index[index < 0] = known[0]
    return values[index]


def _median3(values: np.ndarray) -> np.ndarray:
    """Median of each value and its neighbours: drops single-sample outliers (detector blips, cuts)."""
    if len(values) < 3:
        return values
    padded = np.concatenate([values[:1], values, values[-1:]])
    return np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)


def step_limit(*, fps: float, crop_size: int, output_size: int | None, max_step: float = MAX_STEP) -> int:
    """Most whole source px the crop may move in one output frame (see the module doc)."""
    per_frame = min(max_step, max_step * REFERENCE_FPS / fps)
    if output_size:
        per_frame *= min(1.0, crop_size / output_size)
    return max(1, math.floor(per_frame + 1e-9))


def smooth_path(
    target: np.ndarray,
    *,
    fps: float,
    limit: int,
    dead_zone: float,
    smooth_time: float = SMOOTH_TIME,
    lower: int = 0,
    upper: int,
) -> np.ndarray:
    """Whole-pixel crop positions following ``target`` (per output frame) without jitter.

    The goal moves only when the target leaves ``dead_zone`` px around it (and then by the excess); a
    critically damped spring (``smooth_time`` s) follows the goal; each frame moves at most ``limit`` px.
    Positions stay within [lower, upper].
    """
    dt = 1.0 / fps
    omega = 2.0 / smooth_time
    decay_x = omega * dt
    decay = 1.0 / (1.0 + decay_x + 0.48 * decay_x**2 + 0.235 * decay_x**3)
    goal = pos = float(np.clip(target[0], lower, upper))
    vel = 0.0
    current = round(pos)
    out = np.empty(len(target), dtype=np.int64)
    for i, aim in enumerate(np.clip(target, lower, upper)):
        if aim > goal + dead_zone:
            goal = aim - dead_zone
        elif aim < goal - dead_zone:
            goal = aim + dead_zone
        change = pos - goal  # critically damped spring step (Game Programming Gems 4, 1.10)
        temp = (vel + omega * change) * dt
        vel = (vel - omega * temp) * decay
        pos = goal + (change + temp) * decay
        current += int(np.clip(round(pos) - current, -limit, limit))
        current = min(max(current, lower), upper)
        out[i] = current
    return out


def _analyse(
    source: Path, *, start: float, end: float, size: tuple[int, int], faces: bool, scale: float, timeout: float | None
) -> SubjectSamples:
    """Decode [start, end) small and grey in one ffmpeg run, detecting while ffmpeg keeps decoding."""
    width, height = size
    frame_bytes = width * height
    detector = SubjectDetector(rate=ANALYSIS_FPS, scale=scale, faces=faces)
    args = analysis_args(source, start=start, end=end, width=width, height=height, rate=ANALYSIS_FPS)
    with stream_ffmpeg(args, chunk_bytes=frame_bytes * CHUNK_FRAMES, timeout=timeout) as chunks:
        for chunk in chunks:
            count = len(chunk) // frame_bytes
            for frame in np.frombuffer(chunk, dtype=np.uint8)[: count * frame_bytes].reshape(count, height, width):
                detector.add(frame)
    if not detector.times:
        raise MediaError(f"{source.name}: no video frames decoded between {start:g} s and {end:g} s", code="no_video")
    return detector.samples()


def plan_subject_crop(
    source: Path,
    *,
    start: float,
    end: float,
    src_w: int,
    src_h: int,
    crop_w: int,
    crop_h: int,
    fps: float,
    output_width: int | None = None,
    faces: bool = True,
    max_step: float = MAX_STEP,
    timeout: float | None = None,
) -> CropTrack:
    """Plan a ``crop_w`` x ``crop_h`` window over [start, end) of ``source`` (``src_w`` x ``src_h`` as
    decoded, rotation applied) following the subject, one position per output frame at ``fps``.

    ``output_width`` (the width the crop is scaled to) makes the speed limit hold in output px too.
    Raises ValueError for an impossible geometry or window, :class:`MediaError` when nothing decodes.
    """
    source = Path(source)
    if not source.is_file():
        raise MediaError(f"source not found: {source}", code="not_found")
    if not 0 <= start < end:
        raise ValueError(f"bad clip window: start {start} s, end {end} s")
    if not (0 < crop_w <= src_w and 0 < crop_h <= src_h) or fps <= 0:
        raise ValueError(f"cannot crop {crop_w}x{crop_h} out of {src_w}x{src_h} at {fps} fps")
    n_frames = max(1, round((end - start) * fps))
    if crop_w == src_w and crop_h == src_h:
        return CropTrack(np.zeros(n_frames), np.zeros(n_frames), crop_w, crop_h, fps)

    width = min(ANALYSIS_WIDTH, src_w) // 2 * 2
    height = max(2, round(width * src_h / src_w / 2) * 2)
    samples = _analyse(
        source, start=start, end=end, size=(width, height), faces=faces, scale=src_w / width, timeout=timeout
    )
    cx = _median3(_fill_gaps(samples.cx, src_w / 2))
    cy = _median3(_fill_gaps(samples.cy, src_h / 2))
    t_out = np.arange(n_frames) / fps
    limit = step_limit(fps=fps, crop_size=crop_w, output_size=output_width, max_step=max_step)  # uniform scale
    paths = []
    for centre, size, full in ((cx, crop_w, src_w), (cy, crop_h, src_h)):
        if full == size:
            paths.append(np.zeros(n_frames, dtype=np.int64))
            continue
        aim = np.interp(t_out, samples.times, centre) - size / 2
        paths.append(smooth_path(aim, fps=fps, limit=limit, dead_zone=DEAD_ZONE * size, upper=full - size))
    return CropTrack(paths[0], paths[1], crop_w, crop_h, fps)
