"""``liveslice demo``: a generated sample live stream, run through every pipeline stage that exists.

Stages: sample stream, ingest, product data, probe, analyze, then render the highlights as clips
(Douyin with two leaders' variants, and one Kuaishou clip with a corner QR code).

It goes through the same code as the API: ``ingest_file`` for the recording, ``import_side_data``
for the product data, and the worker's job bodies run in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table
from sqlalchemy import select

from liveslice.analyze import highlights_table, notes, recording_document
from liveslice.config import Settings
from liveslice.ingest import ingest_file
from liveslice.sample_data import SamplePlan, make_plan, write_side_data
from liveslice.sidedata_import import import_side_data
from store.db import get_sessionmaker, session_scope
from store.models import Job, Product, Recording
from store.sidedata import side_data_counts
from studio.ffmpeg import Progress as FFmpegProgress
from studio.fonts import find_cjk_font
from studio.highlights import clock
from studio.synth import render_sample_stream

DEMO_CLIPS = 5  # highlights rendered (all of them when there are no more)
DEMO_LEADERS = (("wang", "小王团长"), ("lily", "Lily"))


@dataclass
class DemoResult:
    """What the demo made."""

    recording_id: str
    stream: Path
    side_data: dict[str, Path]
    counts: dict[str, int]
    seconds: float
    highlights: list[dict[str, Any]] = field(default_factory=list)
    clips: list[dict[str, Any]] = field(default_factory=list)  # clip_document() of each rendered clip
    render_seconds: float = 0.0


def _stream_path(out: Path, plan: SamplePlan) -> Path:
    return out / f"sample-live-{int(plan.duration)}s-seed{plan.seed}.mp4"


def run_demo(settings: Settings, *, out: Path, duration: float = 330.0, console: Console | None = None) -> DemoResult:
    """Generate the sample stream and side data, ingest them and run the pipeline; print a summary."""
    console = console or Console()
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    plan = make_plan(duration=duration, products=max(1, min(5, int(duration // 60))))
    font = find_cjk_font(settings.font)
    console.print(
        f"[bold]liveslice demo[/] — sample stream {duration:.0f} s, {len(plan.products)} products, font {font.family}"
    )

    files = write_side_data(plan, out)
    stream = _stream_path(out, plan)
    with _progress(console) as progress:
        task = progress.add_task("generate sample stream", total=1.0)
        if stream.exists():
            progress.update(task, completed=1.0, description="sample stream (cached)")
        else:

            def on_progress(p: FFmpegProgress) -> None:
                progress.update(task, completed=p.fraction or 0.0)

            render_sample_stream(plan, stream, font=font.path, on_progress=on_progress)
            progress.update(task, completed=1.0)

        task = progress.add_task("ingest recording", total=1.0)
        session = get_sessionmaker(settings.database_url)()
        try:
            result = ingest_file(
                settings,
                session,
                stream,
                filename=stream.name,
                origin="demo",
                move=False,
                title="Demo live stream 直播回放",
                enqueue=False,
            )
        finally:
            session.close()
        recording_id = result.recording.id
        progress.update(task, completed=1.0)

        side = {
            "catalog": files.catalog, "timeline": files.timeline, "chat": files.chat,
            "orders": files.orders, "transcript": files.transcript,
        }  # fmt: skip
        task = progress.add_task("import product data", total=len(side))
        for kind, path in side.items():
            session = get_sessionmaker(settings.database_url)()
            try:
                import_side_data(
                    settings,
                    session,
                    kind=kind,
                    data=path.read_bytes(),
                    filename=path.name,
                    recording_id=None if kind == "catalog" else recording_id,
                )
            finally:
                session.close()
            progress.advance(task)

        task = progress.add_task("probe (worker job)", total=1.0)
        from workers.probe import run_probe_job

        run_probe_job(settings, recording_id, job_id=result.job.id)
        progress.update(task, completed=1.0)

        task = progress.add_task("analyze (worker job)", total=1.0)
        analysis_job = _analyze(settings, recording_id, plan, lambda _s, f: progress.update(task, completed=f))
        progress.update(task, completed=1.0)

        render_started = time.monotonic()
        clips = _render_clips(settings, recording_id, progress)
        render_seconds = time.monotonic() - render_started

    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None
        counts = side_data_counts(session, recording_id)
        _print_summary(console, settings, recording, stream, side, counts)
        document = recording_document(session, recording_id)
        job = session.get(Job, analysis_job)
        if job is not None and job.status != "succeeded":
            console.print(f"[bold red]analysis {job.status}:[/] {job.error}", highlight=False)
    console.print(highlights_table(document["highlights"], title="Highlights (liveslice analyze)"))
    for line in notes(document):
        console.print(line, highlight=False, soft_wrap=True)
    _print_clips(console, settings, clips, render_seconds)
    return DemoResult(recording_id, stream, side, counts, time.monotonic() - started, document["highlights"], clips,
                      render_seconds)  # fmt: skip


def _render_clips(settings: Settings, recording_id: str, progress: Progress) -> list[dict[str, Any]]:
    """Render the best highlights (all of them up to five) for Douyin with two leaders' variants, and the
    best one again for Kuaishou with a corner QR; returns each clip's manifest document."""
    from liveslice.clips import render_recording_clip
    from liveslice.render_cmd import clip_document
    from store.highlights import list_highlights

    with session_scope(settings.database_url) as session:
        rows = sorted(list_highlights(session, recording_id=recording_id), key=lambda h: (h.rank or 999, h.start))
        picked = [(h.id, h.start, h.end, h.sku) for h in rows[:DEMO_CLIPS]]
        buy_urls = {p.sku: p.buy_url for p in session.scalars(select(Product))}
    jobs: list[tuple[str, float, float, str, str | None, list[dict[str, Any]]]]
    jobs = [(hid, a, b, "douyin", None, _demo_leaders(buy_urls.get(sku or ""))) for hid, a, b, sku in picked]
    if picked:
        hid, start, end, _sku = picked[0]
        jobs.append((hid, start, end, "kuaishou", None, []))  # a corner QR: the clip's share link
    documents = []
    task = progress.add_task("render clips", total=max(1, len(jobs)))
    session = get_sessionmaker(settings.database_url)()
    try:
        for index, (hid, start, end, preset, share_url, leaders) in enumerate(jobs):

            def on_progress(stage: str, fraction: float, index: int = index) -> None:
                progress.update(task, completed=index + fraction)

            clip = render_recording_clip(
                settings, session, recording_id=recording_id, start=start, end=end, highlight_id=hid, preset=preset,
                share_url=share_url, leaders=leaders, on_progress=on_progress,
            )  # fmt: skip
            documents.append(clip_document(settings, clip))
            progress.update(task, completed=index + 1)
    finally:
        session.close()
    return documents


def _demo_leaders(buy_url: str | None) -> list[dict[str, Any]]:
    """Two community leaders when the product can be bought online; each gets their own share link
    ``/s/{code}`` (made by the render) that redirects to the product page."""
    if not buy_url:
        return []
    return [{"id": leader_id, "name": name} for leader_id, name in DEMO_LEADERS]


def _print_clips(console: Console, settings: Settings, clips: list[dict[str, Any]], seconds: float) -> None:
    if not clips:
        return
    table = Table(title=f"Clips (liveslice render) — rendered in {seconds:.0f} s")
    for name in ("clip", "preset", "start–end", "SKU", "files"):
        table.add_column(name)
    for doc in clips:
        files = doc["files"]
        names = [Path(files[k]).name for k in ("video", "cover", "poster") if files.get(k)]
        names += [Path(v["video"]).name for v in files["variants"].values()]
        qr = " (corner QR)" if doc.get("corner_qr") else ""
        table.add_row(doc["clip_id"][:8], doc["preset"] + qr, f"{clock(doc['start'])}–{clock(doc['end'])}",
                      doc.get("sku") or "", ", ".join(names))  # fmt: skip
    console.print(table)
    folder = settings.media_root / "clips"
    console.print(f"clips are in {folder}/<clip id>/ — and in the gallery at {settings.public_base_url}/clips")


def _analyze(settings: Settings, recording_id: str, plan: SamplePlan, on_progress: Callable[[str, float], None]) -> str:
    """Run the worker's analyze job body here: one clip per product, lengths that fit; returns the job id."""
    from workers.analyze import ANALYZE_KIND, analysis_params, run_analyze_job

    min_len = min(15.0, plan.duration / 4)
    max_len = max(min_len, min(60.0, plan.duration / 3))
    params = analysis_params(clips=len(plan.segments), min_len=min_len, max_len=max_len)
    with session_scope(settings.database_url) as session:
        job = Job(kind=ANALYZE_KIND, recording_id=recording_id, status="queued", stage="analyze", options=params)
        session.add(job)
        session.flush()
        job_id = job.id
    run_analyze_job(settings, job_id, on_progress=on_progress)
    return job_id


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def _print_summary(
    console: Console,
    settings: Settings,
    recording: Recording,
    stream: Path,
    side: dict[str, Path],
    counts: dict[str, int],
) -> None:
    table = Table(title="Demo recording", show_header=False)
    table.add_row("id", recording.id)
    table.add_row("status", recording.status + (f" ({recording.error})" if recording.error else ""))
    table.add_row(
        "video",
        f"{recording.width}x{recording.height} {recording.video_codec}, "
        f"{recording.fps or 0:.0f} fps, {recording.duration or 0:.1f} s",
    )
    table.add_row("audio", f"{recording.audio_codec} {recording.audio_sample_rate} Hz x{recording.audio_channels}")
    table.add_row("stored at", str(settings.media_root / (recording.storage_key or "")))
    table.add_row("product data", ", ".join(f"{n} {k}" for k, n in counts.items()))
    console.print(table)
    console.print(f"sample stream: {stream}")
    console.print("side data:     " + ", ".join(str(p) for p in side.values()))
    console.print(
        "next: [bold]liveslice serve[/], then open "
        f"{settings.public_base_url}/recordings/{recording.id} (log in with a key from "
        "'liveslice keys create --role admin --name me')"
    )
