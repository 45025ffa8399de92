"""What per-leader variants are built from: the base clip's facts and the pure ffmpeg arguments of an end card and
of the stream-copy join (see :mod:`studio.render.variants`)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from studio.render.errors import RenderPlanError
from studio.render.presets import Preset, encoder_args

#: x264 search effort for a still end card. None of these reach the SPS/PPS (checked on every variant,
#: with a plain re-encode if they ever do); they halve the encode's CPU time. threads=1: variants run
#: in parallel, and one thread per still card wastes least.
CARD_SPEED_PARAMS = (
    "rc-lookahead=0:mbtree=0:b-adapt=0:subme=0:me=dia:trellis=0:partitions=none:aq-mode=0:psy=0:threads=1"
)
_UNSPECIFIED = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED
_COLOUR_MATRICES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020"}


class VariantBaseError(RenderPlanError):
    """The base clip cannot take an end card by stream copy (wrong codec, size, rate, no audio…)."""

    code = "variant_base_mismatch"


@dataclass(frozen=True)
class BaseFacts:
    """What a variant's end card must match, read from the base clip."""

    path: Path
    width: int
    height: int
    fps: Fraction
    sar: Fraction | None
    timescale: int
    video_end: float  # end of the last video frame, s
    video_extradata: bytes
    color_primaries: int
    color_trc: int
    colorspace: int
    color_range: int
    sample_rate: int
    channels: int
    layout: str
    audio_extradata: bytes

    @property
    def frame_count(self) -> int:
        return round(self.video_end * self.fps)


def probe_base(base: Path, preset: Preset) -> BaseFacts:
    """Read ``base`` with PyAV and check it is a clip of ``preset``; :class:`VariantBaseError` lists mismatches."""
    base = Path(base)
    if not base.is_file():
        raise VariantBaseError(f"base clip not found: {base}")
    try:
        with av.open(str(base), metadata_errors="replace") as container:
            if not container.streams.video or not container.streams.audio:
                raise VariantBaseError(f"{base.name}: a variant base needs one video and one audio stream")
            video, audio = container.streams.video[0], container.streams.audio[0]
            vcc, acc = video.codec_context, audio.codec_context
            ends = [
                (p.pts + (p.duration or 0)) * p.time_base
                for p in container.demux(video)
                if p.pts is not None and p.time_base is not None
            ]
            rate = video.average_rate or video.guessed_rate
            problems = []
            if vcc.name != "h264" or vcc.profile != "High" or vcc.pix_fmt != "yuv420p":
                problems.append(f"video is {vcc.name} {vcc.profile} {vcc.pix_fmt}, not h264 High yuv420p")
            if (vcc.width, vcc.height) != (preset.width, preset.height):
                problems.append(f"size {vcc.width}x{vcc.height} is not the preset's {preset.width}x{preset.height}")
            if rate is None or Fraction(rate) != preset.fps:
                problems.append(f"frame rate {rate} is not the preset's {preset.fps} fps")
            if acc.name != "aac" or acc.sample_rate != preset.audio_rate:
                problems.append(f"audio is {acc.name} at {acc.sample_rate} Hz, not AAC at {preset.audio_rate} Hz")
            if video.time_base is None or video.time_base.numerator != 1:
                problems.append(f"video time base {video.time_base} is not 1/N")
            if not ends or not vcc.extradata:
                problems.append("no video packets or no H.264 parameter sets (not an MP4 made by our encoder?)")
            if problems:
                raise VariantBaseError(f"{base.name} does not match preset {preset.name}: " + "; ".join(problems))
            assert video.time_base is not None and rate is not None
            sar = vcc.sample_aspect_ratio
            return BaseFacts(
                path=base.absolute(),
                width=vcc.width,
                height=vcc.height,
                fps=Fraction(rate),
                sar=Fraction(sar) if sar else None,
                timescale=video.time_base.denominator,
                video_end=float(max(ends)),
                video_extradata=bytes(vcc.extradata or b""),
                color_primaries=int(vcc.color_primaries),
                color_trc=int(vcc.color_trc),
                colorspace=int(vcc.colorspace),
                color_range=int(vcc.color_range),
                sample_rate=acc.sample_rate,
                channels=acc.layout.nb_channels,
                layout=acc.layout.name,
                audio_extradata=bytes(acc.extradata or b""),
            )
    except av.error.FFmpegError as exc:
        raise VariantBaseError(f"{base.name} is not a readable MP4: {exc}") from exc


@dataclass(frozen=True)
class CardInput:
    """How ffmpeg reads the end card picture: an image file, or raw RGB24 of ``size`` (no PNG round trip)."""

    path: Path
    raw_size: tuple[int, int] | None = None

    def args(self, fps: Fraction) -> list[str]:
        rate = ["-framerate", f"{fps.numerator}/{fps.denominator}"]
        if self.raw_size is None:
            return [*rate, "-i", str(self.path)]
        width, height = self.raw_size
        return ["-f", "rawvideo", "-pix_fmt", "rgb24", "-video_size", f"{width}x{height}", *rate, "-i", str(self.path)]


def card_length(seconds: float, fps: Fraction) -> float:
    """The end card's real length: ``seconds`` rounded to whole frames."""
    return float(max(1, round(seconds * fps)) / fps)


def end_card_args(
    card: CardInput, out: Path, *, facts: BaseFacts, preset: Preset, seconds: float, fast: bool = True
) -> list[str]:
    """ffmpeg arguments encoding ``card`` (already ``facts``' size) into a silent ``seconds`` MP4 that
    matches the base: ``encoder_args(preset)`` plus the base's timescale, channels and colour tags.

    ``fast`` adds :data:`CARD_SPEED_PARAMS` (less search on a still picture; no stream-level change).
    """
    frames = max(1, round(seconds * facts.fps))
    exact = card_length(seconds, facts.fps)
    matrix = _COLOUR_MATRICES.get(facts.colorspace)
    convert = f"scale=out_color_matrix={matrix}:out_range={'pc' if facts.color_range == 2 else 'tv'}," if matrix else ""
    sar = facts.sar or Fraction(1)
    video_filter = (
        f"[0:v]{convert}format=yuv420p,setsar={sar.numerator}/{sar.denominator},"
        f"tpad=stop_mode=clone:stop={frames - 1}[v]"  # convert once, then clone the frame
    )
    tags = {"-color_primaries": facts.color_primaries, "-color_trc": facts.color_trc, "-colorspace": facts.colorspace}
    colour = [arg for option, value in tags.items() if value != _UNSPECIFIED for arg in (option, str(value))]
    if facts.color_range:  # 0: unspecified
        colour += ["-color_range", str(facts.color_range)]
    return [
        "-v",
        "error",
        *card.args(facts.fps),
        "-f",
        "lavfi",
        "-i",
        f"anullsrc=r={facts.sample_rate}:cl={facts.layout}:d={exact:.6f}",
        "-filter_complex",
        video_filter,
        "-map",
        "[v]",
        "-map",
        "1:a",
        *_with_speed_params(encoder_args(preset), fast),
        "-frames:v",
        str(frames),
        "-t",
        f"{exact:.6f}",
        "-video_track_timescale",
        str(facts.timescale),
        "-ac",
        str(facts.channels),
        *colour,
        "-bsf:a",
        "noise=drop=lt(pts\\,0)",  # drop the AAC priming packet: the card continues the base's audio
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        "-y",
        str(out),
    ]


def _with_speed_params(args: list[str], fast: bool) -> list[str]:
    """``args`` with :data:`CARD_SPEED_PARAMS` merged into (or added as) ``-x264-params``."""
    if not fast:
        return list(args)
    out = list(args)
    if "-x264-params" in out:
        at = out.index("-x264-params") + 1
        out[at] = f"{out[at]}:{CARD_SPEED_PARAMS}"
    else:
        out += ["-x264-params", CARD_SPEED_PARAMS]
    return out


def _concat_entry(path: Path) -> str:
    return "file '" + str(path.absolute()).replace("'", "'\\''") + "'"


def concat_list(facts: BaseFacts, card: Path) -> str:
    """The concat demuxer script: the base cut at its video end, then the card."""
    end = f"{facts.video_end:.6f}"
    return f"ffconcat version 1.0\n{_concat_entry(facts.path)}\nduration {end}\noutpoint {end}\n{_concat_entry(card)}\n"


def concat_args(list_file: Path, out: Path, *, same_parameter_sets: bool) -> list[str]:
    """ffmpeg arguments joining the concat script by stream copy, with faststart."""
    return [
        "-v",
        "error",
        "-copyts",
        "-f",
        "concat",
        "-safe",
        "0",
        "-auto_convert",
        "0" if same_parameter_sets else "1",
        "-i",
        str(list_file),
        "-map",
        "0:v:0",
        "-map",
        "0:a:0",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        "-y",
        str(out),
    ]
