"""Clip covers: the sharpest well-lit frame near the highlight peak, with a readable title band."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

from studio.cards.product_card import readable_on
from studio.cards.text import draw_text, text_width, wrap_text
from studio.cards.theme import DEFAULT_THEME, CardTheme
from studio.errors import CardError
from studio.ffmpeg import run_ffmpeg
from studio.probe import probe

__all__ = [
    "DARK_LUMA",
    "FrameScore",
    "choose_cover_time",
    "cover_frame_args",
    "cover_sample_args",
    "fit_cover",
    "pick_cover_frame",
    "render_cover",
    "sample_times",
    "score_frame",
]

DARK_LUMA = 40.0  # mean luma (0-255) under which a frame is too dark for a cover
SAMPLE_WIDTH = 160


def fit_cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` scaled to cover ``size`` and centre-cropped to it, as RGB."""
    if size[0] < 16 or size[1] < 16:
        raise CardError(f"cover size {size[0]}x{size[1]} is too small")
    return ImageOps.fit(image.convert("RGB"), size, Image.Resampling.LANCZOS)


def render_cover(
    frame: Image.Image,
    *,
    title: str,
    size: tuple[int, int],
    theme: CardTheme = DEFAULT_THEME,
    max_lines: int = 3,
) -> Image.Image:
    """An RGB cover of ``size``: ``frame`` cover-cropped, with ``title`` (wrapped, CJK-aware) on an opaque
    band in the theme's accent colour (its alpha ignored), about 70 % of the way down (clear of the
    platforms' bottom UI)."""
    cover = fit_cover(frame, size)
    title = " ".join((title or "").split())
    if not title:
        return cover
    width, height = size
    unit = min(width, height * 9 / 16) / 1080
    font = theme.font_at(max(12, round(88 * unit)))
    lang = theme.text_language
    lines = wrap_text(title, font, width * 0.84, max_lines=max_lines, language=lang)
    ascent, descent = font.getmetrics()
    line_height = ascent + descent
    pad = round(28 * unit)
    band_height = line_height * len(lines) + 2 * pad
    band_top = min(round(height * 0.70 - band_height / 2), height - band_height)
    accent = theme.rgba("accent")
    band = (*accent[:3], 255)  # opaque: the stream's own on-screen text must not ghost through the title
    draw = ImageDraw.Draw(cover)
    draw.rectangle((0, band_top, width, band_top + band_height), fill=band)
    ink = readable_on(band)
    y = band_top + pad
    for line in lines:
        left = (width - text_width(line, font, lang)) / 2
        draw_text(draw, (left, y + ascent), line, font=font, fill=ink, anchor="ls", language=lang)
        y += line_height
    return cover


@dataclass(frozen=True)
class FrameScore:
    """How one sampled frame rates as a cover."""

    time: float
    sharpness: float  # variance of the Laplacian of the luma
    brightness: float  # mean luma, 0-255

    @property
    def dark(self) -> bool:
        return self.brightness < DARK_LUMA


def score_frame(image: Image.Image, time: float) -> FrameScore:
    """Sharpness (Laplacian variance) and brightness of ``image``."""
    luma = np.asarray(image.convert("L"), dtype=np.float32)
    if luma.shape[0] < 3 or luma.shape[1] < 3:
        return FrameScore(time, 0.0, float(luma.mean()) if luma.size else 0.0)
    lap = 4 * luma[1:-1, 1:-1] - luma[:-2, 1:-1] - luma[2:, 1:-1] - luma[1:-1, :-2] - luma[1:-1, 2:]
    return FrameScore(time, float(lap.var()), float(luma.mean()))


def sample_times(around: float, window: float, count: int, duration: float) -> list[float]:
    """``count`` times spread evenly over ``window`` seconds centred on ``around``, inside the video."""
    last = max(0.0, duration - 0.05)
    raw = [around - window / 2 + window * (i + 0.5) / count for i in range(count)]
    return sorted({round(min(max(t, 0.0), last), 3) for t in raw})


def cover_sample_args(video: Path, times: list[float], out_dir: Path, *, width: int = SAMPLE_WIDTH) -> list[str]:
    """One ffmpeg run that writes a ``width`` px wide PNG of the frame at each of ``times``
    (``out_dir/sample_00.png``…): one accurately seeked input per time, one output per input."""
    args: list[str] = []
    for t in times:
        args += ["-ss", f"{t:.3f}", "-i", str(video)]
    for index in range(len(times)):
        args += [
            "-map",
            f"{index}:v:0",
            "-frames:v",
            "1",
            "-vf",
            f"scale={width}:-2",
            "-f",
            "image2",
            "-update",
            "1",
            "-y",
            str(out_dir / f"sample_{index:02d}.png"),
        ]
    return args


def cover_frame_args(video: Path, time: float, out: Path, *, size: tuple[int, int] | None = None) -> list[str]:
    """ffmpeg args writing the frame at ``time`` to the PNG ``out``, cover-cropped to ``size`` if given."""
    args = ["-ss", f"{time:.3f}", "-i", str(video), "-map", "0:v:0", "-frames:v", "1"]
    if size is not None:
        w, h = size
        args += ["-vf", f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=lanczos,crop={w}:{h},setsar=1"]
    return [*args, "-f", "image2", "-update", "1", "-y", str(out)]


def choose_cover_time(scores: list[FrameScore], around: float) -> FrameScore:
    """The sharpest frame that is not too dark (the brightest if all are); ties go to the one nearest ``around``."""
    if not scores:
        raise CardError("no frames to choose a cover from")
    lit = [s for s in scores if not s.dark]
    if not lit:
        return max(scores, key=lambda s: (s.brightness, -abs(s.time - around)))
    return max(lit, key=lambda s: (round(s.sharpness, 3), -abs(s.time - around)))


def pick_cover_frame(
    video: Path,
    *,
    around: float,
    window: float = 2.0,
    size: tuple[int, int] | None = None,
    count: int = 5,
    timeout: float | None = 120.0,
) -> Image.Image:
    """The best cover frame within ``window`` seconds around ``around`` (the highlight peak), as RGB.

    One ffmpeg run samples ``count`` small frames; the sharpest one that is not too dark is then
    extracted at full size (or cover-cropped to ``size``) by a second, single-frame run. The chosen
    time is in the returned image's ``info["cover_time"]``.
    """
    video = Path(video)
    if window <= 0 or count < 1:
        raise CardError(f"cover window {window} s and sample count {count} must be positive")
    duration = probe(video).duration
    if not 0 <= around <= duration:
        raise CardError(f"cover peak {around:.2f} s is outside the video (0 to {duration:.2f} s)")
    times = sample_times(around, window, count, duration)
    with tempfile.TemporaryDirectory(prefix="liveslice-cover-") as tmp:
        workdir = Path(tmp)
        run_ffmpeg(cover_sample_args(video, times, workdir), timeout=timeout)
        scores = []
        for index, t in enumerate(times):
            sample = workdir / f"sample_{index:02d}.png"
            if sample.is_file():
                with Image.open(sample) as image:
                    scores.append(score_frame(image, t))
        best = choose_cover_time(scores, around)
        out = workdir / "cover.png"
        run_ffmpeg(cover_frame_args(video, best.time, out, size=size), timeout=timeout)
        if not out.is_file():
            raise CardError(f"ffmpeg wrote no frame at {best.time:.3f} s of {video}")
        with Image.open(out) as image:
            frame = image.convert("RGB")
    frame.info["cover_time"] = best.time
    return frame
