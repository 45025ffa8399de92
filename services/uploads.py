"""State of resumable (tus 1.0.0) uploads: rows, ``.part`` files, locks, finishing and expiry.

An upload is a row in ``uploads`` plus its bytes in ``media/uploads/<id>.part``. The size of the
``.part`` file is the truth: bytes flushed before a dropped connection count, and the row's
``offset`` is fixed up from the file whenever the two disagree. One writer at a time per upload,
enforced with ``flock`` on ``<id>.lock``, so it also holds across server processes.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.ingest import Enqueue, IngestResult, RejectedMedia, ingest_file, parse_ingest_fields
from services.tus_protocol import (
    CHECKSUMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    BodyIncomplete,
    ChecksumMismatch,
    IngestFailed,
    OffsetMismatch,
    TusError,
    TusProtocolError,
    UploadGone,
    UploadLocked,
    UploadNotFound,
    parse_checksum,
    parse_metadata,
)
from store.models import ApiKey, Upload

__all__ = [
    "CHECKSUMS",
    "TUS_EXTENSIONS",
    "TUS_VERSION",
    "BodyIncomplete",
    "ChecksumMismatch",
    "IngestFailed",
    "OffsetMismatch",
    "TusError",
    "TusProtocolError",
    "UploadGone",
    "UploadLocked",
    "UploadNotFound",
    "finalize_upload",
    "parse_checksum",
    "parse_metadata",
    "purge_expired_uploads",
]


def part_path(settings: Settings, upload_id: str) -> Path:
    return settings.media_root / "uploads" / f"{upload_id}.part"


def lock_path(settings: Settings, upload_id: str) -> Path:
    """Exists exactly while the upload is unfinished; ``flock`` on it serialises requests."""
    return settings.media_root / "uploads" / f"{upload_id}.lock"


def expires_header(upload: Upload) -> str:
    """``Upload-Expires`` in the RFC 9110 date format."""
    return format_datetime(aware(upload.expires_at), usegmt=True)


def aware(value: datetime) -> datetime:
    """In UTC: SQLite hands back naive datetimes (stored as UTC), PostgreSQL ones in its session zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


def create_upload(
    settings: Settings, session: Session, *, length: int | None, metadata: dict[str, str], api_key_id: str | None
) -> Upload:
    """Insert the row and create the empty ``.part`` file. Size and space are checked by the caller."""
    fields = parse_ingest_fields(
        settings,
        title=metadata.get("title"),
        stream_started_at=metadata.get("stream_started_at"),
        timezone=metadata.get("timezone"),
    )
    del fields  # validated early so a bad field fails before any byte is sent
    filename = (metadata.get("filename") or metadata.get("name") or "upload")[:500]
    upload = Upload(
        length=length,
        offset=0,
        filename=filename,
        upload_metadata=metadata,
        api_key_id=api_key_id,
        expires_at=_now() + timedelta(hours=settings.tus_expiry_hours),
    )
    session.add(upload)
    session.flush()
    path = part_path(settings, upload.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.touch(exist_ok=False)
        lock_path(settings, upload.id).touch(exist_ok=False)
        session.commit()
    except BaseException:
        session.rollback()
        path.unlink(missing_ok=True)
        lock_path(settings, upload.id).unlink(missing_ok=True)
        raise
    return upload


def load_upload(session: Session, upload_id: str, *, key: ApiKey) -> Upload:
    """The upload ``upload_id`` if ``key`` may touch it (admins: any; others: their own). No side effects."""
    upload = None
    if re.fullmatch(r"[0-9a-f]{32}", upload_id):
        upload = session.get(Upload, upload_id, populate_existing=True)
    session.commit()  # end the read transaction: a long body must not hold a snapshot open
    if upload is None or (key.role != "admin" and upload.api_key_id not in (None, key.id)):
        raise UploadNotFound(f"no upload {upload_id!r}: it was never created, has expired or was terminated")
    return upload


@dataclass
class Held:
    """An upload claimed for one request. ``fd`` holds its lock; None when the upload is finished, or
    ``busy`` (another request is writing it and the caller only wanted a look).
    """

    upload: Upload
    fd: int | None
    busy: bool = False

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def acquire(
    settings: Settings, session: Session, upload_id: str, *, key: ApiKey, wait: float = 5.0, peek: bool = False
) -> Held:
    """Claim ``upload_id``: wait up to ``wait`` seconds for another request on it to finish.

    Raises :class:`UploadNotFound`, :class:`UploadGone` (expired or bytes lost, cleaned up now) or
    :class:`UploadLocked` (still busy; with ``peek``, returns a ``busy`` Held instead). Blocking: run it
    in a worker thread.
    """
    upload = load_upload(session, upload_id, key=key)
    if upload.recording_id is None:
        deadline = time.monotonic() + wait
        while (lock := try_lock(lock_path(settings, upload.id))) is LOCKED:
            if time.monotonic() > deadline:
                if peek:
                    return Held(upload, None, busy=True)
                raise UploadLocked(f"upload {upload_id} is busy with another request; retry in a moment")
            time.sleep(0.05)
        fd = lock if isinstance(lock, int) else None
        upload = load_upload(session, upload_id, key=key)  # re-read under the lock
        if upload.recording_id is None:
            if fd is None or not part_path(settings, upload.id).is_file():
                if fd is not None:
                    os.close(fd)
                _drop(settings, session, upload)
                raise UploadGone(f"the bytes of upload {upload_id} are gone; start a new upload")
            held = Held(upload, fd)
            if aware(upload.expires_at) < _now():
                held.release()
                _drop(settings, session, upload)
                raise UploadGone(f"upload {upload_id} expired; start a new upload")
            return held
        if fd is not None:
            os.close(fd)
    if aware(upload.expires_at) < _now():
        _drop(settings, session, upload)
        raise UploadGone(f"upload {upload_id} expired")
    return Held(upload, None)


def disk_offset(settings: Settings, upload: Upload) -> int:
    """Bytes on disk right now, without the lock (for a look at an upload being written)."""
    try:
        size = part_path(settings, upload.id).stat().st_size
    except FileNotFoundError:
        size = upload.offset
    return min(size, upload.length) if upload.length is not None else size


def sync_offset(settings: Settings, session: Session, upload: Upload) -> int:
    """The file size is the truth; write it back to the row when they differ."""
    if upload.recording_id is not None:
        return upload.offset
    size = part_path(settings, upload.id).stat().st_size
    if upload.length is not None and size > upload.length:  # never expose more than the declared length
        os.truncate(part_path(settings, upload.id), upload.length)
        size = upload.length
    if size != upload.offset:
        upload.offset = size
        session.commit()
    return size


def record_progress(settings: Settings, session: Session, upload: Upload, *, offset: int) -> None:
    """Persist a new offset and push the expiry out: an upload that makes progress stays alive."""
    upload.offset = offset
    upload.expires_at = _now() + timedelta(hours=settings.tus_expiry_hours)
    session.commit()


def set_length(settings: Settings, session: Session, upload: Upload, length: int) -> None:
    """Fix a deferred length (``Upload-Length`` on a later request)."""
    if upload.length is not None:
        if upload.length != length:
            raise TusProtocolError(f"Upload-Length is already {upload.length}; it cannot change")
        return
    if length < upload.offset:
        raise TusProtocolError(f"Upload-Length {length} is below the {upload.offset} bytes already received")
    upload.length = length
    session.commit()


def finalize_upload(
    settings: Settings, session: Session, upload: Upload, *, enqueue: Enqueue | None = None
) -> IngestResult:
    """All bytes are in: ingest the ``.part`` file; ``enqueue`` sends its probe job (see ``ingest_file``).

    A rejected file takes the upload with it. Any other failure (database down, a bug) keeps
    the bytes, so a later HEAD or PATCH retries the ingest instead of losing a long upload.
    """
    fields = parse_ingest_fields(
        settings,
        title=upload.upload_metadata.get("title"),
        stream_started_at=upload.upload_metadata.get("stream_started_at"),
        timezone=upload.upload_metadata.get("timezone"),
    )
    part = part_path(settings, upload.id)
    spare = part.with_suffix(".spare")  # a second name for the bytes: ingest_file consumes ``part``
    spare.unlink(missing_ok=True)
    os.link(part, spare)
    try:
        result = ingest_file(
            settings,
            session,
            part,
            filename=upload.filename,
            origin="tus",
            move=True,
            title=fields.title,
            stream_started_at=fields.stream_started_at,
            timezone=fields.timezone,
            enqueue=enqueue,
        )
    except RejectedMedia:
        session.rollback()
        spare.unlink(missing_ok=True)
        _drop(settings, session, upload)
        raise
    except BaseException:
        session.rollback()
        os.replace(spare, part)
        raise
    spare.unlink(missing_ok=True)
    upload.recording_id = result.recording.id
    upload.offset = upload.length or upload.offset
    session.commit()
    lock_path(settings, upload.id).unlink(missing_ok=True)
    return result


def terminate_upload(settings: Settings, session: Session, upload: Upload) -> None:
    """Delete the bytes and the row (the termination extension)."""
    _drop(settings, session, upload)


def _drop(settings: Settings, session: Session, upload: Upload) -> None:
    """Delete the row (committed), then the bytes and the lock file."""
    row = session.get(Upload, upload.id)
    if row is not None:
        session.delete(row)
    session.commit()
    part_path(settings, upload.id).unlink(missing_ok=True)
    part_path(settings, upload.id).with_suffix(".spare").unlink(missing_ok=True)
    lock_path(settings, upload.id).unlink(missing_ok=True)


def purge_expired_uploads(settings: Settings, session: Session) -> int:
    """Delete expired uploads (rows, bytes, lock files) and stray upload files older than the expiry.

    Uploads being written right now (their lock is held) are left alone. Returns how many uploads
    or stray files were removed. Safe to call periodically from any process.
    """
    removed = 0
    expired = session.scalars(select(Upload).where(Upload.expires_at < _now())).all()
    session.commit()
    for upload in expired:
        lock = try_lock(lock_path(settings, upload.id))
        if lock is LOCKED:
            continue
        try:
            row = session.get(Upload, upload.id, populate_existing=True)  # re-read under the lock
            if row is not None and aware(row.expires_at) < _now():
                _drop(settings, session, row)
                removed += 1
            session.commit()
        finally:
            if isinstance(lock, int):
                os.close(lock)
    folder = settings.media_root / "uploads"
    cutoff = time.time() - settings.tus_expiry_hours * 3600
    known = set(session.scalars(select(Upload.id)).all())
    session.commit()
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.suffix not in (".part", ".lock", ".spare") or path.stem in known:
            continue  # multipart staging files (``<token>-<name>.part``) go too once stale
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


LOCKED = object()


def try_lock(path: Path) -> int | object | None:
    """Open ``path`` and take an exclusive ``flock`` without waiting.

    Returns the locked file descriptor (close it to unlock), ``LOCKED`` when another request
    holds the lock, or ``None`` when there is no such file (it was finished or deleted meanwhile).
    """
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return LOCKED
    try:
        same = os.fstat(fd).st_ino == path.stat().st_ino
    except FileNotFoundError:
        same = False
    if not same:  # renamed away (ingested) between our open and our lock
        os.close(fd)
        return None
    return fd
