"""Pure builders: a :class:`RenderPlan` -> one ffmpeg command with one filtergraph.

Video: input seek (frame-accurate with re-encode) -> ``fps`` (CFR, VFR-safe) -> reframe (scale+pad,
blurred padding computed at 1/4 size, centre crop, or REFRAME's subject crop) -> product card
(slide/fade entrance) -> corner QR -> captions (libass, last, on top) -> exactly N frames.
Audio: resample to 48 kHz stereo, fixed gain, true-peak limiter, padded/trimmed to the video length
(silence when the source has none). The graph is written to a script passed with ``-/filter_complex``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from studio.errors import ToolchainError
from studio.fonts import FontChoice, find_cjk_font, write_fonts_conf
from studio.render.captions import write_ass
from studio.render.errors import RenderFontError, RenderPlanError
from studio.render.plan import CardOverlay, QrOverlay, RenderPlan
from studio.render.presets import Preset, encoder_args

__all__ = [
    "BLUR_DIVISOR",
    "Geometry",
    "build_render_args",
    "card_geometry",
    "escape_filter_path",
    "qr_geometry",
    "reframe_chain",
    "resolve_font",
    "resolve_reframe",
]

BLUR_DIVISOR = 4  # the blurred background is computed at 1/4 of the output size, then scaled up
SCALE_ASPECT_TOLERANCE = 0.1  # "auto" only scales (and pads) when aspects differ by at most 10%
SCRIPT_NAME = "graph.ffscript"
ASS_NAME = "captions.ass"
_OPTION_SPECIAL = re.compile(r"([\\':])")
_GRAPH_SPECIAL = re.compile(r"([\\'\[\],;])")


@dataclass(frozen=True)
class Geometry:
    """Where an overlay sits: top-left corner and size, in output pixels."""

    x: int
    y: int
    w: int
    h: int


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


def escape_filter_path(path: Path) -> str:
    """``path`` as a filter option value inside a filtergraph script (both escaping levels)."""
    return _GRAPH_SPECIAL.sub(r"\\\1", _OPTION_SPECIAL.sub(r"\\\1", str(path)))


def resolve_reframe(plan: RenderPlan) -> str:
    """The concrete reframe mode: ``auto`` scales when the aspects are close, else pads with blur."""
    if plan.reframe != "auto":
        return plan.reframe
    src = plan.info.display_width / plan.info.display_height
    dst = plan.preset.width / plan.preset.height
    return "scale" if abs(src / dst - 1) <= SCALE_ASPECT_TOLERANCE else "blur"


def _fit(src_w: int, src_h: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Even size of ``src`` scaled to fit inside ``box`` (aspect kept)."""
    scale = min(box_w / src_w, box_h / src_h)
    return min(box_w, _even(src_w * scale)), min(box_h, _even(src_h * scale))


def _crop_box(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int]:
    """Largest even region of ``src`` with the aspect of ``dst``."""
    if src_w / src_h > dst_w / dst_h:
        return min(src_w - src_w % 2, _even(src_h * dst_w / dst_h)), src_h - src_h % 2
    return src_w - src_w % 2, min(src_h - src_h % 2, _even(src_w * dst_h / dst_w))


def reframe_chain(plan: RenderPlan, mode: str, workdir: Path) -> str:
    """Filtergraph text from ``[src]`` (upright, CFR) to ``[framed]`` at the preset size."""
    sw, sh = plan.info.display_width, plan.info.display_height
    W, H = plan.preset.width, plan.preset.height
    if mode == "scale":
        fw, fh = _fit(sw, sh, W, H)
        return f"[src]scale={fw}:{fh},pad={W}:{H}:{(W - fw) // 2}:{(H - fh) // 2}:color=black[framed]"
    if mode == "crop":
        cw, ch = _crop_box(sw, sh, W, H)
        return f"[src]crop={cw}:{ch}:{(sw - cw) // 2}:{(sh - ch) // 2},scale={W}:{H}[framed]"
    if mode == "blur":
        lw, lh = _even(W / BLUR_DIVISOR), _even(H / BLUR_DIVISOR)
        cover = max(lw / sw, lh / sh)
        bw, bh = max(lw, _even(sw * cover)), max(lh, _even(sh * cover))
        radius = max(2, min(lw, lh) // 12)
        fw, fh = _fit(sw, sh, W, H)
        return (
            "[src]split=2[bgsrc][fgsrc];"
            f"[bgsrc]scale={bw}:{bh}:flags=fast_bilinear,crop={lw}:{lh},"
            f"boxblur=luma_radius={radius}:luma_power=2:chroma_radius={max(1, radius // 2)}:chroma_power=2,"
            f"eq=brightness=-0.06,scale={W}:{H}:flags=bilinear[bg];"
            f"[fgsrc]scale={fw}:{fh}[fg];"
            f"[bg][fg]overlay={(W - fw) // 2}:{(H - fh) // 2}[framed]"
        )
    if mode == "subject":
        from studio.render.subject import plan_subject_crop  # REFRAME's module: imported only when used

        cw, ch = _crop_box(sw, sh, W, H)
        track = plan_subject_crop(
            plan.source,
            start=plan.start,
            end=plan.end,
            src_w=sw,
            src_h=sh,
            crop_w=cw,
            crop_h=ch,
            fps=plan.preset.fps,
            output_width=W,
        )
        return f"[src]{track.filter(workdir)},scale={W}:{H}[framed]"
    raise RenderPlanError(f"unknown reframe mode {mode!r}")


def _image_size(path: Path, what: str) -> tuple[int, int]:
    try:
        with Image.open(path) as image:
            return image.size
    except OSError as exc:
        raise RenderPlanError(f"{what} image {path} cannot be read: {exc}") from exc


def card_geometry(card: CardOverlay, preset: Preset, size: tuple[int, int]) -> Geometry:
    """Resting place of the card: centred in the safe area, against its bottom/top edge or mid-frame."""
    w, h = size
    if w > preset.width or h > preset.height:
        raise RenderPlanError(f"card image is {w}x{h}, larger than the {preset.width}x{preset.height} frame")
    sx, sy, sw, sh = preset.safe_box
    margin = card.margin if card.margin is not None else round(preset.width * 0.02)
    x = sx + (sw - w) // 2 if w <= sw else (preset.width - w) // 2
    if card.position == "top":
        y = sy + margin
    elif card.position == "middle":
        y = (preset.height - h) // 2
    else:
        y = sy + sh - h - margin
    return Geometry(x=max(0, x), y=max(0, min(preset.height - h, y)), w=w, h=h)


def qr_geometry(qr: QrOverlay, preset: Preset, size: tuple[int, int]) -> Geometry:
    """Where a corner QR goes: inside the safe area, ``margin`` from its edges."""
    w, h = size
    sx, sy, sw, sh = preset.safe_box
    margin = qr.margin if qr.margin is not None else round(preset.width * 0.03)
    if w + 2 * margin > sw or h + 2 * margin > sh:
        raise RenderPlanError(f"QR image {w}x{h} (+{margin} px margins) does not fit the safe area {sw}x{sh}")
    x = sx + margin if qr.corner.endswith("left") else sx + sw - w - margin
    y = sy + margin if qr.corner.startswith("top") else sy + sh - h - margin
    return Geometry(x=x, y=y, w=w, h=h)


def _card_chain(card: CardOverlay, geo: Geometry, plan: RenderPlan, index: int, base: str) -> str:
    """Overlay the card on ``[base]`` -> ``[carded]`` with its entrance animation."""
    fps = plan.preset.fps
    clip = plan.output_duration
    start = min(card.appear_at, clip)
    stop = clip if card.duration is None else min(clip, start + card.duration)
    ease = max(0.04, min(card.entrance_seconds, (stop - start) / 2))
    enable = f"between(t,{start:.3f},{stop:.3f})"
    x, y = str(geo.x), str(geo.y)
    if card.entrance == "fade":
        frames = max(1, math.ceil(stop * fps) + 1)
        fades = f"fade=t=in:st={start:.3f}:d={ease:.3f}:alpha=1"
        if card.duration is not None:
            fades += f",fade=t=out:st={stop - ease:.3f}:d={ease:.3f}:alpha=1"
        card_src = f"[{index}:v]format=rgba,loop=loop={frames - 1}:size=1,setpts=N/({fps}*TB),{fades}[card];"
        return f"{card_src}[{base}][card]overlay=x={x}:y={y}:eof_action=pass:enable='{enable}'[carded]"
    if card.entrance == "slide":
        progress = f"pow(1-min(1\\,max(0\\,(t-{start:.3f})/{ease:.3f}))\\,3)"  # 1 -> 0, ease-out
        if card.position == "bottom":
            y = f"'{geo.y}+({plan.preset.height - geo.y})*{progress}'"
        elif card.position == "top":
            y = f"'{geo.y}-({geo.y + geo.h})*{progress}'"
        else:
            x = f"'{geo.x}-({geo.x + geo.w})*{progress}'"
    return f"[{index}:v]format=rgba[card];[{base}][card]overlay=x={x}:y={y}:enable='{enable}'[carded]"


def resolve_font(plan: RenderPlan) -> FontChoice:
    """The CJK font for captions; :class:`RenderFontError` when there is none (captions would vanish)."""
    if isinstance(plan.font, FontChoice):
        if not plan.font.path.is_file():
            raise RenderFontError(f"caption font {plan.font.path} does not exist")
        return plan.font
    try:
        return find_cjk_font(plan.font)
    except ToolchainError as exc:
        raise RenderFontError(f"captions need a CJK font: {exc}") from exc


def _audio_chain(plan: RenderPlan, gain_db: float) -> str:
    duration = f"{plan.output_duration:.6f}"
    if not plan.info.has_audio:
        return f"anullsrc=r=48000:cl=stereo,atrim=end={duration}[aout]"
    limit = 10 ** ((plan.preset.true_peak_db - 0.5) / 20)  # sample-peak limit with room for inter-sample peaks
    return (
        "[0:a:0]aresample=48000:async=1:first_pts=0,aformat=sample_fmts=fltp:channel_layouts=stereo,"
        f"volume={gain_db:.2f}dB,alimiter=limit={limit:.4f}:level=0:latency=1,"
        f"apad=whole_dur={duration},atrim=end={duration},asetpts=PTS-STARTPTS[aout]"
    )


def build_render_args(
    plan: RenderPlan, output: Path, workdir: Path, *, gain_db: float | None = None
) -> tuple[list[str], dict[str, str]]:
    """ffmpeg arguments (and extra environment) rendering ``plan`` to ``output`` as MP4.

    Writes the filtergraph script (and, with captions, the ASS file and a ``fonts.conf``) into
    ``workdir``. ``gain_db`` overrides the plan's resolved gain (``render_clip`` measures it first).
    """
    if plan.mode != "accurate":
        raise RenderPlanError("build_render_args renders accurate clips; fast mode is a stream copy (fastcut)")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    preset, fps = plan.preset, plan.preset.fps
    inputs = ["-ss", f"{plan.start:.6f}", "-t", f"{plan.duration:.6f}", "-i", str(plan.source)]
    graph = [f"[0:v]fps={fps}:start_time=0,format=yuv420p[src]", reframe_chain(plan, resolve_reframe(plan), workdir)]
    base, env = "framed", {}
    card_top = preset.height  # top of whatever sits on the bottom safe line (card, bottom QR)
    if plan.card is not None:
        geo = card_geometry(plan.card, preset, _image_size(plan.card.image, "card"))
        inputs += ["-i", str(plan.card.image)]
        graph.append(_card_chain(plan.card, geo, plan, _input_count(inputs) - 1, base))
        base = "carded"
        if plan.card.position == "bottom":
            card_top = geo.y
    if plan.qr is not None:
        geo = qr_geometry(plan.qr, preset, _image_size(plan.qr.image, "QR"))
        inputs += ["-i", str(plan.qr.image)]
        graph.append(f"[{base}][{_input_count(inputs) - 1}:v]overlay=x={geo.x}:y={geo.y}[qrd]")
        base = "qrd"
        if plan.qr.corner.startswith("bottom"):
            card_top = min(card_top, geo.y)
    if plan.captions:
        font = resolve_font(plan)
        ass = workdir / ASS_NAME
        lift = max(0, preset.height - preset.safe_bottom - card_top)  # above a card or QR on the bottom line
        events = write_ass(
            plan.captions,
            ass,
            start=plan.start,
            end=plan.end,
            preset=preset,
            font_family=font.family,
            extra_bottom=lift,
        )
        if events:
            conf = write_fonts_conf(font.path, workdir, family=font.family)
            env["FONTCONFIG_FILE"] = str(conf)
            graph.append(f"[{base}]ass=filename={escape_filter_path(ass)}[captioned]")
            base = "captioned"
    frames = plan.frame_count
    graph.append(f"[{base}]setsar=1,tpad=stop_mode=clone:stop_duration=2,trim=end_frame={frames}[vout]")
    resolved = plan.resolved_gain_db() if gain_db is None else gain_db
    graph.append(_audio_chain(plan, resolved or 0.0))
    script = workdir / SCRIPT_NAME
    script.write_text(";\n".join(graph) + "\n", encoding="utf-8")
    strict = ["-xerror"] if plan.strict_decode else []
    args = [
        "-y",
        "-v",
        "error",
        *strict,
        *inputs,
        "-/filter_complex",
        str(script),
        "-map",
        "[vout]",
        "-map",
        "[aout]",
        *encoder_args(preset),
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-f",
        "mp4",
        str(output),
    ]
    return args, env


def _input_count(inputs: list[str]) -> int:
    return inputs.count("-i")
