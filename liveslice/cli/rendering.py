"""``liveslice render``'s work: one clip of a media file (no database) or of a stored recording.

A file is rendered in this process from the side-data files given (``--products`` for the card,
``--transcript`` for captions). A recording id gets those files imported first (as ``liveslice
import`` does), then the clip is rendered into storage and recorded (``services.clips``).
Exit 2: bad input (times, SKU, font, corrupt source region, side-data files); exit 1: a failed render.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime.config import Settings
    from store.models import Clip
    from studio.clip.produce import Leader, RenderOutcome

REFRAMES = ("auto", "blur", "crop", "subject")


class RenderCommandError(Exception):
    """The command cannot run as asked; ``exit_code`` 2 for bad input, 1 for a failed render."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def parse_time(text: str, what: str = "time") -> float:
    """``"97.5"``, ``"1:37.5"`` or ``"00:01:37.5"`` -> seconds; anything else is a RenderCommandError."""
    from sidedata.timeparse import TimeContext, parse_offset

    try:
        return parse_offset(text, TimeContext())
    except ValueError:
        raise RenderCommandError(
            f"--{what}: {text!r} is not a time; use seconds (97.5), MM:SS or HH:MM:SS[.mmm]"
        ) from None


def read_leaders(path: Path) -> list[Leader]:
    """Leaders from a CSV/TSV/XLSX file with columns ``name, share_url[, id]`` (header row required)."""
    from services.clips import InvalidClipRequest, make_leaders
    from sidedata.errors import ProblemCollector, SideDataError
    from sidedata.tables import read_table

    problems = ProblemCollector(path.name)
    try:
        table = read_table(
            path.read_bytes(), path.name, columns=("id", "name", "share_url"), required=("name",), problems=problems
        )
        problems.raise_if_any()
        leaders = make_leaders([row.values for row in table.rows])
    except (SideDataError, InvalidClipRequest) as exc:
        raise RenderCommandError(f"--leaders: {exc}") from exc
    if not leaders:
        raise RenderCommandError(f"--leaders: {path.name} lists no leaders")
    return leaders


@dataclass(frozen=True)
class RenderRequest:
    """The command line, parsed."""

    start: float
    end: float
    sku: str | None
    products: Path | None
    transcript: Path | None
    preset: str
    share_url: str | None
    out: Path | None
    mode: str
    captions: bool
    reframe: str
    leaders: tuple[Leader, ...]


def render_file(settings: Settings, path: Path, req: RenderRequest, on_progress: Callable[[str, float], None]) -> dict:
    """Render a window of a media file in this process and return the manifest document."""
    from services.clips import render_file_clip
    from sidedata import TimeContext, parse_catalog, parse_transcript
    from sidedata.errors import SideDataError

    products = cues = None
    try:
        if req.products is not None:
            roots = [*settings.import_roots, req.products.resolve().parent]
            products = parse_catalog(
                req.products.read_bytes(),
                req.products.name,
                image_roots=roots,
                allowed_image_hosts=settings.allowed_image_hosts,
            ).products
        if req.transcript is not None:
            cues = parse_transcript(req.transcript.read_bytes(), req.transcript.name, ctx=TimeContext()).cues
    except SideDataError as exc:
        raise RenderCommandError(str(exc)) from exc
    if req.sku is not None and products is None:
        raise RenderCommandError(f"--sku {req.sku} needs --products: the catalog to find the product in")
    out = req.out or Path.cwd() / f"{path.stem}.{_stamp(req.start)}-{_stamp(req.end)}.{req.preset}.mp4"
    outcome = render_file_clip(
        path,
        start=req.start,
        end=req.end,
        out=out,
        products=products,
        sku=req.sku,
        cues=cues or (),
        preset=req.preset,
        share_url=req.share_url,
        mode=req.mode,
        captions=req.captions,
        reframe=req.reframe,
        leaders=req.leaders,
        font=settings.font,
        on_progress=on_progress,
    )
    return outcome_document(outcome, recording={"path": str(path)})


def _stamp(seconds: float) -> str:
    return f"{int(seconds // 60):02d}m{seconds % 60:04.1f}s".replace(".", "_")


def render_stored(
    settings: Settings, recording_id: str, req: RenderRequest, on_progress: Callable[[str, float], None]
) -> dict:
    """Import the given files for a stored recording, render its clip here, return the manifest document."""
    from services.clips import render_recording_clip
    from services.sidedata_import import import_side_data
    from sidedata.errors import SideDataError
    from store.db import get_sessionmaker
    from store.models import Recording

    session = get_sessionmaker(settings.database_url)()
    try:
        if session.get(Recording, recording_id) is None:
            raise RenderCommandError(f"{recording_id!r} is neither a media file nor a recording id")
        for kind, file in (("catalog", req.products), ("transcript", req.transcript)):
            if file is not None:
                try:
                    import_side_data(
                        settings,
                        session,
                        kind=kind,
                        data=file.read_bytes(),
                        filename=file.name,
                        recording_id=None if kind == "catalog" else recording_id,
                    )
                except SideDataError as exc:
                    raise RenderCommandError(str(exc)) from exc
        clip = render_recording_clip(
            settings,
            session,
            recording_id=recording_id,
            start=req.start,
            end=req.end,
            sku=req.sku,
            preset=req.preset,
            share_url=req.share_url,
            mode=req.mode,
            captions=req.captions,
            reframe=req.reframe,
            leaders=req.leaders,
            on_progress=on_progress,
        )
        document = clip_document(settings, clip)
    finally:
        session.close()
    if req.out is not None:
        document["files"] = copy_files(document["files"], req.out)
    return document


def outcome_document(outcome: RenderOutcome, *, recording: dict[str, Any], clip_id: str | None = None) -> dict:
    """The ``--json`` manifest of one clip (``start``/``end`` are the actual cut points)."""
    return {
        "clip_id": clip_id,
        "recording": recording,
        "preset": outcome.preset,
        "mode": outcome.mode,
        "start": outcome.actual_start,
        "end": outcome.actual_end,
        "requested": {"start": outcome.start, "end": outcome.end},
        "duration": round(outcome.duration, 3),
        "sku": outcome.product.sku if outcome.product else None,
        "product": outcome.product.snapshot() if outcome.product else None,
        "share_url": outcome.share_url,
        "corner_qr": outcome.corner_qr,
        "files": outcome.files(),
        "warnings": list(outcome.warnings),
    }


def clip_document(settings: Settings, clip: Clip) -> dict:
    """The ``--json`` manifest of a stored clip; files are local paths under the media root
    (with S3 storage: this machine's working copies, downloaded if need be)."""
    from services.storage import local_copy
    from store.clips import clip_files

    def path(key: str | None) -> str | None:
        return str(local_copy(settings, key)) if key else None

    return {
        "clip_id": clip.id,
        "recording": {"id": clip.recording_id},
        "preset": clip.preset,
        "mode": clip.mode,
        "start": clip.actual_start if clip.actual_start is not None else clip.start,
        "end": clip.actual_end if clip.actual_end is not None else clip.end,
        "requested": {"start": clip.start, "end": clip.end},
        "duration": clip.duration,
        "sku": clip.sku,
        "product": clip.product,
        "share_url": clip.share_url or (clip.product or {}).get("buy_url"),
        "corner_qr": _corner_qr(clip),
        "files": clip_files(clip, path),
        "warnings": [],
    }


def _corner_qr(clip: Clip) -> bool:
    """Whether the clip carries a QR burned into a corner (a single-link clip on a preset allowing it)."""
    from studio.render import get_preset

    single_link = bool(clip.share_url) and not (clip.options or {}).get("leaders") and clip.mode == "accurate"
    return single_link and get_preset(clip.preset).qr_policy == "corner"


def copy_files(files: dict[str, Any], out: Path) -> dict[str, Any]:
    """Copy a stored clip's files next to ``out`` (named as a file render names them); the new paths."""
    from services.storage import atomic_write

    def copy(src: str | None, dst: Path) -> str | None:
        if not src:
            return None
        with atomic_write(dst) as handle, open(src, "rb") as source:
            shutil.copyfileobj(source, handle, 1024 * 1024)
        return str(dst)

    stem = out.with_suffix("")
    copied: dict[str, Any] = {
        "video": copy(files["video"], out),
        "cover": copy(files["cover"], out.with_name(f"{stem.name}.cover.jpg")),
        "poster": copy(files["poster"], out.with_name(f"{stem.name}.poster.png")),
        "variants": {},
    }
    for leader_id, v in files["variants"].items():
        copied["variants"][leader_id] = {
            **v,
            "video": copy(v["video"], out.with_name(f"{stem.name}.{leader_id}.mp4")),
            "poster": copy(v["poster"], out.with_name(f"{stem.name}.poster.{leader_id}.png")),
        }
    return copied


def print_summary(console: Any, document: dict[str, Any]) -> None:
    """Where the files are, and any warnings."""
    from rich.markup import escape

    files = document["files"]
    head = f"clip {document['clip_id']} " if document.get("clip_id") else ""
    console.print(
        f"{head}{document['preset']} {document['mode']} {document['start']:.3f}–{document['end']:.3f} s"
        + (f", {document['sku']}" if document.get("sku") else ""),
        highlight=False,
    )
    for name in ("video", "cover", "poster"):
        if files.get(name):
            console.print(f"  {name:<7} {escape(files[name])}", highlight=False, soft_wrap=True)
    for leader_id, v in files["variants"].items():
        console.print(
            f"  variant {escape(v['leader'])} ({leader_id}): {escape(v['video'])}", highlight=False, soft_wrap=True
        )
    for warning in document.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False, soft_wrap=True)
