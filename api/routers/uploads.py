"""Recording ingest over plain HTTP: a streamed multipart upload, and registration by server path.

The multipart body is parsed as it arrives (``python_multipart``'s streaming parser) and the file
part goes straight into a staging file beside the store, so a many-GB upload never sits in memory
or in ``/tmp``.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from api.deps import IngestKey, SessionDep, SettingsDep
from api.ingest_http import BodyAbandoned, BodyReader, PartWriter, request_length
from runtime.config import Settings
from services.errors import InvalidRequest
from services.ingest import (
    IngestError,
    InsufficientStorage,
    RejectedMedia,
    check_free_space,
    check_upload_size,
    ingest_file,
    parse_ingest_fields,
    recording_summary,
    register_path,
    staging_path,
)
from services.storage import get_storage
from workers.dispatch import enqueue_job

router = APIRouter(prefix="/api/recordings", tags=["ingest"])

FILE_FIELD = "file"
TEXT_FIELDS = ("title", "stream_started_at", "timezone")
MAX_TEXT_FIELD = 64 * 1024
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers on top of the file itself
SPACE_CHECK_EVERY = 64 << 20

UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [FILE_FIELD],
                    "properties": {
                        FILE_FIELD: {"type": "string", "format": "binary"},
                        "title": {"type": "string"},
                        "stream_started_at": {"type": "string", "format": "date-time"},
                        "timezone": {"type": "string", "example": "Asia/Shanghai"},
                    },
                }
            }
        },
    }
}


class FormError(InvalidRequest, IngestError):
    """The multipart body is malformed or lacks the file."""

    code = "bad_form"


class _FormSink:
    """Callbacks for the streaming parser: the file part goes to a staging file, text fields to memory."""

    def __init__(self, settings: Settings, expected: int | None) -> None:
        self.settings = settings
        self.expected = expected
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.path: Path | None = None
        self.writer: PartWriter | None = None
        self.size = 0
        self.ended = False
        self._next_space_check = SPACE_CHECK_EVERY
        self._headers: dict[str, str] = {}
        self._field = self._value = b""
        self._part: str | None = None  # "file", a text field name, or "" for a part we skip
        self._text = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    @property
    def needs_flush(self) -> bool:
        return self.writer is not None and self.writer.pending_bytes >= self.writer.flush_bytes

    def flush(self) -> None:
        """Write the queued file bytes, checking free space now and then (blocking: run it in a thread)."""
        if self.writer is None:
            return
        self.writer.flush()
        if self.size >= self._next_space_check:
            self._next_space_check += SPACE_CHECK_EVERY
            remaining = max(0, (self.expected or 0) - self.size)
            check_free_space(self.settings, get_storage(self.settings.media_root), remaining)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def discard(self) -> None:
        """Remove the staging file (any failure before the ingest took it over)."""
        if self.writer is not None:
            self.writer.discard_pending()
            self.writer.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)

    def _part_begin(self) -> None:
        self._headers, self._part = {}, None
        self._text = bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _disposition, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        if name == FILE_FIELD:
            if self.path is not None:
                raise FormError("send exactly one file in the 'file' field")
            self.filename = params.get(b"filename", b"").decode("utf-8", "replace") or "recording"
            self.path = staging_path(self.settings, self.filename)
            self.writer = PartWriter(self.path, start=0, limit=self.settings.max_upload_bytes, create=True)
            self._part = FILE_FIELD
        else:
            self._part = name if name in TEXT_FIELDS else ""

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part == FILE_FIELD and self.writer is not None:
            self.size += end - start
            check_upload_size(self.settings, self.size)
            self.writer.add(data[start:end])
        elif self._part:
            self._text += data[start:end]
            if len(self._text) > MAX_TEXT_FIELD:
                raise FormError(f"form field {self._part!r} is longer than {MAX_TEXT_FIELD} bytes")

    def _part_end(self) -> None:
        if self._part and self._part != FILE_FIELD:
            self.fields[self._part] = self._text.decode("utf-8", "replace")
        self._part = None

    def _end(self) -> None:
        self.ended = True


def _boundary(request: Request) -> bytes:
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            {
                "code": "unsupported_media_type",
                "message": "send the recording as multipart/form-data with the file in the 'file' field "
                "(or use the resumable tus endpoint /api/uploads/tus/)",
            },
        )
    return params[b"boundary"]


async def _receive_form(request: Request, sink: _FormSink, boundary: bytes) -> None:
    parser = MultipartParser(boundary, sink.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in BodyReader(request):
            parser.write(chunk)
            if sink.needs_flush:
                await run_in_threadpool(sink.flush)
    except MultipartParseError as exc:
        raise FormError(f"the multipart body is malformed: {exc}") from exc
    await run_in_threadpool(sink.flush)
    await run_in_threadpool(sink.close)
    if not sink.ended:
        raise FormError("the multipart body ended before its closing boundary")
    if sink.path is None:
        raise FormError("the form has no 'file' field: attach the recording as 'file'")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a recording as multipart/form-data (roles: admin, content)",
    openapi_extra=UPLOAD_FORM,
    response_model=None,
)
async def upload_recording(
    request: Request, settings: SettingsDep, session: SessionDep, key: IngestKey
) -> JSONResponse | Response:
    """Stream the ``file`` part to disk, probe it, store it and queue its processing.

    Fields: ``file`` (required), ``title``, ``stream_started_at`` (ISO 8601), ``timezone`` (IANA).
    413 when over the size limit, 507 without the disk space, 422 when the file is not usable video.
    """
    del key
    session.commit()  # end the auth transaction: the body may take a long time
    boundary = _boundary(request)
    expected = request_length(request)
    sink = _FormSink(settings, expected)
    try:
        if expected is not None:
            check_upload_size(settings, max(0, expected - MULTIPART_SLACK))
        check_free_space(settings, get_storage(settings.media_root), expected or 0)
        try:
            await _receive_form(request, sink, boundary)
        except (ClientDisconnect, BodyAbandoned):
            sink.discard()
            return Response(status_code=status.HTTP_408_REQUEST_TIMEOUT)
        fields = parse_ingest_fields(
            settings,
            title=sink.fields.get("title"),
            stream_started_at=sink.fields.get("stream_started_at"),
            timezone=sink.fields.get("timezone"),
        )
        assert sink.path is not None and sink.filename is not None
        result = await run_in_threadpool(
            ingest_file,
            settings,
            session,
            sink.path,
            filename=sink.filename,
            origin="upload",
            move=True,
            title=fields.title,
            stream_started_at=fields.stream_started_at,
            timezone=fields.timezone,
            enqueue=enqueue_job,
        )
    except IngestError as exc:
        sink.discard()
        if isinstance(exc, RejectedMedia) and sink.path is not None and sink.filename:
            raise RejectedMedia(str(exc).replace(sink.path.name, sink.filename), code=exc.code) from exc
        raise
    except OSError as exc:
        sink.discard()
        if exc.errno == errno.ENOSPC:
            raise InsufficientStorage("the disk filled up during the upload; free space and retry") from exc
        raise
    except BaseException:
        sink.discard()
        raise
    return JSONResponse(recording_summary(result.recording, result.info), status_code=status.HTTP_201_CREATED)


class RegisterRequest(BaseModel):
    """A recording that stays where it is, inside one of ``LIVESLICE_IMPORT_ROOTS``."""

    path: str = Field(min_length=1, max_length=4096, description="Absolute, or relative to an import root.")
    title: str | None = Field(None, max_length=300)
    stream_started_at: str | None = Field(None, description="ISO 8601; without an offset: wall clock in timezone.")
    timezone: str | None = Field(None, description="IANA timezone, e.g. Asia/Shanghai.")


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    summary="Register a recording by server path, without copying it (roles: admin, content)",
)
def register_recording(
    body: RegisterRequest, settings: SettingsDep, session: SessionDep, key: IngestKey
) -> dict[str, Any]:
    """Off unless ``LIVESLICE_IMPORT_ROOTS`` is set; symlinks and HLS segments must stay inside a root."""
    del key
    fields = parse_ingest_fields(
        settings, title=body.title, stream_started_at=body.stream_started_at, timezone=body.timezone
    )
    result = register_path(
        settings,
        session,
        body.path,
        title=fields.title,
        stream_started_at=fields.stream_started_at,
        timezone=fields.timezone,
        enqueue=enqueue_job,
    )
    return recording_summary(result.recording, result.info)
