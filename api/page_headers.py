"""The security headers every HTML page carries, with a CSP that allows media from the object store.

With S3 storage a page's video, poster and cover answer 307 to presigned URLs on the store's origin, so
``img-src`` and ``media-src`` allow that origin too (nothing else comes from there).
"""

from __future__ import annotations

import logging

from runtime.config import Settings
from services.storage import StorageError, media_origin

log = logging.getLogger(__name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{media}; media-src 'self'{media}; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP.format(media=""),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def media_source(settings: Settings) -> str:
    """`` <origin>`` of the object store whose presigned URLs media answers 307 to, to append to a CSP
    source list (``img-src 'self'{media}``); empty with local storage or without usable credentials."""
    try:
        origin = media_origin(settings)
    except StorageError as exc:  # no usable credentials: media cannot be served either, but pages still can
        log.warning("no media origin for the pages' CSP: %s", exc)
        origin = None
    return f" {origin}" if origin else ""


def content_security_policy(settings: Settings) -> str:
    """The pages' CSP. With object storage, media files answer 307 to presigned URLs on the store's
    origin, so images and video may come from there too (nothing else does)."""
    return CSP.format(media=media_source(settings))
