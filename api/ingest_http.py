"""Edge helpers shared by the ingest routers: optional fields, error mapping, and request bodies to disk.

Bodies are read chunk by chunk (:class:`BodyReader`, which gives up on a silent client) and written
in batches by a worker thread (:class:`PartWriter`), so memory stays bounded whatever the upload size.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException, Request

from runtime.config import Settings
from services.ingest import IngestError

MAX_TITLE_CHARS = 300
BODY_IDLE_SECONDS = 60.0  # a body that sends nothing for this long is treated as a dropped connection
FLUSH_BYTES = 1 << 20
MAX_IOV = 512  # chunks per writev call (the kernel's IOV_MAX is 1024)
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}


class BadField(IngestError):
    """A request field (title, stream_started_at, timezone, metadata) is malformed."""

    status_code = 422
    code = "bad_field"


class BodyTooLong(IngestError):
    """The body runs past the declared upload length or the size limit."""

    status_code = 413
    code = "too_large"


class BodyAbandoned(Exception):
    """The client went silent, or a newer request for the same upload took over."""


def http_error(exc: IngestError, headers: dict[str, str] | None = None) -> HTTPException:
    """The one mapping from an ingest error to an HTTP answer (used at the edge only)."""
    return HTTPException(exc.status_code, detail={"code": exc.code, "message": str(exc)}, headers=headers)


def request_length(request: Request) -> int | None:
    """``Content-Length`` as an int; None when absent (chunked). A malformed value is a 400."""
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise http_error(IngestError(f"Content-Length {raw!r} is not a number"))
    return int(raw)


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


class BodyReader:
    """The request body, chunk by chunk. Raises :class:`BodyAbandoned` after ``idle`` silent seconds
    or once :meth:`stop` is called; :class:`starlette.requests.ClientDisconnect` when the client hangs up.
    """

    def __init__(self, request: Request, idle: float = BODY_IDLE_SECONDS) -> None:
        self._chunks: AsyncIterator[bytes] = request.stream().__aiter__()
        self.idle = idle
        self.stopped = False
        self._timeout: asyncio.Timeout | None = None

    def stop(self) -> None:
        """Make the reader give up now (a newer request for the same upload wants it)."""
        self.stopped = True
        if self._timeout is not None and not self._timeout.expired():
            self._timeout.reschedule(asyncio.get_running_loop().time())

    def __aiter__(self) -> BodyReader:
        return self

    async def __anext__(self) -> bytes:
        if self.stopped:
            raise BodyAbandoned("a newer request for this upload took over")
        try:
            async with asyncio.timeout(self.idle) as timeout:
                self._timeout = timeout
                return await anext(self._chunks)
        except TimeoutError as exc:
            why = "a newer request for this upload took over" if self.stopped else f"no data for {self.idle:.0f} s"
            raise BodyAbandoned(why) from exc
        finally:
            self._timeout = None


class PartWriter:
    """Writes one request body into a file from ``start``, hashing it when a checksum was sent.

    Chunks are queued up to ``flush_bytes`` and written with ``writev`` by :meth:`flush` (blocking:
    run it in a worker thread). ``offset`` is always the number of bytes on disk.
    """

    def __init__(
        self,
        path: Path,
        *,
        start: int,
        limit: int,
        checksum: tuple[str, bytes] | None = None,
        flush_bytes: int = FLUSH_BYTES,
        create: bool = False,
    ) -> None:
        flags = os.O_WRONLY | (os.O_CREAT | os.O_EXCL if create else 0)
        self.fd = os.open(path, flags, 0o644)
        self.start = self.offset = start
        self.limit = limit
        self.checksum = checksum
        self.hasher = CHECKSUMS[checksum[0]]() if checksum else None
        self.flush_bytes = flush_bytes
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        os.lseek(self.fd, start, os.SEEK_SET)

    @property
    def received(self) -> int:
        """Bytes of this body seen so far, written or queued."""
        return self.offset + self.pending_bytes - self.start

    def add(self, chunk: bytes) -> bool:
        """Queue ``chunk``; True when it is time to :meth:`flush`. Raises :class:`BodyTooLong` past ``limit``."""
        if self.offset + self.pending_bytes + len(chunk) > self.limit:
            raise BodyTooLong(f"the body runs past the upload's end ({self.limit} bytes); send only the rest")
        if chunk:
            self.pending.append(chunk)
            self.pending_bytes += len(chunk)
        return self.pending_bytes >= self.flush_bytes

    def flush(self) -> None:
        """Write (and hash) what is queued."""
        chunks, self.pending, self.pending_bytes = self.pending, [], 0
        while chunks:
            batch = chunks[:MAX_IOV]
            written = os.writev(self.fd, batch)
            if self.hasher is not None:
                _hash_prefix(self.hasher, batch, written)
            self.offset += written
            chunks = _drop_prefix(chunks, written)

    def discard_pending(self) -> None:
        """Forget queued bytes that were never written."""
        self.pending, self.pending_bytes = [], 0

    def checksum_ok(self) -> bool:
        return self.hasher is None or self.checksum is None or self.hasher.digest() == self.checksum[1]

    def rollback(self) -> None:
        """Forget this body: truncate the file back to where it started."""
        self.discard_pending()
        os.ftruncate(self.fd, self.start)
        self.offset = self.start

    def close(self) -> None:
        """Sync to disk and close (idempotent)."""
        if self.fd >= 0:
            try:
                os.fsync(self.fd)
            finally:
                os.close(self.fd)
                self.fd = -1


def _hash_prefix(hasher: Any, chunks: list[bytes], count: int) -> None:
    for chunk in chunks:
        if count <= 0:
            return
        hasher.update(chunk[:count] if count < len(chunk) else chunk)
        count -= len(chunk)


def _drop_prefix(chunks: list[bytes], count: int) -> list[bytes]:
    skip = 0
    while skip < len(chunks) and count >= len(chunks[skip]):
        count -= len(chunks[skip])
        skip += 1
    rest = chunks[skip:]
    if rest and count:
        rest[0] = rest[0][count:]
    return rest
