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
from studio.render.presets import Preset
from studio.render.splice import CardTemplate, SpliceRejected, TemplateCache
from studio.render.validate import validate_output
from studio.render.variant_args import (
    CARD_SPEED_PARAMS,
    BaseFacts,
    CardInput,
    VariantBaseError,
    card_length,
    concat_args,
    concat_list,
    end_card_args,
    probe_base,
)

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
#: Splice each end card from the leader's IDR frame and a cached template's skip frames (checked per
#: variant by decoding; any failed check falls back to a full card encode). See :mod:`studio.render.splice`.
SPLICE_CARDS = True
_TEMPLATES = TemplateCache()
_SAFE_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


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
