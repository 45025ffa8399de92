"""``liveslice process``'s work: one recording to share-ready clips in one command, with no server.

The recording (a media file, registered where it lies, or a stored recording's id) and its side
data go into the local database; a processing job is made exactly as the API makes one, and its
stages run here through the same bodies the Celery workers run (:mod:`pipeline.local`). The clips'
files are copied to ``--out`` beside ``manifest.json`` (the contract documented in the README).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

from liveslice.cli.analysis import AnalyzeCommandError, SideFiles, import_files
from liveslice.cli.common import err, warn
from pipeline.advance import create_pipeline
from pipeline.local import run_pipeline
from pipeline.manifest import pipeline_manifest
from pipeline.status import job_view
from runtime.config import Settings
from services.storage import atomic_write, local_copy
from store.db import get_sessionmaker, session_scope
from store.models import Clip, Job, Recording


class ProcessCommandError(AnalyzeCommandError):
    """Bad input (exit 2) or a failed job (exit 1)."""


def resolve_recording(settings: Settings, recording: str, *, stream_start: datetime | None = None) -> str:
    """A stored recording's id: the id given, or a media file registered where it lies (once per file)."""
    from services.ingest import IngestError, recording_warnings, register_path

    path = Path(recording).expanduser()
    if not path.is_file():
        with session_scope(settings.database_url) as session:
            if session.get(Recording, recording) is None:
                raise ProcessCommandError(f"{recording!r} is neither a media file nor a recording id")
        return recording
    resolved = path.resolve()
    with session_scope(settings.database_url) as session:
        for row in session.query(Recording).filter(Recording.source_path == str(resolved)):
            if row.size_bytes == resolved.stat().st_size and row.status == "ready":
                return row.id
    local = settings.model_copy(update={"import_roots": [*settings.import_roots, resolved.parent]})
    session = get_sessionmaker(settings.database_url)()
    try:
        result = register_path(
            local, session, str(resolved), title=resolved.stem, stream_started_at=stream_start, in_process_probe=True
        )
    except IngestError as exc:
        raise ProcessCommandError(f"{resolved.name}: {exc}") from exc
    finally:
        session.close()
    for warning in recording_warnings(result.recording):
        warn(f"{resolved.name}: {warning}")
    from pipeline.probing import run_probe_job

    run_probe_job(settings, result.recording.id, job_id=result.job.id)  # registration's probe, here: no broker
    return result.recording.id


def start_process(
    settings: Settings, recording_id: str, files: SideFiles, options: dict[str, Any], *, stream_start: datetime | None
) -> str:
    """Import the side data and make (or find, when the same job is active) the processing job."""
    import_files(settings, recording_id, files, stream_start=stream_start)
    with session_scope(settings.database_url) as session:
        job, _created = create_pipeline(session, kind="process", recording_id=recording_id, options=options)
        return job.id


def run_with_progress(
    settings: Settings,
    job_id: str,
    *,
    concurrency: int,
    on_update: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run the job here while a progress bar on stderr (or ``on_update``) follows its rows; the final view."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def work() -> None:
        try:
            run_pipeline(settings, job_id, concurrency=concurrency, stop=stop)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    thread = threading.Thread(target=work, name="pipeline", daemon=True)
    thread.start()
    columns = (TextColumn("{task.description:<24}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=on_update is not None) as bar:
        task = bar.add_task("process", total=1.0)

        def show(view: dict[str, Any]) -> None:
            ready = sum(1 for c in view.get("clips", []) if c["status"] == "ready")
            label = f"{view['stage']} ({ready}/{len(view['clips'])} clips)" if view.get("clips") else str(view["stage"])
            bar.update(task, completed=view["progress"], description=label)

        update = on_update or show
        try:
            while thread.is_alive():
                thread.join(timeout=0.5)
                update(_view(settings, job_id))
        except KeyboardInterrupt:
            stop.set()
            from pipeline.advance import request_cancel

            request_cancel(settings, job_id)
            thread.join()
            raise
    if errors:
        raise errors[0]
    return _view(settings, job_id)


def _view(settings: Settings, job_id: str) -> dict[str, Any]:
    with session_scope(settings.database_url) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job_view(session, job)


def export(settings: Settings, job_id: str, out: Path) -> dict[str, Any]:
    """Copy every clip file of the job into ``out`` and write ``out/manifest.json``; returns the manifest.

    Files are named ``<nn>-<preset>-<clip id>.mp4`` (``.cover.jpg``, ``.poster.png``, ``.<leader>.mp4``,
    ``.poster.<leader>.png``); the manifest names them by absolute path.
    """
    out.mkdir(parents=True, exist_ok=True)
    order: dict[str, int] = {}

    def ref(clip: Clip, key: str | None) -> str | None:
        if not key:
            return None
        number = order.setdefault(clip.id, len(order) + 1)
        stem = f"{number:02d}-{clip.preset}-{clip.id[:8]}"
        name = key.rsplit("/", 1)[-1]
        suffix = {"clip.mp4": ".mp4", "cover.jpg": ".cover.jpg", "poster.png": ".poster.png"}.get(name)
        if suffix is None:  # clip.<leader>.mp4 / poster.<leader>.png
            suffix = name[len("clip") :] if name.startswith("clip.") else "." + name
        target = (out / f"{stem}{suffix}").resolve()
        with atomic_write(target) as handle, local_copy(settings, key).open("rb") as source:
            shutil.copyfileobj(source, handle, 1024 * 1024)
        return str(target)

    manifest = pipeline_manifest(settings, job_id, file_ref=ref)
    manifest["out"] = str(out.resolve())
    with atomic_write(out / "manifest.json") as handle:
        handle.write(json.dumps(manifest, ensure_ascii=False, indent=2, default=str).encode())
    return manifest


def process(
    settings: Settings,
    recording: str,
    files: SideFiles,
    options: dict[str, Any],
    *,
    out: Path | None,
    stream_start: datetime | None = None,
    concurrency: int = 2,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole command: returns (job view with the run's ``seconds``, manifest)."""
    started = time.monotonic()
    recording_id = resolve_recording(settings, recording, stream_start=stream_start)
    job_id = start_process(settings, recording_id, files, options, stream_start=stream_start)
    view = run_with_progress(settings, job_id, concurrency=concurrency)
    folder = out if out is not None else settings.media_root / "exports" / job_id
    manifest = export(settings, job_id, folder)
    view["seconds"] = round(time.monotonic() - started, 2)
    return view, manifest


def summary_rows(manifest: dict[str, Any]) -> Sequence[tuple[str, ...]]:
    rows = []
    for clip in manifest["clips"]:
        files = clip["files"]
        count = sum(1 for k in ("video", "cover", "poster") if files.get(k)) + 2 * len(files["variants"])
        rows.append(
            (
                clip["clip_id"][:8],
                clip["preset"],
                f"{clip['start']:.1f}–{clip['end']:.1f}",
                clip["sku"] or "",
                f"{clip['score'] or 0:.2f}",
                clip["status"],
                str(count),
                clip["reason"][:60],
            )
        )
    return rows
