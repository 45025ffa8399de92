"""``liveslice demo``'s work: a generated sample live stream, run through every pipeline stage that exists.

Stages: sample stream, ingest, product data, then one processing job as ``liveslice process`` runs
it (probe, signals, highlights, a Douyin clip of each with two leaders' variants, covers and
posters, manifest), then publishing: each clip approved and sent to each leader's group on a local
WeCom or Feishu stand-in (:mod:`liveslice.cli.demo_publish`).

It goes through the same code as the API: ``ingest_file`` for the recording, ``import_side_data``
for the product data, and the pipeline's stage bodies (the Celery tasks' bodies) in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from liveslice.cli.analysis import SideFiles, highlights_table, import_files, notes, recording_document
from liveslice.cli.common import public_url_warning
from liveslice.cli.demo_publish import DemoPublication, publish_demo
from liveslice.cli.demo_sales_run import DemoSales, simulate_demo_sales
from runtime.config import Settings
from services.ingest import ingest_file
from services.sample_data import SamplePlan, make_plan, write_side_data
from store.db import get_sessionmaker, session_scope
from store.models import Job, Recording
from store.sidedata import side_data_counts
from studio.ffmpeg import Progress as FFmpegProgress
from studio.fonts import find_cjk_font
from studio.highlights import clock
from studio.synth import render_sample_stream

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
    publications: list[DemoPublication] = field(default_factory=list)
    sales: DemoSales | None = None


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
                in_process_probe=True,
            )
        finally:
            session.close()
        recording_id = result.recording.id
        progress.update(task, completed=1.0)

        given = SideFiles(files.catalog, files.timeline, files.chat, files.orders, files.transcript)
        side = given.given()  # kind -> path, for the summary
        task = progress.add_task("import product data", total=len(side))
        import_files(settings, recording_id, given, on_imported=lambda _kind: progress.advance(task))

        from pipeline.probing import run_probe_job

        run_probe_job(settings, recording_id, job_id=result.job.id)  # the upload's own probe job, here
        task = progress.add_task("process (pipeline job)", total=1.0)
        render_started = time.monotonic()
        job_id, clips = _process(
            settings,
            recording_id,
            plan,
            out,
            lambda f, label: progress.update(task, completed=f, description=f"process: {label}"[:28]),
        )
        progress.update(task, completed=1.0)
        render_seconds = time.monotonic() - render_started

    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, recording_id)
        assert recording is not None
        counts = side_data_counts(session, recording_id)
        _print_summary(console, settings, recording, stream, side, counts)
        document = recording_document(session, recording_id)
        job = session.get(Job, job_id)
        if job is not None and job.status != "succeeded":
            console.print(f"[bold red]processing job {job.status}:[/] {job.error}", highlight=False)
    console.print(highlights_table(document["highlights"], title="Highlights (liveslice analyze)"))
    for line in notes(document):
        console.print(line, highlight=False, soft_wrap=True)
    _print_clips(console, settings, clips, render_seconds)
    published = publish_demo(settings, [doc["clip_id"] for doc in clips], dict(DEMO_LEADERS), console=console)
    sales = simulate_demo_sales(settings, [doc["clip_id"] for doc in clips], dict(DEMO_LEADERS), console=console)
    for line in next_steps(settings, recording_id):
        console.print(line, highlight=False, soft_wrap=True)
    return DemoResult(
        recording_id,
        stream,
        side,
        counts,
        time.monotonic() - started,
        document["highlights"],
        clips,
        render_seconds,
        published,
        sales,
    )


def _process(
    settings: Settings, recording_id: str, plan: SamplePlan, out: Path, on_update: Callable[[float, str], None]
) -> tuple[str, list[dict[str, Any]]]:
    """One processing job, as ``liveslice process`` runs it (probe, signals, highlights, a Douyin clip of
    each with two leaders' variants, covers and posters, manifest); returns its id and manifest clips."""
    from liveslice.cli.processing import export, run_with_progress, start_process
    from pipeline.clipmaking import pipeline_options

    min_len = min(15.0, plan.duration / 4)
    max_len = max(min_len, min(60.0, plan.duration / 3))
    leaders = [{"id": leader_id, "name": name} for leader_id, name in DEMO_LEADERS]
    options = pipeline_options(
        clips=len(plan.segments), presets=["douyin"], min_len=min_len, max_len=max_len, leaders=leaders
    )
    job_id = start_process(settings, recording_id, SideFiles(), options, stream_start=None)

    def follow(view: dict[str, Any]) -> None:
        on_update(view["progress"], str(view["stage"]))

    run_with_progress(settings, job_id, concurrency=2, on_update=follow)
    manifest = export(settings, job_id, out / "clips")
    return job_id, list(manifest["clips"])


def _print_clips(console: Console, settings: Settings, clips: list[dict[str, Any]], seconds: float) -> None:
    if not clips:
        return
    table = Table(title=f"Clips (processing job: render, variants, covers) — {seconds:.0f} s")
    for name in ("clip", "preset", "start–end", "SKU", "files"):
        table.add_column(name)
    for doc in clips:
        files = doc["files"]
        names = [Path(files[k]).name for k in ("video", "cover", "poster") if files.get(k)]
        names += [Path(v["video"]).name for v in files["variants"].values() if v.get("video")]
        table.add_row(
            doc["clip_id"][:8],
            doc["preset"],
            f"{clock(doc['start'])}–{clock(doc['end'])}",
            doc.get("sku") or "",
            ", ".join(names),
        )
    console.print(table)
    folder = Path(clips[0]["files"]["video"]).parent if clips[0]["files"].get("video") else settings.media_root
    console.print(f"clips and manifest.json are in {folder} — and in the gallery at {settings.public_base_url}/clips")


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


def next_steps(settings: Settings, recording_id: str) -> list[str]:
    """What to do after the demo (rich markup), and why shared QR codes will not open elsewhere, if so."""
    base = settings.public_base_url
    lines = [
        "next: [bold]liveslice serve[/], then open "
        f"{base}/recordings/{recording_id} (log in with a key from "
        "'liveslice keys create --role admin --name me'); the sales are on "
        f"{base}/dashboard, what went out on {base}/publications, and a leader's own view on {base}/portal "
        "('liveslice keys create --role leader --leader wang --name phone')"
    ]
    warning = public_url_warning(settings.public_base_url)
    if warning:
        lines.append(f"[yellow]warning:[/] {escape(warning)}")
    return lines
