"""The moviepy baseline for ``bench/render.py``: the same product clip, composited frame by frame in Python.

    python bench/moviepy_baseline.py SOURCE --start S --end E --card CARD.png --qr QR.png --out OUT.mp4 \
        [--caption "0.5|4.0|text" ...] [--font FONT]

Elements, as liveslice renders them: a 1080x1920 canvas with the source blurred and stretched to
fill it (blur computed at 270x480), the source scaled to the canvas width in the middle, the product
card near the bottom, a QR code in a corner and burned-in captions; x264 veryfast CRF 23, AAC.
moviepy is the right tool for short generated assets, not for this: that is what the bench shows.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from moviepy import CompositeVideoClip, ImageClip, TextClip, VideoClip, VideoFileClip
from PIL import Image, ImageFilter

WIDTH, HEIGHT = 1080, 1920
BLUR_SIZE = (270, 480)


def _blurred_background(clip: VideoFileClip) -> VideoClip:
    """Fill the canvas with the clip, blurred at low resolution (per frame, in Python)."""

    def blur(frame: np.ndarray) -> np.ndarray:
        small = Image.fromarray(frame).resize(BLUR_SIZE, Image.Resampling.BILINEAR)
        small = small.filter(ImageFilter.GaussianBlur(radius=8))
        return np.asarray(small.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR))

    return clip.image_transform(blur)


def _caption(text: str, start: float, end: float, font: str | None) -> TextClip:
    clip = TextClip(
        font=font,
        text=text,
        font_size=54,
        color="white",
        stroke_color="black",
        stroke_width=3,
        method="caption",
        size=(WIDTH - 160, None),
        text_align="center",
    )
    return clip.with_start(start).with_end(end).with_position(("center", int(HEIGHT * 0.62)))


def render(
    source: Path,
    *,
    start: float,
    end: float,
    card: Path,
    qr: Path,
    out: Path,
    captions: list[tuple[float, float, str]],
    font: str | None,
    threads: int = 2,
) -> None:
    """Render the baseline clip with moviepy 2 (clips closed via context managers, so no ffmpeg leaks)."""
    with VideoFileClip(str(source)) as full:
        excerpt = full.subclipped(start, end)
        duration = excerpt.duration
        background = _blurred_background(excerpt)
        foreground = excerpt.resized(width=WIDTH).with_position("center")
        card_clip = ImageClip(str(card)).with_duration(duration)
        card_clip = card_clip.with_position(("center", HEIGHT - card_clip.h - int(HEIGHT * 0.2)))
        qr_clip = ImageClip(str(qr)).resized(width=220).with_duration(duration).with_position((WIDTH - 260, 160))
        layers = [background, foreground, card_clip, qr_clip]
        layers += [_caption(text, s, e, font) for s, e, text in captions]
        with CompositeVideoClip(layers, size=(WIDTH, HEIGHT)).with_duration(duration) as composite:
            composite.write_videofile(
                str(out),
                fps=30,
                codec="libx264",
                preset="veryfast",
                audio_codec="aac",
                audio_fps=48000,
                threads=threads,
                ffmpeg_params=["-crf", "23", "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
                logger=None,
            )


def _parse_caption(value: str) -> tuple[float, float, str]:
    start, end, text = value.split("|", 2)
    return float(start), float(end), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path)
    parser.add_argument("--start", type=float, required=True)
    parser.add_argument("--end", type=float, required=True)
    parser.add_argument("--card", type=Path, required=True)
    parser.add_argument("--qr", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--caption", action="append", default=[], type=_parse_caption, help="START|END|TEXT")
    parser.add_argument("--font", default=None)
    args = parser.parse_args()
    render(
        args.source,
        start=args.start,
        end=args.end,
        card=args.card,
        qr=args.qr,
        out=args.out,
        captions=args.caption,
        font=args.font,
    )


if __name__ == "__main__":
    main()
