"""``liveslice ingest`` and ``liveslice import``: recordings and product data in, through the API's code."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import Command, StreamStartedAtOpt, StreamStartOpt, command_group

import_app = command_group("Import product data (catalog, timeline, chat, orders, transcript).")


def ingest(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Recording file (copied into storage).")],
    title: Annotated[str | None, typer.Option(help="Title; default the file name.")] = None,
    stream_start: StreamStartOpt = None,
    stream_started_at: StreamStartedAtOpt = None,
) -> None:
    """Add a recording from a local file, through the same code the API uses."""
    from services.ingest import IngestError, ingest_file, recording_warnings
    from store.db import get_sessionmaker
    from workers.dispatch import enqueue_job

    started = _stream_start(ctx, stream_start, stream_started_at)
    settings = common.settings()
    common.ensure_db(settings)
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
            stream_started_at=started,
            enqueue=enqueue_job,
            in_process_probe=True,  # a one-shot command: no child process needed
        )
    except IngestError as exc:
        raise common.fail(str(exc), 2) from exc
    finally:
        session.close()
    rec = result.recording
    common.console.print(
        f"recording [bold]{rec.id}[/]: {rec.width}x{rec.height}, {rec.duration:.1f} s, status {rec.status}"
    )
    for warning in recording_warnings(rec):  # as the API's recording objects and the recording page say
        common.warn(f"{path.name}: {warning}")


def _stream_start(
    ctx: typer.Context, stream_start: datetime | None, stream_started_at: datetime | None
) -> datetime | None:
    return common.renamed(
        ctx, stream_start, stream_started_at, param="stream_start", new="--stream-start", old="--stream-started-at"
    )


def _import(kind: str, file: Path, recording: str | None, stream_start: datetime | None) -> None:
    from services.sidedata_import import import_side_data
    from sidedata.errors import SideDataError
    from store.db import get_sessionmaker

    settings = common.settings()
    common.ensure_db(settings)
    session = get_sessionmaker(settings.database_url)()
    try:
        report = import_side_data(
            settings,
            session,
            kind=kind,
            data=file.read_bytes(),
            filename=file.name,
            recording_id=recording,
            stream_started_at=stream_start,
        )
    except SideDataError as exc:
        raise common.fail(str(exc), 2) from exc
    finally:
        session.close()
    common.console.print(
        f"imported {report.rows} {kind} rows from {file.name}"
        + (f" ({report.duplicates} duplicates counted once)" if report.duplicates else "")
    )
    for warning in report.warnings:
        common.warn(warning)


FileArg = Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file to import.")]
RecordingOpt = Annotated[str, typer.Option("--recording", "-r", help="Recording id.")]


@import_app.command(cls=Command, name="catalog")
def import_catalog(file: FileArg) -> None:
    """Import the product catalog (CSV/TSV/XLSX); upserts by SKU."""
    _import("catalog", file, None, None)


def _register_timed_import(kind: str, doc: str) -> None:
    """``liveslice import KIND FILE -r REC [--stream-start ISO]`` for a side-data kind with timestamps."""

    def command(
        ctx: typer.Context,
        file: FileArg,
        recording: RecordingOpt,
        stream_start: StreamStartOpt = None,
        stream_started_at: StreamStartedAtOpt = None,
    ) -> None:
        _import(kind, file, recording, _stream_start(ctx, stream_start, stream_started_at))

    command.__doc__ = doc
    import_app.command(cls=Command, name=kind)(command)


for _kind, _doc in (
    ("timeline", "Import a recording's product timeline."),
    ("chat", "Import a recording's chat log (CSV/TSV/XLSX/JSONL)."),
    ("orders", "Import a recording's stream orders."),
):
    _register_timed_import(_kind, _doc)


@import_app.command(cls=Command, name="transcript")
def import_transcript(file: FileArg, recording: RecordingOpt) -> None:
    """Import a recording's transcript (SRT or WebVTT)."""
    _import("transcript", file, recording, None)
