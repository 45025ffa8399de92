"""Recording ingest: the one code path every upload, path registration and the demo go through.

Probe first (fast, in a short-lived child process), then move the file into storage, then write the
recording and its probe job in one transaction, then enqueue the worker's full probe. A rejected file
leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from runtime.config import Settings
from services import errors
from services.errors import InvalidRequest, InvalidValue, NotPermitted, ServiceError, TooLarge, Unavailable
from services.storage import MediaStorage, StorageError, get_storage
from store.models import Job, Recording, new_id
from store.recordings import apply_probe
from studio.errors import MediaError
from studio.hls import validate_playlist
from studio.mediainfo import MediaInfo
from studio.probe_isolated import ProbeProcessError, probe_isolated

log = logging.getLogger(__name__)

#: Sends a queued job to the workers (``workers.dispatch.enqueue_job``); the caller passes it, or nothing
#: to leave the probe job queued for the reconciler or an in-process run.
Enqueue = Callable[[Settings, str], object]

MAX_TITLE_CHARS = 300
ACCEPTED_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".flv", ".ts", ".mts", ".m2ts", ".m3u8"}


class IngestError(ServiceError):
    """An ingest request cannot be honoured; subclasses say why (``code`` is the machine reason)."""


class BadUpload(InvalidRequest, IngestError):
    """The upload request is malformed (a header, the form, a protocol step)."""


class BadField(InvalidValue, IngestError):
    """A request field (title, stream_started_at, timezone, metadata) is malformed."""

    code = "bad_field"


class InsufficientStorage(errors.InsufficientStorage, IngestError):
    """Not enough disk space for the upload."""


class UploadTooLarge(TooLarge, IngestError):
    """The upload is over ``LIVESLICE_MAX_UPLOAD_BYTES`` (or its declared length)."""


class RejectedMedia(errors.RejectedMedia, IngestError):
    """The file is not usable media; nothing was kept."""


class ProbeUnavailable(Unavailable, IngestError):
    """The probe could not run (its child process died or timed out): not the file's fault; try again."""

    code = "probe_failed"


class PathNotAllowed(NotPermitted, IngestError):
    """Registration by path is off, or the path leaves the import roots."""

    code = "path_not_allowed"


@dataclass
class IngestResult:
    recording: Recording
    job: Job
    info: MediaInfo


@dataclass(frozen=True)
class IngestFields:
    """Optional fields an uploader may send with a recording."""

    title: str | None = None
    stream_started_at: datetime | None = None
    timezone: str | None = None


def parse_ingest_fields(
    settings: Settings, *, title: str | None, stream_started_at: str | None, timezone: str | None
) -> IngestFields:
    """Validate the optional fields. A naive ``stream_started_at`` is wall clock in ``timezone``
    (default: the configured one); the result is in UTC.
    """
    title = (title or "").strip() or None
    if title is not None and len(title) > MAX_TITLE_CHARS:
        raise BadField(f"title is {len(title)} characters; at most {MAX_TITLE_CHARS} are allowed")
    timezone = (timezone or "").strip() or None
    zone: ZoneInfo | None = None
    if timezone is not None:
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise BadField(f"timezone {timezone!r} is not an IANA timezone such as 'Asia/Shanghai'") from exc
    started: datetime | None = None
    if stream_started_at and stream_started_at.strip():
        try:
            started = datetime.fromisoformat(stream_started_at.strip())
        except ValueError as exc:
            raise BadField(
                f"stream_started_at {stream_started_at!r} is not an ISO 8601 time such as '2024-05-01T20:00:00+08:00'"
            ) from exc
        if started.tzinfo is None:
            started = started.replace(tzinfo=zone or ZoneInfo(settings.timezone))
        started = started.astimezone(UTC)  # stored as UTC: SQLite keeps no offset
    return IngestFields(title=title, stream_started_at=started, timezone=timezone)


def check_upload_size(settings: Settings, size: int | None) -> None:
    """Raise :class:`UploadTooLarge` when ``size`` is over the configured limit."""
    if size is not None and size > settings.max_upload_bytes:
        raise UploadTooLarge(
            f"the upload is {_human(size)}, over the limit of {_human(settings.max_upload_bytes)} "
            "(LIVESLICE_MAX_UPLOAD_BYTES)"
        )


def check_free_space(settings: Settings, storage: MediaStorage, needed: int) -> None:
    """Raise :class:`InsufficientStorage` unless ``needed`` bytes fit with the reserve kept free."""
    free = storage.free_bytes()
    if needed + settings.min_free_bytes > free:
        raise InsufficientStorage(
            f"not enough disk space for this upload: it needs {_human(needed)}, {_human(free)} is free and "
            f"{_human(settings.min_free_bytes)} is kept in reserve (LIVESLICE_MIN_FREE_BYTES); "
            "free some space or point LIVESLICE_MEDIA_ROOT at a larger disk"
        )


def staging_path(settings: Settings, name: str) -> Path:
    """A fresh temp path under ``uploads/``, on the same disk as the store so the final move is a rename."""
    folder = settings.media_root / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{secrets.token_hex(8)}-{safe_filename(name)}.part"


def safe_filename(name: str) -> str:
    """A filename safe on every filesystem, keeping letters (CJK too), digits, dot, dash, underscore."""
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).strip("._") or "recording"
    return cleaned[:150]


def _probe_or_reject(path: Path, *, in_process: bool = False) -> MediaInfo:
    """The fast probe, by default in a child process, so a server keeps no PyAV decoder memory after an
    upload; ``in_process`` for one-shot commands, which exit anyway."""
    try:
        if in_process:
            from studio.probe import probe

            return probe(path)
        return probe_isolated(path)
    except ProbeProcessError as exc:
        log.warning("the probe of %s could not run: %s", path.name, exc)  # details stay in the log
        raise ProbeUnavailable("the file could not be probed just now (the probe did not finish); try again") from exc
    except MediaError as exc:
        raise RejectedMedia(str(exc), code=exc.code) from exc


def _new_rows(
    settings: Settings,
    *,
    info: MediaInfo,
    filename: str,
    origin: str,
    title: str | None,
    stream_started_at: datetime | None,
    timezone: str | None,
    size: int,
) -> tuple[Recording, Job]:
    recording = Recording(
        id=new_id(),
        title=(title or Path(filename).stem or "recording")[:300],
        source=origin,
        original_filename=Path(filename).name[:500],
        size_bytes=size,
        status="probing",
        stream_started_at=stream_started_at,
        timezone=timezone or settings.timezone,
    )
    apply_probe(recording, info)
    job = Job(kind="probe", recording_id=recording.id, status="queued", stage="probe")
    return recording, job


def ingest_file(
    settings: Settings,
    session: Session,
    source: Path,
    *,
    filename: str,
    origin: str,
    move: bool = True,
    title: str | None = None,
    stream_started_at: datetime | None = None,
    timezone: str | None = None,
    enqueue: Enqueue | None = None,
    in_process_probe: bool = False,
) -> IngestResult:
    """Probe ``source``, store it, record it and queue its full probe.

    With ``move=True`` the source is consumed: on success it is moved into the store, on any
    failure it is deleted. Nothing is left behind on failure: no stored file, no row. The store is the
    configured one (``LIVESLICE_STORAGE``): with S3 the file is uploaded to the bucket and stays here
    as this machine's working copy.
    """
    storage = get_storage(settings)
    stored_key: str | None = None
    try:
        info = _probe_or_reject(source, in_process=in_process_probe)
        size = source.stat().st_size
        recording, job = _new_rows(
            settings,
            info=info,
            filename=filename,
            origin=origin,
            title=title,
            stream_started_at=stream_started_at,
            timezone=timezone,
            size=size,
        )
        suffix = Path(filename).suffix.lower() if Path(filename).suffix.lower() in ACCEPTED_SUFFIXES else ""
        suffix = suffix or _suffix_for(info)
        stored_key = f"recordings/{recording.id}/source{suffix}"
        storage.import_file(stored_key, source, move=move)
        recording.storage_key = stored_key
        session.add(recording)
        session.flush()  # the job's foreign key needs the recording row first
        session.add(job)
        session.commit()
    except BaseException:
        session.rollback()
        if move:
            source.unlink(missing_ok=True)
        if stored_key is not None:
            try:
                storage.delete(stored_key)
            except StorageError as exc:  # the store is down: keep the original error
                log.warning("could not remove %s after a failed ingest: %s", stored_key, exc)
        raise
    if enqueue is not None:
        enqueue(settings, job.id)
    return IngestResult(recording=recording, job=job, info=info)


def _suffix_for(info: MediaInfo) -> str:
    names = info.container.split(",")
    for name, suffix in (("mp4", ".mp4"), ("mov", ".mp4"), ("matroska", ".mkv"), ("flv", ".flv"), ("mpegts", ".ts")):
        if name in names:
            return suffix
    return ".bin"


def resolve_import_path(settings: Settings, raw: str) -> Path:
    """Resolve ``raw`` (following symlinks) and insist it stays inside a configured import root."""
    if not settings.import_roots:
        raise PathNotAllowed(
            "registering recordings by server path is off; set LIVESLICE_IMPORT_ROOTS to the folders "
            "(comma separated) that may be imported from"
        )
    if not raw or "\x00" in raw:
        raise PathNotAllowed("the path is empty or invalid")
    candidate = Path(raw).expanduser()
    if ".." in candidate.parts:
        raise PathNotAllowed(f"the path {raw!r} contains '..'; give a path inside an import root")
    for root in settings.import_roots:
        target = candidate if candidate.is_absolute() else root / candidate
        resolved = Path(os.path.realpath(target))
        if resolved.is_relative_to(root):
            if not resolved.is_file():
                raise PathNotAllowed(f"no file at {raw!r} inside the import roots", code="not_found")
            return resolved
    log.info("register refused: %r is outside the import roots %s", raw, [str(r) for r in settings.import_roots])
    raise PathNotAllowed(f"the path {raw!r} is outside the allowed import folders once symlinks are followed")


def register_path(
    settings: Settings,
    session: Session,
    path: str,
    *,
    title: str | None = None,
    stream_started_at: datetime | None = None,
    timezone: str | None = None,
    enqueue: Enqueue | None = None,
    in_process_probe: bool = False,
) -> IngestResult:
    """Register a recording that stays where it is (a NAS folder, an HLS playlist and its segments)."""
    resolved = resolve_import_path(settings, path)
    if resolved.suffix.lower() == ".m3u8":
        try:
            segments = validate_playlist(resolved)
        except MediaError as exc:
            raise RejectedMedia(str(exc), code=exc.code) from exc
        size = sum(seg.stat().st_size for seg in segments)
    else:
        size = resolved.stat().st_size
    info = _probe_or_reject(resolved, in_process=in_process_probe)
    recording, job = _new_rows(
        settings,
        info=info,
        filename=resolved.name,
        origin="path",
        title=title,
        stream_started_at=stream_started_at,
        timezone=timezone,
        size=size,
    )
    recording.source_path = str(resolved)
    try:
        session.add(recording)
        session.flush()  # the job's foreign key needs the recording row first
        session.add(job)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    if enqueue is not None:
        enqueue(settings, job.id)
    return IngestResult(recording=recording, job=job, info=info)


NO_AUDIO_WARNING = (
    "the recording has no audio track: loudness, voice and transcript-free keyword signals are unavailable, "
    "so highlights rely on the side data (orders, chat, timeline); clips will be silent"
)


def recording_warnings(recording: Recording) -> list[str]:
    """What a user should know about an accepted recording (shown by the API, the page and the CLI)."""
    warnings: list[str] = []
    if recording.duration and recording.audio_codec is None and recording.status != "failed":
        warnings.append(NO_AUDIO_WARNING)
    return warnings


def recording_summary(recording: Recording, info: MediaInfo | None = None) -> dict[str, Any]:
    """The JSON shape of a recording in API responses; ``info`` adds the full probe facts."""
    summary: dict[str, Any] = {
        "id": recording.id,
        "title": recording.title,
        "status": recording.status,
        "error": recording.error,
        "source": recording.source,
        "original_filename": recording.original_filename,
        "size_bytes": recording.size_bytes,
        "stream_started_at": recording.stream_started_at.isoformat() if recording.stream_started_at else None,
        "timezone": recording.timezone,
        "probe": {
            "container": recording.container,
            "duration": recording.duration,
            "video_codec": recording.video_codec,
            "width": recording.width,
            "height": recording.height,
            "rotation": recording.rotation,
            "fps": recording.fps,
            "variable_frame_rate": recording.variable_frame_rate,
            "audio_codec": recording.audio_codec,
            "audio_sample_rate": recording.audio_sample_rate,
            "audio_channels": recording.audio_channels,
        },
        "warnings": recording_warnings(recording),
        "created_at": recording.created_at.isoformat() if recording.created_at else None,
        "urls": {"self": f"/api/recordings/{recording.id}", "page": f"/recordings/{recording.id}"},
    }
    details = info.to_dict() if info is not None else recording.probe
    if details:
        summary["probe_details"] = {k: v for k, v in details.items() if k != "path"}  # no server paths
    return summary


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
