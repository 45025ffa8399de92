"""Signed public URLs for the media sent to channels: ``{public_base_url}/m/{token}``.

A platform fetching a clip's video or poster cannot send an API key, so the URL itself is the permission:
``token`` = base64url(JSON {storage key, expiry}) "." base64url(HMAC-SHA256(secret key, payload)). It
expires after ``LIVESLICE_MEDIA_URL_SECONDS``; a forged or altered token is unknown, an old one is gone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from pathlib import PurePosixPath

from runtime.config import Settings
from services.errors import Expired, NotFound, ServiceError

PURPOSE = b"liveslice-media-url:"
CONTENT_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


class MediaLinkError(ServiceError):
    """A signed media URL cannot be served."""


class MediaLinkInvalid(NotFound, MediaLinkError):
    code = "not_found"


class MediaLinkExpired(Expired, MediaLinkError):
    code = "gone"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(settings: Settings, payload: str) -> str:
    key = settings.resolved_secret_key().encode()
    return _b64(hmac.new(key, PURPOSE + payload.encode(), hashlib.sha256).digest())


def make_token(settings: Settings, key: str, *, now: float | None = None, seconds: int | None = None) -> str:
    """A token for storage ``key`` valid ``seconds`` (default ``media_url_seconds``) from ``now``."""
    expires = int((now if now is not None else time.time()) + (seconds or settings.media_url_seconds))
    payload = _b64(json.dumps({"k": key, "e": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(settings, payload)}"


def signed_url(settings: Settings, key: str, *, now: float | None = None) -> str:
    """The public URL that serves ``key`` until it expires."""
    return f"{settings.public_base_url}/m/{make_token(settings, key, now=now)}"


def read_token(settings: Settings, token: str, *, now: float | None = None) -> str:
    """The storage key ``token`` grants; :class:`MediaLinkInvalid` (forged, altered, malformed) or
    :class:`MediaLinkExpired`. The messages say nothing about why a signature failed."""
    payload, sep, signature = token.partition(".")
    if not sep or not payload or len(token) > 2048:
        raise MediaLinkInvalid("no such media")
    if not hmac.compare_digest(signature.encode(), _sign(settings, payload).encode()):
        raise MediaLinkInvalid("no such media")
    try:
        data = json.loads(_unb64(payload))
        key, expires = str(data["k"]), int(data["e"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise MediaLinkInvalid("no such media") from None
    if expires < (now if now is not None else time.time()):
        raise MediaLinkExpired("this media link has expired")
    return key


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")
