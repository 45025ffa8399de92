"""Side-data import: parse (pure, all or nothing) and persist in one transaction.

The API, the CLI and the demo all import through :func:`import_side_data`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from runtime.config import Settings
from services.errors import InvalidRequest, NotFound, ServiceError, TooLarge
from sidedata import (
    TimeContext,
    parse_catalog,
    parse_chat,
    parse_orders,
    parse_timeline,
    parse_transcript,
)
from sidedata.errors import SideDataError
from store import sidedata as repo
from store.models import Recording

KINDS = ("catalog", "timeline", "chat", "orders", "transcript")
MAX_SIDE_DATA_BYTES = 512 * 1024 * 1024


class SideDataRequestError(ServiceError, SideDataError):
    """The import request itself is wrong (also a ``SideDataError``, as callers catch those)."""

    code = "bad_request"


class BadSideDataRequest(InvalidRequest, SideDataRequestError):
    """An unknown kind, or a recording's kind without the recording."""

    code = "bad_request"


class SideDataTooLarge(TooLarge, SideDataRequestError):
    code = "bad_request"


class SideDataRecordingNotFound(NotFound, SideDataRequestError):
    code = "bad_request"


@dataclass
class ImportReport:
    """What an import did, for API responses and the CLI."""

    kind: str
    filename: str
    recording_id: str | None
    rows: int
    duplicates: int = 0
    out_of_range: int = 0
    created: int | None = None
    updated: int | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in self.__dict__.items() if value is not None}


def import_side_data(
    settings: Settings,
    session: Session,
    *,
    kind: str,
    data: bytes,
    filename: str,
    recording_id: str | None = None,
    stream_started_at: datetime | None = None,
) -> ImportReport:
    """Parse ``data`` as ``kind`` and store it, all or nothing; commits on success.

    ``stream_started_at``, when given, is saved on the recording and used for wall-clock times.
    Raises :class:`sidedata.errors.SideDataImportError` listing every bad row.
    """
    if kind not in KINDS:
        raise BadSideDataRequest(f"unknown side-data kind {kind!r}; choose one of {', '.join(KINDS)}")
    if len(data) > MAX_SIDE_DATA_BYTES:
        raise SideDataTooLarge("the side-data file is larger than 512 MB")
    digest = hashlib.sha256(data).hexdigest()
    try:
        if kind == "catalog":
            report = _import_catalog(settings, session, data, filename)
            recording_id = None
        else:
            recording = _recording(session, recording_id)
            if stream_started_at is not None:
                recording.stream_started_at = stream_started_at
            report = _import_for_recording(session, recording, kind, data, filename)
        repo.record_import(
            session,
            recording_id=recording_id,
            kind=kind,
            filename=filename,
            sha256=digest,
            rows=report.rows,
            duplicates=report.duplicates,
            warnings=report.warnings,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report


def _recording(session: Session, recording_id: str | None) -> Recording:
    if not recording_id:
        raise BadSideDataRequest("this kind of side data belongs to a recording: give its id")
    recording = session.get(Recording, recording_id)
    if recording is None:
        raise SideDataRecordingNotFound(f"no recording {recording_id!r}")
    return recording


def _time_context(recording: Recording) -> TimeContext:
    return TimeContext(
        stream_started_at=recording.stream_started_at,
        timezone=recording.timezone,
        duration=recording.duration,
    )


def _import_catalog(settings: Settings, session: Session, data: bytes, filename: str) -> ImportReport:
    result = parse_catalog(
        data,
        filename,
        image_roots=settings.import_roots,
        allowed_image_hosts=settings.allowed_image_hosts,
        timezone=settings.timezone,
    )
    created, updated = repo.upsert_products(session, result.products)
    return ImportReport(
        kind="catalog",
        filename=filename,
        recording_id=None,
        rows=len(result.products),
        created=created,
        updated=updated,
        warnings=list(result.warnings),
    )


def _import_for_recording(
    session: Session, recording: Recording, kind: str, data: bytes, filename: str
) -> ImportReport:
    ctx = _time_context(recording)
    report = ImportReport(kind=kind, filename=filename, recording_id=recording.id, rows=0)
    if kind == "timeline":
        timeline = parse_timeline(data, filename, known_skus=repo.known_skus(session), ctx=ctx)
        repo.replace_timeline(session, recording.id, timeline.segments)
        report.rows, report.warnings = len(timeline.segments), list(timeline.warnings)
    elif kind == "chat":
        chat = parse_chat(data, filename, ctx=ctx)
        repo.replace_chat(session, recording.id, chat.events)
        report.rows, report.duplicates, report.out_of_range = len(chat.events), chat.duplicates, chat.out_of_range
        report.warnings = list(chat.warnings)
    elif kind == "orders":
        orders = parse_orders(data, filename, known_skus=repo.known_skus(session), ctx=ctx)
        repo.replace_orders(session, recording.id, orders.orders)
        report.rows, report.duplicates, report.out_of_range = (
            len(orders.orders),
            orders.duplicates,
            orders.out_of_range,
        )
        report.warnings = list(orders.warnings)
    else:
        transcript = parse_transcript(data, filename, ctx=ctx)
        repo.replace_transcript(session, recording.id, transcript.cues)
        report.rows, report.warnings = len(transcript.cues), list(transcript.warnings)
    return report
