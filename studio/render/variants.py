"""Per-leader variants: the base clip, stream-copied, plus a short end card carrying the leader's QR.

The base is rendered once. Each variant costs one end-card encode (a still image, ``seconds`` long,
encoded with the base's own flags from :func:`~studio.render.presets.encoder_args`) and one
stream-copy join through the concat demuxer, so the base's packets reach the variant bit for bit.

What makes the join exact:

- the card matches the base's size, SAR, frame rate, pixel format, colour tags, track timescale,
  H.264 profile/level (same SPS/PPS, checked; if they differ the join falls back to in-band parameter
  sets via ``-auto_convert 1``, still without re-encoding) and AAC sample rate and channel layout;
- the card's AAC priming packet is dropped (``noise`` bitstream filter), so its audio continues the
  base's audio instead of overlapping it (the card is silent, so nothing is lost);
- the base entry ends at its video end (``duration`` + ``outpoint``), so the card's first frame
  follows the base's last frame at exactly one frame interval, and ``-copyts`` keeps the base's own
  timestamps (and its audio edit list).
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import cast

import av
import av.error
from PIL import Image, ImageOps

from studio.errors import FFmpegCancelled, FFmpegError, FFmpegTimeout
from studio.ffmpeg import run_ffmpeg
from studio.render import splice
from studio.render.errors import RenderFailed, RenderPlanError
from studio.render.presets import Preset, encoder_args
from studio.render.splice import CardTemplate, SpliceRejected, TemplateCache
from studio.render.validate import validate_output

__all__ = [
    "CARD_SPEED_PARAMS",
    "MAX_PARALLEL",
    "SPLICE_CARDS",
    "BaseFacts",
    "CardInput",
    "VariantBaseError",
    "card_length",
    "concat_args",
    "concat_list",
    "end_card_args",
    "probe_base",
    "render_variant",
    "render_variants",
]

log = logging.getLogger(__name__)

MAX_PARALLEL = 2  # ffmpeg processes at once (2-core machines)
#: x264 search effort for a still end card. None of these reach the SPS/PPS (checked on every variant,
#: with a plain re-encode if they ever do); they halve the encode's CPU time. threads=1: variants run
#: in parallel, and one thread per still card wastes least.
CARD_SPEED_PARAMS = (
    "rc-lookahead=0:mbtree=0:b-adapt=0:subme=0:me=dia:trellis=0:partitions=none:aq-mode=0:psy=0:threads=1"
)
#: Splice each end card from the leader's IDR frame and a cached template's skip frames (checked per
#: variant by decoding; any failed check falls back to a full card encode). See :mod:`studio.render.splice`.
SPLICE_CARDS = True
_TEMPLATES = TemplateCache()
_UNSPECIFIED = 2  # AVCOL_PRI/TRC/SPC_UNSPECIFIED
_COLOUR_MATRICES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020"}
_SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


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


def _card_input(end_card: Image.Image | Path, size: tuple[int, int], workdir: Path) -> CardInput:
    """The card as ffmpeg input of exactly ``size``: an image file as is when it fits, else padded raw RGB."""
    if isinstance(end_card, Image.Image):
        image = end_card
    else:
        path = Path(end_card)
        if not path.is_file():
            raise RenderPlanError(f"end card image not found: {path}")
        try:
            with Image.open(path) as opened:
                if opened.size == size and opened.format in ("PNG", "JPEG") and opened.mode == "RGB":
                    return CardInput(path.absolute())
                image = opened.copy()
        except OSError as exc:
            raise RenderPlanError(f"end card {path.name} is not an image Pillow can read: {exc}") from exc
    image = image.convert("RGB")
    if image.size != size:
        corner = cast(tuple[int, ...], image.getpixel((0, 0)))
        image = ImageOps.pad(image, size, color=corner)
    raw = workdir / "card.rgb"
    raw.write_bytes(image.tobytes())
    return CardInput(raw, raw_size=size)


def _atomic_tmp(output: Path) -> Path:
    return output.with_name(f".{output.name}.{os.getpid()}-{secrets.token_hex(4)}.part")


def _run(args: list[str], *, duration: float, timeout: float | None, what: str) -> None:
    try:
        run_ffmpeg(args, duration=duration, timeout=timeout)
    except (FFmpegTimeout, FFmpegCancelled):
        raise
    except FFmpegError as exc:
        raise RenderFailed(f"variant {what} failed: {exc.args[0]}", stderr=exc.stderr, cmd=exc.cmd) from exc


def _card_parameter_sets(card: Path) -> tuple[bytes, bytes]:
    with av.open(str(card)) as container:
        return (
            bytes(container.streams.video[0].codec_context.extradata or b""),
            bytes(container.streams.audio[0].codec_context.extradata or b""),
        )


def _encode_card(
    card_input: CardInput, card: Path, *, facts: BaseFacts, preset: Preset, seconds: float, timeout: float | None
) -> bool:
    """Encode the whole card; True if its SPS/PPS equal the base's (plain flags tried if the fast ones differ)."""
    for fast in (True, False):
        _run(
            end_card_args(card_input, card, facts=facts, preset=preset, seconds=seconds, fast=fast),
            duration=seconds,
            timeout=timeout,
            what="end card encode",
        )
        video_sets, audio_config = _card_parameter_sets(card)
        if audio_config != facts.audio_extradata:
            raise VariantBaseError(
                f"{facts.path.name}: the end card's AAC config {audio_config.hex()} differs from the "
                f"base's {facts.audio_extradata.hex()}; was the base encoded with encoder_args({preset.name})?"
            )
        if video_sets == facts.video_extradata:
            return True
    return False


def _template_input(workdir: Path, size: tuple[int, int]) -> CardInput:
    """The template card's picture (a neutral still) as ffmpeg input, read like a leader's card."""
    raw = workdir / "template.rgb"
    raw.write_bytes(splice.neutral_card(size).tobytes())
    return CardInput(raw, raw_size=size)


def _build_template(
    facts: BaseFacts, preset: Preset, seconds: float, fast: bool, timeout: float | None
) -> CardTemplate | str:
    """Encode the template card exactly like a leader's; refuse it (a reason) unless it decodes as one still."""
    with tempfile.TemporaryDirectory(prefix="liveslice-template-") as tmp:
        out = Path(tmp) / "template.mp4"
        card_input = _template_input(Path(tmp), (facts.width, facts.height))
        _run(
            end_card_args(card_input, out, facts=facts, preset=preset, seconds=seconds, fast=fast),
            duration=seconds,
            timeout=timeout,
            what="template card encode",
        )
        mismatch = splice.still_mismatch(out)
        if mismatch is not None:
            return f"template card is not one still picture: {mismatch}"
        video_sets, audio_config = _card_parameter_sets(out)
        return CardTemplate(out.read_bytes(), video_sets, audio_config, fast=fast)


def _card_template(facts: BaseFacts, preset: Preset, seconds: float, timeout: float | None) -> CardTemplate | str:
    """The cached template card whose SPS/PPS and AAC config equal the base's, else why there is none."""
    reasons = []
    for fast in (True, False):
        placeholder = CardInput(Path("template"), raw_size=(facts.width, facts.height))
        args = end_card_args(placeholder, Path("template.mp4"), facts=facts, preset=preset, seconds=seconds, fast=fast)
        source = _template_input  # part of the key: another picture source is another template
        entry = _TEMPLATES.get((source, tuple(args)), partial(_build_template, facts, preset, seconds, fast, timeout))
        if isinstance(entry, str):
            reasons.append(entry)
        elif (entry.video_extradata, entry.audio_extradata) == (facts.video_extradata, facts.audio_extradata):
            return entry
        else:
            reasons.append(f"{'fast' if fast else 'plain'} template's parameter sets differ from the base's")
    return "; ".join(reasons)


def _spliced_card(
    card_input: CardInput,
    card: Path,
    workdir: Path,
    *,
    facts: BaseFacts,
    preset: Preset,
    seconds: float,
    timeout: float | None,
) -> str | None:
    """Write ``card`` as the leader's IDR + the template's skip frames, decoded and checked still.

    None on success, else why not (the caller then encodes the card in full).
    """
    if not SPLICE_CARDS:
        return "splicing is off"
    template = _card_template(facts, preset, seconds, timeout)
    if isinstance(template, str):
        return template
    idr, template_file, one_frame = workdir / "idr.mp4", workdir / "template.mp4", float(1 / facts.fps)
    _run(
        end_card_args(card_input, idr, facts=facts, preset=preset, seconds=one_frame, fast=template.fast),
        duration=one_frame,
        timeout=timeout,
        what="end card IDR encode",
    )
    template_file.write_bytes(template.data)
    try:
        splice.splice_card(idr, template_file, card, timescale=facts.timescale)
    except (SpliceRejected, av.error.FFmpegError) as exc:
        return f"splice failed: {exc}"
    return splice.still_mismatch(card)


def _render_with_facts(
    facts: BaseFacts,
    end_card: Image.Image | Path,
    output: Path,
    *,
    preset: Preset,
    seconds: float,
    timeout: float | None,
    validate: bool,
) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = _atomic_tmp(output)
    try:
        with tempfile.TemporaryDirectory(prefix="liveslice-variant-") as tmp:
            workdir = Path(tmp)
            card_input = _card_input(end_card, (facts.width, facts.height), workdir)
            card = workdir / "card.mp4"
            why_not = _spliced_card(
                card_input, card, workdir, facts=facts, preset=preset, seconds=seconds, timeout=timeout
            )
            same_sets = why_not is None
            if why_not is not None:
                log.info("%s: end card encoded in full (%s)", output.name, why_not)
                same_sets = _encode_card(card_input, card, facts=facts, preset=preset, seconds=seconds, timeout=timeout)
            if not same_sets:
                log.warning(
                    "%s: end card SPS/PPS differ from the base's; joining with in-band parameter sets", facts.path.name
                )
            list_file = workdir / "join.ffconcat"
            list_file.write_text(concat_list(facts, card), encoding="utf-8")
            total = facts.video_end + card_length(seconds, facts.fps)
            _run(
                concat_args(list_file, tmp_out, same_parameter_sets=same_sets),
                duration=total,
                timeout=timeout,
                what="join",
            )
        if validate:
            validate_output(tmp_out, preset=preset, expected_duration=total)
        os.replace(tmp_out, output)
    finally:
        tmp_out.unlink(missing_ok=True)
    return output


def _check_seconds(seconds: float) -> None:
    if not 0.5 <= seconds <= 30:
        raise RenderPlanError(f"end card length {seconds} s must be from 0.5 to 30 s")


def render_variant(
    base: Path,
    end_card: Image.Image | Path,
    output: Path,
    *,
    preset: Preset,
    seconds: float = 3.0,
    timeout: float | None = None,
    validate: bool = True,
) -> Path:
    """Write ``output``: ``base`` (stream copy) followed by ``seconds`` of ``end_card`` (PIL image or image file).

    The base must be a clip of ``preset`` (:class:`VariantBaseError` otherwise). With ``validate`` the
    result passes :func:`~studio.render.validate.validate_output` (duration = base + card) before it is
    moved into place; nothing is ever left at ``output`` on failure.
    """
    _check_seconds(seconds)
    facts = probe_base(base, preset)
    return _render_with_facts(
        facts, end_card, output, preset=preset, seconds=seconds, timeout=timeout, validate=validate
    )


def render_variants(
    base: Path,
    cards: Mapping[str, Image.Image | Path],
    out_dir: Path,
    *,
    preset: Preset,
    seconds: float = 3.0,
    timeout: float | None = None,
    validate: bool = True,
    workers: int = MAX_PARALLEL,
) -> dict[str, Path]:
    """One variant per leader: ``{leader_id: out_dir / "<base stem>.<leader_id>.mp4"}``.

    The base is probed once; at most ``workers`` (<= 2) ffmpeg processes run at a time. Leader ids
    must be file-name safe (letters, digits, ``-_.``). On the first failure the variants not yet
    started are skipped and the error is raised once running ones finish; finished variants stay.
    """
    _check_seconds(seconds)
    bad = [leader for leader in cards if not leader or not set(leader) <= _SAFE_NAME or leader.startswith(".")]
    if bad:
        raise RenderPlanError(f"leader ids must be letters, digits, '-', '_' or '.': {bad[:5]}")
    facts = probe_base(base, preset)
    out_dir = Path(out_dir)
    targets = {leader: out_dir / f"{Path(base).stem}.{leader}.mp4" for leader in cards}

    def one(leader: str) -> Path:
        return _render_with_facts(
            facts, cards[leader], targets[leader], preset=preset, seconds=seconds, timeout=timeout, validate=validate
        )

    with ThreadPoolExecutor(max_workers=max(1, min(workers, MAX_PARALLEL))) as pool:
        futures = {leader: pool.submit(one, leader) for leader in cards}
        try:
            return {leader: future.result() for leader, future in futures.items()}
        except BaseException:
            for future in futures.values():
                future.cancel()  # variants not started yet are skipped; running ones finish
            raise
