"""``liveslice analyze``: highlights of a media file (standalone, no database) or of a stored recording.

A file is analysed in this process from side-data files parsed with :mod:`sidedata`. A recording
ID gets the given files imported first (``import_side_data``), then the worker's analyze job body
runs in this process and the highlights are stored. Both print the same JSON document.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidedata import TimeContext, parse_catalog, parse_chat, parse_orders, parse_timeline, parse_transcript
from sidedata.errors import SideDataError
from studio.highlights import AnalysisError, AnalysisInput, clock

if TYPE_CHECKING:
    from rich.table import Table

    from runtime.config import Settings

ProgressCallback = Callable[[str, float], None]
SIDE_KINDS = ("timeline", "chat", "orders", "transcript")


class AnalyzeCommandError(Exception):
    """The command cannot run as asked; ``exit_code`` 2 for bad input, 1 for a failed analysis."""

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class SideFiles:
    """The side-data files given on the command line (any may be missing)."""

    products: Path | None = None
    timeline: Path | None = None
    chat: Path | None = None
    orders: Path | None = None
    transcript: Path | None = None

    def given(self) -> dict[str, Path]:
        named = {"catalog": self.products, **{kind: getattr(self, kind) for kind in SIDE_KINDS}}
        return {kind: path for kind, path in named.items() if path is not None}


def parse_weights(text: str | None) -> dict[str, float]:
    """``"orders=0.5,chat=0.2"`` -> ``{"orders": 0.5, "chat": 0.2}``; raises :class:`AnalyzeCommandError`."""
    weights: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name.strip() or not math.isfinite(number):
            raise AnalyzeCommandError(f"--weights: expected name=number[,name=number...], got {part.strip()!r}")
        weights[name.strip()] = number
    return weights


def file_params(
    *,
    clips: int,
    preset: str,
    weights: Mapping[str, float] | None,
    min_len: float,
    max_len: float,
    scenes: bool,
) -> dict[str, Any]:
    """A file analysis's parameters (:func:`studio.highlights.run.analysis_params`), checked before any work
    starts. Raises :class:`AnalyzeCommandError` (exit 2) for an unknown preset or signal, a bad weight or lengths."""
    from studio.highlights.run import analysis_params

    try:
        return analysis_params(
            clips=clips, preset=preset, weights=weights, min_len=min_len, max_len=max_len, scenes=scenes
        )
    except AnalysisError as exc:
        raise AnalyzeCommandError(str(exc)) from exc


def analyze_file(
    settings: Settings,
    path: Path,
    files: SideFiles,
    *,
    params: Mapping[str, Any],
    stream_start: datetime | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Analyse a media file in this process and return the JSON document.

    No database, queue or renderer: only :mod:`sidedata` and :mod:`studio` (signals are cached under
    the media root, in the same place the analyze job caches them).
    """
    from studio.errors import MediaError
    from studio.highlights.run import DetectionProgress, run_detection, signal_cache_dir, signal_count
    from studio.probe import probe

    try:
        info = probe(path)
    except MediaError as exc:
        raise AnalyzeCommandError(f"{path}: {exc}") from exc
    ctx = TimeContext(stream_started_at=stream_start, timezone=settings.timezone, duration=info.duration)
    side = _parse_side_files(settings, files, ctx)
    report = DetectionProgress(on_progress, signal_count(params))
    inp = AnalysisInput(
        duration=info.duration,
        media_path=path,
        cache_dir=signal_cache_dir(settings.media_root),
        on_progress=report.detector,
        **side,
    )
    try:
        result = run_detection(inp, params)
        report("done", 1.0)
    except AnalysisError as exc:
        raise AnalyzeCommandError(str(exc)) from exc
    except MediaError as exc:
        raise AnalyzeCommandError(f"{path}: {exc}", exit_code=1) from exc
    highlights = sorted(result.highlights, key=lambda h: (h.start, h.end))
    return {
        "recording": {"path": str(path), "duration": round(info.duration, 3)},
        **result.to_dict(),
        "highlights": [h.to_dict() for h in highlights],
    }


def _parse_side_files(settings: Settings, files: SideFiles, ctx: TimeContext) -> dict[str, Any]:
    """Parse the given files into ``AnalysisInput`` fields; errors become ``file:line: field: problem``."""
    if files.timeline is not None and files.products is None:
        raise AnalyzeCommandError("--timeline needs --products: a timeline's SKUs must be in the catalog")
    side: dict[str, Any] = {}
    try:
        skus: set[str] | None = None
        if files.products is not None:
            catalog = parse_catalog(
                files.products.read_bytes(),
                files.products.name,
                image_roots=settings.import_roots,
                allowed_image_hosts=settings.allowed_image_hosts,
            )
            side["products"] = catalog.products
            skus = {p.sku for p in catalog.products}
        if files.timeline is not None:
            side["segments"] = parse_timeline(
                files.timeline.read_bytes(), files.timeline.name, known_skus=skus or set(), ctx=ctx
            ).segments
        if files.chat is not None:
            side["chat"] = parse_chat(files.chat.read_bytes(), files.chat.name, ctx=ctx).events
        if files.orders is not None:
            side["orders"] = parse_orders(files.orders.read_bytes(), files.orders.name, known_skus=skus, ctx=ctx).orders
        if files.transcript is not None:
            side["cues"] = parse_transcript(files.transcript.read_bytes(), files.transcript.name, ctx=ctx).cues
    except SideDataError as exc:
        raise AnalyzeCommandError(str(exc)) from exc
    return side


def analyze_recording(
    settings: Settings,
    recording_id: str,
    files: SideFiles,
    *,
    params: Mapping[str, Any],
    stream_start: datetime | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Import ``files`` for a stored recording, run the analyze job body here, return the JSON document."""
    from pipeline.analysis import ANALYZE_KIND, run_analyze_job
    from store.db import session_scope
    from store.models import Job, Recording

    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        if recording is None:
            raise AnalyzeCommandError(f"{recording_id!r} is neither a media file nor a recording id")
        if recording.duration is not None and params["min_len"] > recording.duration:
            raise AnalyzeCommandError(
                f"the recording ({recording.duration:.1f} s) is shorter than min_len ({params['min_len']:g} s)"
            )
    import_files(settings, recording_id, files, stream_start=stream_start)
    with session_scope(settings.database_url) as session:
        job = Job(kind=ANALYZE_KIND, recording_id=recording_id, status="queued", stage="analyze", options=dict(params))
        session.add(job)
        session.flush()
        job_id = job.id
    run_analyze_job(settings, job_id, on_progress=on_progress)
    with session_scope(settings.database_url) as session:
        finished = session.get(Job, job_id)
        if finished is None or finished.status != "succeeded":
            reason = finished.error if finished is not None else "the job disappeared"
            raise AnalyzeCommandError(f"analysis failed: {reason}", exit_code=1)
        return recording_document(session, recording_id)


def import_files(
    settings: Settings,
    recording_id: str,
    files: SideFiles,
    *,
    stream_start: datetime | None = None,
    on_imported: Callable[[str], None] | None = None,
) -> None:
    """Import the side-data files given on the command line for a stored recording (as ``liveslice import``);
    ``on_imported(kind)`` after each file."""
    from services.sidedata_import import import_side_data
    from store.db import get_sessionmaker

    for kind, path in files.given().items():
        session = get_sessionmaker(settings.database_url)()
        try:
            import_side_data(
                settings,
                session,
                kind=kind,
                data=path.read_bytes(),
                filename=path.name,
                recording_id=None if kind == "catalog" else recording_id,
                stream_started_at=stream_start if kind != "catalog" else None,
            )
        except SideDataError as exc:
            raise AnalyzeCommandError(str(exc)) from exc
        finally:
            session.close()
        if on_imported is not None:
            on_imported(kind)


def recording_document(session: Any, recording_id: str) -> dict[str, Any]:
    """The JSON document for a stored recording's latest analysis and current highlights."""
    from store.highlights import highlight_payload, latest_analysis, list_highlights
    from store.models import Recording

    recording = session.get(Recording, recording_id)
    analysis = latest_analysis(session, recording_id=recording_id)
    summary = dict(analysis.result) if analysis is not None else {}
    return {
        "recording": {"id": recording_id, "duration": recording.duration if recording is not None else None},
        **summary,
        "highlights": [highlight_payload(row) for row in list_highlights(session, recording_id=recording_id)],
    }


def highlights_table(highlights: list[dict[str, Any]], *, title: str = "Highlights") -> Table:
    """Rank, start–end (m:ss), length, SKU, score and reason of each highlight (``to_dict()`` shape)."""
    from rich.table import Table

    table = Table(title=title)
    for name, justify in (
        ("#", "right"),
        ("start–end", "left"),
        ("length", "right"),
        ("SKU", "left"),
        ("score", "right"),
        ("reason", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for h in highlights:
        rank = (str(h["rank"]) if h.get("rank") else "-") + (" 🔒" if h.get("locked") else "")
        table.add_row(
            rank,
            f"{clock(h['start'])}–{clock(h['end'])}",
            f"{h['end'] - h['start']:.0f} s",
            h.get("sku") or "",
            f"{h.get('score', 0.0):.2f}",
            h.get("reason") or "",
        )
    return table


def notes(document: Mapping[str, Any]) -> list[str]:
    """Readable lines for missing signals and warnings."""
    missing = document.get("missing") or {}
    lines = [f"missing: {name} ({note})" if note else f"missing: {name}" for name, note in missing.items()]
    lines += [f"warning: {warning}" for warning in document.get("warnings") or []]
    return lines
