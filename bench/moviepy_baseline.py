"""The moviepy baseline for ``bench/render.py``: the same product clip, composited frame by frame in Python.

    python bench/moviepy_baseline.py JOB.json

``JOB.json`` (written by ``bench/render.py``) holds the layout liveslice computed for its own render,
so both pipelines draw the same elements in the same places::

    {"source": ..., "start": S, "end": E, "out": ..., "width": 1080, "height": 1920, "fps": 30,
     "reframe": "blur" | "scale", "blur_size": [270, 480], "blur_radius": 22, "fit": [W, H],
     "card": {"image": PNG, "x": X, "y": Y, "appear_at": 0.5, "ease": 0.4},
     "qr": {"image": PNG, "x": X, "y": Y},
     "captions": [{"start": s, "end": e, "lines": [...]}], "caption_font": OTF, "caption_size": 65,
     "caption_outline": 5.2, "caption_bottom": PX, "caption_left": PX, "caption_right": PX,
     "gain_db": G, "background": null | [0, 0, 0],
     "encoder": {"crf": 23, "preset": "veryfast", "profile": "high", "maxrate": "8000k", "bufsize": "16000k",
                 "gop": 60, "audio_bitrate": "128k", "audio_rate": 48000}}

Elements: the 1080x1920 canvas filled with the source blurred at low resolution (``blur``: scaled to
cover ``blur_size``, box-blurred twice, darkened, stretched up; ``scale``: plain black padding), the source
fitted to the canvas in the middle, the product card sliding up from the bottom, a corner QR code,
captions with the same font, size, outline, line breaks and timing, the same audio gain; x264 veryfast
CRF 23 High, AAC 48 kHz. moviepy is the right tool for short generated assets, not for this: that is
what the bench shows.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from moviepy import AudioClip, CompositeVideoClip, ImageClip, TextClip, VideoClip, VideoFileClip
from moviepy.audio.fx import MultiplyVolume
from PIL import Image, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from studio.fonts import find_cjk_font  # noqa: E402
from studio.render import RenderPlan, caption_style, card_geometry, clip_cues, qr_geometry, resolve_reframe  # noqa: E402
from studio.render.captions import line_capacity  # noqa: E402
from studio.render.graph import BLUR_DIVISOR  # noqa: E402

DARKEN = 15  # liveslice's eq=brightness=-0.06 on 8-bit luma


def fit_size(src: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """Even size of ``src`` scaled to fit inside ``box``, aspect kept (as liveslice's scale/pad and blur modes)."""
    scale = min(box[0] / src[0], box[1] / src[1])
    return min(box[0], max(2, round(src[0] * scale / 2) * 2)), min(box[1], max(2, round(src[1] * scale / 2) * 2))


def job_for_plan(
    plan: RenderPlan, *, end: float, gain_db: float | None, out: Path, opaque_background: bool = False
) -> dict[str, Any]:
    """The job for ``plan`` (card, corner QR, captions): liveslice's own layout, so both draw the same frame.

    ``end`` may cut the excerpt short; ``opaque_background`` gives the composite a black background
    instead of moviepy's default transparent one (the picture is the same; moviepy runs faster).
    """
    if plan.card is None or plan.qr is None:
        raise ValueError("the baseline draws a card and a corner QR: the plan needs both")
    preset, font = plan.preset, find_cjk_font()
    with Image.open(plan.card.image) as card_img, Image.open(plan.qr.image) as qr_img:
        card_geo = card_geometry(plan.card, preset, card_img.size)
        qr_geo = qr_geometry(plan.qr, preset, qr_img.size)
    lift = max(0, preset.height - preset.safe_bottom - card_geo.y) if plan.card.position == "bottom" else 0
    style = caption_style(preset, font.family, extra_bottom=lift)
    events = clip_cues(plan.captions or [], start=plan.start, end=end, max_units=int(line_capacity(preset, style)))
    ascent, descent = ImageFont.truetype(str(font.path), 1000, index=font.index).getmetrics()
    low_w, low_h = (max(2, round(v / BLUR_DIVISOR / 2) * 2) for v in (preset.width, preset.height))
    ease = max(0.04, min(plan.card.entrance_seconds, (plan.output_duration - plan.card.appear_at) / 2))
    return {
        "source": str(plan.source),
        "start": plan.start,
        "end": end,
        "out": str(out),
        "width": preset.width,
        "height": preset.height,
        "fps": preset.fps,
        "reframe": resolve_reframe(plan),
        "blur_size": [low_w, low_h],
        "blur_radius": max(2, min(low_w, low_h) // 12),
        "fit": list(fit_size((plan.info.display_width, plan.info.display_height), (preset.width, preset.height))),
        "card": {
            "image": str(plan.card.image),
            "x": card_geo.x,
            "y": card_geo.y,
            "appear_at": plan.card.appear_at,
            "ease": ease,
        },
        "qr": {"image": str(plan.qr.image), "x": qr_geo.x, "y": qr_geo.y},
        "captions": [{"start": c.start, "end": c.end, "lines": list(c.lines)} for c in events],
        "caption_font": str(font.path),
        "caption_size": round(style.font_size * 1000 / (ascent + descent)),  # libass sizes the line box, Pillow the em
        "caption_outline": style.outline,
        "caption_bottom": style.margin_bottom,
        "caption_left": style.margin_left,
        "caption_right": style.margin_right,
        "gain_db": gain_db,
        "background": [0, 0, 0] if opaque_background else None,
        "encoder": {
            "crf": preset.crf,
            "preset": preset.x264_preset,
            "profile": preset.profile,
            "maxrate": f"{preset.maxrate_kbps}k",
            "bufsize": f"{preset.bufsize_kbps}k",
            "gop": preset.gop,
            "audio_bitrate": f"{preset.audio_bitrate_kbps}k",
            "audio_rate": preset.audio_rate,
        },
    }


def _blurred_background(clip: VideoClip, job: dict[str, Any]) -> VideoClip:
    """The canvas filled with the clip, blurred at low resolution (per frame, in Python)."""
    width, height = job["width"], job["height"]
    low_w, low_h = job["blur_size"]
    src_w, src_h = clip.size
    cover = max(low_w / src_w, low_h / src_h)
    scaled = (max(low_w, round(src_w * cover)), max(low_h, round(src_h * cover)))
    left, top = (scaled[0] - low_w) // 2, (scaled[1] - low_h) // 2
    blur = ImageFilter.BoxBlur(job["blur_radius"])

    def fill(frame: np.ndarray) -> np.ndarray:
        small = Image.fromarray(frame).resize(scaled, Image.Resampling.BILINEAR)
        small = small.crop((left, top, left + low_w, top + low_h)).filter(blur).filter(blur)
        dark = np.asarray(small).astype(np.int16) - DARKEN
        big = Image.fromarray(dark.clip(0, 255).astype(np.uint8)).resize((width, height), Image.Resampling.BILINEAR)
        return np.asarray(big)

    return clip.image_transform(fill).with_position((0, 0))


def _card(job: dict[str, Any], duration: float) -> ImageClip | None:
    card = job.get("card")
    if not card or card["appear_at"] >= duration:
        return None
    start, ease, rest_y, height = card["appear_at"], card["ease"], card["y"], job["height"]

    def position(t: float) -> tuple[int, int]:  # the same ease-out slide from below as liveslice's overlay
        progress = (1 - min(1.0, max(0.0, t / ease))) ** 3
        return card["x"], round(rest_y + (height - rest_y) * progress)

    return ImageClip(card["image"]).with_start(start).with_duration(duration - start).with_position(position)


def _captions(job: dict[str, Any], duration: float) -> list[TextClip]:
    clips = []
    left, right, width = job["caption_left"], job["caption_right"], job["width"]
    pad = job["caption_size"] // 2
    for cue in job["captions"]:
        if cue["start"] >= duration:
            continue
        text = TextClip(
            font=job["caption_font"],
            text="\n".join(cue["lines"]),
            font_size=job["caption_size"],
            color="white",
            stroke_color="black",
            stroke_width=max(1, round(job["caption_outline"])),
            method="label",
            text_align="center",
            margin=(0, pad),  # room below: moviepy 2.1 cuts the last line's descent and outline otherwise
        )
        x = left + (width - left - right - text.w) // 2
        y = job["height"] - job["caption_bottom"] - text.h + pad
        clips.append(text.with_start(cue["start"]).with_end(min(cue["end"], duration)).with_position((x, y)))
    return clips


def render(job: dict[str, Any], *, threads: int = 2) -> Path:
    """Render the baseline clip with moviepy 2 (clips closed via context managers, so no ffmpeg leaks)."""
    width, height, out = job["width"], job["height"], Path(job["out"])
    enc = job["encoder"]
    params = [
        "-crf",
        str(enc["crf"]),
        "-profile:v",
        enc["profile"],
        "-maxrate",
        enc["maxrate"],
        "-bufsize",
        enc["bufsize"],
        "-g",
        str(enc["gop"]),
        "-keyint_min",
        str(enc["gop"]),
        "-sc_threshold",
        "0",
        "-ac",
        "2",
        "-movflags",
        "+faststart",
    ]
    with VideoFileClip(job["source"], audio_fps=enc["audio_rate"]) as full:
        excerpt = full.subclipped(job["start"], job["end"])
        duration = excerpt.duration
        fit_w, fit_h = job["fit"]
        foreground = excerpt.resized((fit_w, fit_h)).with_position(((width - fit_w) // 2, (height - fit_h) // 2))
        layers: list[VideoClip] = []
        if job["reframe"] == "blur":
            layers.append(_blurred_background(excerpt, job))
        layers.append(foreground)
        card = _card(job, duration)
        if card is not None:
            layers.append(card)
        if job.get("qr"):
            qr = job["qr"]
            layers.append(ImageClip(qr["image"]).with_duration(duration).with_position((qr["x"], qr["y"])))
        layers += _captions(job, duration)
        audio: AudioClip | None = excerpt.audio
        if audio is not None and job.get("gain_db"):
            audio = audio.with_effects([MultiplyVolume(10 ** (job["gain_db"] / 20))])
        background = tuple(job["background"]) if job.get("background") else None  # None: moviepy's default
        composite = CompositeVideoClip(layers, size=(width, height), bg_color=background).with_duration(duration)
        with composite.with_audio(audio) as clip:
            clip.write_videofile(
                str(out),
                fps=job["fps"],
                codec="libx264",
                preset=enc["preset"],
                audio_codec="aac",
                audio_fps=enc["audio_rate"],
                audio_bitrate=enc["audio_bitrate"],
                threads=threads,
                pixel_format="yuv420p",
                ffmpeg_params=params,
                temp_audiofile_path=str(out.parent),
                logger=None,
            )
    return out


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(2)
    render(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")))


if __name__ == "__main__":
    main()
