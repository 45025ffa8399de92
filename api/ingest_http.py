"""Edge helpers shared by the ingest routers: request bodies to disk.

Bodies are read chunk by chunk (:class:`BodyReader`, which gives up on a silent client) and written
in batches by a worker thread (:class:`PartWriter`), so memory stays bounded whatever the upload size.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Request

from services.ingest import BadUpload, UploadTooLarge
from services.uploads import CHECKSUMS

BODY_IDLE_SECONDS = 60.0  # a body that sends nothing for this long is treated as a dropped connection
FLUSH_BYTES = 1 << 20
MAX_IOV = 512  # chunks per writev call (the kernel's IOV_MAX is 1024)


class BodyAbandoned(Exception):
    """The client went silent, or a newer request for the same upload took over."""


def request_length(request: Request) -> int | None:
    """``Content-Length`` as an int; None when absent (chunked). Raises :class:`BadUpload` when malformed."""
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise BadUpload(f"Content-Length {raw!r} is not a number")
    return int(raw)


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
        """Queue ``chunk``; True when it is time to :meth:`flush`. Raises ``UploadTooLarge`` past ``limit``."""
        if self.offset + self.pending_bytes + len(chunk) > self.limit:
            raise UploadTooLarge(f"the body runs past the upload's end ({self.limit} bytes); send only the rest")
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
