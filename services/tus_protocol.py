"""The tus 1.0.0 protocol's constants, errors and header parsing (no state; see :mod:`services.uploads`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from typing import Any

from services import errors
from services.errors import Busy, Conflict, Expired, Interrupted, InvalidRequest, NotFound, Unavailable
from services.ingest import IngestError

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,creation-with-upload,creation-defer-length,termination,checksum,expiration"
CHECKSUMS: dict[str, Callable[[], Any]] = {"sha1": hashlib.sha1, "md5": hashlib.md5, "sha256": hashlib.sha256}


class TusError(IngestError):
    """A tus upload cannot go on as asked; subclasses say why."""


class TusProtocolError(InvalidRequest, TusError):
    """A request breaks the tus protocol (a bad header, a length that changes)."""


class UploadNotFound(NotFound, TusError):
    code = "upload_not_found"


class UploadGone(Expired, TusError):
    code = "upload_gone"


class OffsetMismatch(Conflict, TusError):
    code = "offset_mismatch"


class UploadLocked(Busy, TusError):
    code = "upload_locked"


class IngestFailed(Unavailable, TusError):
    """All bytes arrived but storing the recording failed for a reason not the file's; the bytes are kept."""

    code = "ingest_failed"


class BodyIncomplete(Interrupted, TusError):
    """The body stopped before its end (client gone, silent, or superseded); what arrived is kept."""

    code = "body_incomplete"


class ChecksumMismatch(errors.ChecksumMismatch, TusError):
    """The body does not match ``Upload-Checksum``; none of it was kept."""


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode ``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value may be absent)."""
    result: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, encoded = item.partition(" ")
        if not key or key in result:
            raise TusProtocolError(f"Upload-Metadata has an empty or repeated key in {item!r}")
        try:
            result[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TusProtocolError(f"Upload-Metadata value for {key!r} is not base64 of UTF-8 text") from exc
    return result


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum: <algorithm> <base64 digest>`` -> (algorithm, digest)."""
    if not header:
        return None
    algo, _, encoded = header.strip().partition(" ")
    algo = algo.lower()
    if algo not in CHECKSUMS:
        raise TusProtocolError(f"checksum algorithm {algo!r} is not supported; use one of {', '.join(CHECKSUMS)}")
    try:
        return algo, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise TusProtocolError("Upload-Checksum digest is not base64") from exc
