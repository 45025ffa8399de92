"""The ``liveslice`` command line."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liveslice.cli_options import (
    ChatOpt,
    MaxLenOpt,
    MinLenOpt,
    OrdersOpt,
    ProductsOpt,
    RecordingArg,
    StreamStartOpt,
    TimelineOpt,
    TranscriptOpt,
)  # fmt: skip
from liveslice.config import Settings, get_settings
from liveslice.process_cmd import process_command
from liveslice.render_cmd import render as render_command

app = typer.Typer(help="liveslice: live-stream recordings in, share-ready product clips out.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
import_app = typer.Typer(
    help="Import product data (catalog, timeline, chat, orders, transcript).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(import_app, name="import")

console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    settings = get_settings()
    settings.ensure_dirs()
    return settings


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


@app.callback()
def _main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Debug logging.")] = False) -> None:
    # one-shot commands show progress bars and results: only warnings in between (-v: everything);
    # serve and worker log at LIVESLICE_LOG_LEVEL (configure_logging)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (LIVESLICE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (LIVESLICE_PORT).")] = None,
    worker: Annotated[bool, typer.Option("--worker/--no-worker", help="Run a Celery worker beside the API.")] = True,
) -> None:
    """Run the API, the embedded broker and a worker, in one command."""
    from liveslice.runtime import RuntimeSetupError
    from liveslice.runtime import serve as run_serve

    settings = _settings()
    try:
        run_serve(settings, host=host or settings.host, port=port or settings.port, worker=worker)
    except RuntimeSetupError as exc:
        raise _fail(str(exc)) from exc


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues to consume.")] = "analysis,render,publish",
    concurrency: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    beat: Annotated[bool, typer.Option("--beat", help="Also run the reconciler periodically.")] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's task metrics for Prometheus on this port.")
    ] = None,
    metrics_addr: Annotated[str, typer.Option(help="Address for --metrics-port.")] = "0.0.0.0",
) -> None:
    """Run a Celery worker on its own (the broker must be reachable)."""
    from liveslice.runtime import RuntimeSetupError, run_worker

    settings = _settings()
    try:
        code = run_worker(
            settings,
            queues=[q.strip() for q in queues.split(",") if q.strip()],
            concurrency=concurrency or settings.worker_concurrency,
            beat=beat,
            metrics_port=metrics_port,
            metrics_addr=metrics_addr,
        )
    except RuntimeSetupError as exc:
        raise _fail(str(exc)) from exc
    if code:
        raise typer.Exit(code)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations."""
    from liveslice.doctor import mask_url
    from store.db import current_revision, upgrade

    settings = _settings()
    upgrade(settings.database_url, revision)
    console.print(f"database {mask_url(settings.database_url)} at revision {current_revision(settings.database_url)}")


@db_app.command("current")
def db_current() -> None:
    """Show the database's migration revision."""
    from store.db import current_revision, head_revision

    settings = _settings()
    console.print(f"current: {current_revision(settings.database_url)}  head: {head_revision(settings.database_url)}")


def _ensure_db(settings: Settings) -> None:
    """SQLite is upgraded on demand; other databases must be migrated explicitly."""
    from store.db import is_up_to_date, upgrade

    if settings.is_sqlite:
        upgrade(settings.database_url)
    elif not is_up_to_date(settings.database_url):
        raise _fail("the database schema is not current: run 'liveslice db upgrade'")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, content, merchant or leader.")],
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
) -> None:
    """Create an API key. Its secret is printed once."""
    from store import keys as key_store
    from store.db import session_scope

    settings = _settings()
    _ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            issued = key_store.create_key(session, name=name, role=role)
    except key_store.KeyError_ as exc:
        raise _fail(str(exc), 2) from exc
    err.print(f"created {issued.role} key {issued.id} for {issued.name!r}; the secret is shown only now:")
    print(issued.secret)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never their secrets)."""
    from store import keys as key_store
    from store.db import session_scope

    settings = _settings()
    _ensure_db(settings)
    table = Table("id", "prefix", "name", "role", "created", "revoked")
    with session_scope(settings.database_url) as session:
        for row in key_store.list_keys(session):
            revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M") if row.revoked_at else ""
            table.add_row(row.id, row.prefix, row.name, row.role, row.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id or prefix.")]) -> None:
    """Revoke an API key; requests with it get 401 from now on."""
    from store import keys as key_store
    from store.db import session_scope

    settings = _settings()
    _ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            row = key_store.revoke_key(session, key_id=key_id)
            console.print(f"revoked {row.role} key {row.id} ({row.name})")
    except key_store.KeyError_ as exc:
        raise _fail(str(exc), 2) from exc


@app.command()
def doctor() -> None:
    """Show which ffmpeg, font, database, broker and storage are in use, and fix what is missing."""
    from liveslice.doctor import run_checks

    checks = run_checks(_settings())
    for check in checks:
        mark = "[green]ok[/]" if check.ok else "[bold red]!![/]"
        console.print(f"{mark} [bold]{check.name}[/]: {check.detail}", soft_wrap=True, highlight=False)
        if check.fix:
            console.print(f"     fix: {check.fix}", soft_wrap=True, highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Recording file (copied into storage).")],
    title: Annotated[str | None, typer.Option(help="Title; default the file name.")] = None,
    stream_started_at: Annotated[
        datetime | None, typer.Option(help="When the stream started (for wall-clock side data).")
    ] = None,
) -> None:
    """Add a recording from a local file, through the same code the API uses."""
    from liveslice.ingest import IngestError, ingest_file
    from store.db import get_sessionmaker

    settings = _settings()
    _ensure_db(settings)
    session = get_sessionmaker(settings.database_url)()
    try:
        result = ingest_file(
            settings,
            session,
            path,
            filename=path.name,
            origin="cli",
            move=False,
            title=title,
            stream_started_at=stream_started_at,
        )
    except IngestError as exc:
        raise _fail(str(exc), 2) from exc
    finally:
        session.close()
    rec = result.recording
    console.print(f"recording [bold]{rec.id}[/]: {rec.width}x{rec.height}, {rec.duration:.1f} s, status {rec.status}")


def _import(kind: str, file: Path, recording: str | None, stream_started_at: datetime | None) -> None:
    from liveslice.sidedata_import import import_side_data
    from sidedata.errors import SideDataError
    from store.db import get_sessionmaker

    settings = _settings()
    _ensure_db(settings)
    session = get_sessionmaker(settings.database_url)()
    try:
        report = import_side_data(
            settings,
            session,
            kind=kind,
            data=file.read_bytes(),
            filename=file.name,
            recording_id=recording,
            stream_started_at=stream_started_at,
        )
    except SideDataError as exc:
        raise _fail(str(exc), 2) from exc
    finally:
        session.close()
    console.print(
        f"imported {report.rows} {kind} rows from {file.name}"
        + (f" ({report.duplicates} duplicates counted once)" if report.duplicates else "")
    )
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {warning}")


FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False)]
RecordingOpt = Annotated[str, typer.Option("--recording", "-r", help="Recording id.")]
StartOpt = Annotated[datetime | None, typer.Option(help="Stream start time, for wall-clock files.")]


@import_app.command("catalog")
def import_catalog(file: FileArg) -> None:
    """Import the product catalog (CSV/TSV/XLSX); upserts by SKU."""
    _import("catalog", file, None, None)


@import_app.command("timeline")
def import_timeline(file: FileArg, recording: RecordingOpt, stream_started_at: StartOpt = None) -> None:
    """Import a recording's product timeline."""
    _import("timeline", file, recording, stream_started_at)


@import_app.command("chat")
def import_chat(file: FileArg, recording: RecordingOpt, stream_started_at: StartOpt = None) -> None:
    """Import a recording's chat log (CSV/TSV/XLSX/JSONL)."""
    _import("chat", file, recording, stream_started_at)


@import_app.command("orders")
def import_orders(file: FileArg, recording: RecordingOpt, stream_started_at: StartOpt = None) -> None:
    """Import a recording's stream orders."""
    _import("orders", file, recording, stream_started_at)


@import_app.command("transcript")
def import_transcript(file: FileArg, recording: RecordingOpt) -> None:
    """Import a recording's transcript (SRT or WebVTT)."""
    _import("transcript", file, recording, None)


@app.command()
def analyze(
    recording: RecordingArg,
    products: ProductsOpt = None,
    timeline: TimelineOpt = None,
    chat: ChatOpt = None,
    orders: OrdersOpt = None,
    transcript: TranscriptOpt = None,
    stream_start: StreamStartOpt = None,
    clips: Annotated[int, typer.Option(help="How many highlights (locked ones included).")] = 10,
    preset: Annotated[str, typer.Option(help="Weights: sales, engagement or audio-only.")] = "sales",
    weights: Annotated[str | None, typer.Option(help="Custom weights, e.g. orders=0.5,chat=0.3 (0 = off).")] = None,
    min_len: MinLenOpt = 15.0,
    max_len: MaxLenOpt = 60.0,
    scenes: Annotated[bool, typer.Option("--scenes", help="Also detect scene changes (decodes the video).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document (schema in the README).")] = False,
) -> None:
    """Find the selling moments of a recording and say why each was picked."""
    import json

    from liveslice.analyze import (
        AnalyzeCommandError,
        SideFiles,
        analyze_file,
        analyze_recording,
        highlights_table,
        notes,
        parse_weights,
    )
    from studio.errors import StudioError
    from studio.highlights.run import analysis_params

    files = SideFiles(products, timeline, chat, orders, transcript)
    path = Path(recording)
    try:
        params = analysis_params(
            clips=clips, preset=preset, weights=parse_weights(weights), min_len=min_len, max_len=max_len,
            scenes=scenes,
        )  # fmt: skip
        with _analysis_progress() as on_progress:
            if path.is_file():
                document = analyze_file(
                    get_settings(), path, files, params=params, stream_start=stream_start, on_progress=on_progress
                )
            else:
                settings = _settings()
                _ensure_db(settings)
                document = analyze_recording(
                    settings, recording, files, params=params, stream_start=stream_start, on_progress=on_progress
                )
    except AnalyzeCommandError as exc:
        raise _fail(str(exc), exc.exit_code) from exc
    except StudioError as exc:  # bad parameters (AnalysisError) are caught before any work starts
        raise _fail(str(exc), 2) from exc
    if as_json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return
    where = document["recording"].get("path") or document["recording"].get("id")
    console.print(highlights_table(document["highlights"], title=f"Highlights of {where}"))
    for line in notes(document):
        console.print(line, highlight=False, soft_wrap=True)


@contextmanager
def _analysis_progress() -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar on stderr (never stdout); yields the ``on_progress(stage, fraction)`` callback."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<20}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn(),
        console=err, transient=True,
    ) as progress:  # fmt: skip
        task = progress.add_task("analyse", total=1.0)

        def update(stage: str, fraction: float) -> None:
            progress.update(task, completed=fraction, description=stage)

        yield update


app.command("render")(render_command)
app.command("process")(process_command)


@app.command()
def demo(
    out: Annotated[Path | None, typer.Option(help="Where to write the sample stream and side data.")] = None,
    duration: Annotated[float, typer.Option(min=300, help="Length of the generated stream, seconds.")] = 330.0,
) -> None:
    """Generate a sample live stream with side data and run every pipeline stage on it."""
    from liveslice.demo import run_demo

    settings = _settings()
    _ensure_db(settings)
    run_demo(settings, out=out or settings.media_root / "demo", duration=duration, console=console)


def main() -> None:
    app()
