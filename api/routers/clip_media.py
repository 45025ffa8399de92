"""A clip's files (video, cover, poster, leader variants) with HTTP Range support, and ``HEAD`` (which
players and download managers send first: the same headers, no body).

A leader's variant video and poster render on first request: a request for one that is given but not
stored yet starts its render (:func:`services.variants.ensure_variant`, one job however many ask), waits
up to :data:`VARIANT_WAIT_SECONDS` for it without holding the event loop, and streams the file; if the
render takes longer it answers 503 with ``Retry-After`` and the file comes on a later request. A variant
that cannot be made (a fast-mode clip, or a render that failed for a lasting reason since the clip last
changed) answers 409 with the reason, and starts nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse

from api.deps import SettingsDep, StorageDep, leader_scope
from api.routers.clips import ClipReader, attachment, download_title
from runtime.config import Settings
from services.storage import KeyNotFound, MediaStorage
from services.variants import Send, VariantFailed, VariantPending, ensure_variant, variant_state
from store import clips as repo
from store.db import session_scope
from studio.clip.types import InvalidClipRequest
from workers.dispatch import enqueue_job

router = APIRouter(tags=["clips"])

MEDIA_TYPES = {".mp4": "video/mp4", ".jpg": "image/jpeg", ".png": "image/png"}
#: How long a request for a variant not rendered yet waits for its render before answering 503.
VARIANT_WAIT_SECONDS = 20.0
POLL_SECONDS = 0.5


def variant_sender() -> Send:
    """How a variant's render job is sent: to the broker (tests may run it in-process instead)."""
    return enqueue_job


VariantSend = Annotated[Send, Depends(variant_sender)]


@dataclass(frozen=True)
class _Found:
    """The stored file's key, or the leader whose variant is rendering (key None); ``title`` names a download."""

    key: str | None
    leader_id: str | None = None
    title: str = "clip"


def _not_found(clip_id: str, name: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"clip {clip_id} has no ready file {name!r}")


def _locate(settings: Settings, clip_id: str, name: str, scope: str | None, send: Send) -> _Found:
    """The file's key; for a variant given but not rendered, its render started (or joined)."""
    with session_scope(settings.database_url) as session:
        clip = repo.get_clip(session, clip_id=clip_id)  # ClipNotFound answers 404 (api/errors.py)
        if not repo.given_to(clip, scope):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no clip {clip_id!r}")
        if clip.status != "ready":
            raise _not_found(clip_id, name)
        title = download_title(clip)
        key = repo.clip_file_keys(clip, leader_id=scope).get(name)
        if key is not None:
            return _Found(key, title=title)
        variant = repo.variant_named(clip, name, scope)  # a leader's key reaches only its own variant
        if variant is None:
            raise _not_found(clip_id, name)
        leader_id = variant.leader_id
        try:
            ready = ensure_variant(settings, session, clip_id=clip_id, leader_id=leader_id, send=send)
        except InvalidClipRequest as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
        if ready:
            fresh = repo.clip_file_keys(repo.get_clip(session, clip_id=clip_id), leader_id=scope).get(name)
            return _Found(fresh, title=title)
        return _Found(None, leader_id, title)


def _rendered_key(settings: Settings, clip_id: str, name: str, scope: str | None, leader_id: str) -> str | None:
    """The file's key once its variant is rendered; None while it renders. :class:`VariantFailed` if it failed
    (the next request tries again), :class:`~services.variants.VariantImpossible` if it failed for good."""
    with session_scope(settings.database_url) as session:
        state = variant_state(session, clip_id=clip_id, leader_id=leader_id)
        if state == "failed":
            raise VariantFailed("rendering this variant failed; ask again to try once more")
        if state == "pending":
            return None
        return repo.clip_file_keys(repo.get_clip(session, clip_id=clip_id), leader_id=scope).get(name)


@router.get(
    "/media/clips/{clip_id}/{name}",
    summary="A ready clip's file (video, cover, poster, variant), with Range support; with S3 storage a "
    "307 redirect to a presigned URL. A leader's variant renders on first request: 503 with Retry-After "
    "while it is being prepared (roles: admin, content, merchant, leader)",
    response_class=FileResponse,
    response_model=None,
)
@router.head("/media/clips/{clip_id}/{name}", include_in_schema=False, response_model=None)
async def clip_file(
    clip_id: str,
    name: str,
    request: Request,
    settings: SettingsDep,
    storage: StorageDep,
    reader: ClipReader,
    send: VariantSend,
    download: bool = False,
) -> Response:
    """``HEAD`` gets the same headers as ``GET`` and no body; with S3 it is answered here, because a
    presigned URL is signed for GET only. A leader's key reaches the base files and only its own variant.
    ``?download=1`` answers ``Content-Disposition: attachment`` named after the clip's title."""
    scope = leader_scope(reader)
    found = await run_in_threadpool(_locate, settings, clip_id, name, scope, send)
    key = found.key
    if key is None and found.leader_id is not None:
        deadline = time.monotonic() + VARIANT_WAIT_SECONDS
        while key is None:
            if time.monotonic() >= deadline:
                raise VariantPending(f"the variant {name!r} of clip {clip_id} is being prepared; ask again shortly")
            await asyncio.sleep(POLL_SECONDS)
            key = await run_in_threadpool(_rendered_key, settings, clip_id, name, scope, found.leader_id)
    if key is None:
        raise _not_found(clip_id, name)
    disposition = attachment(found.title, PurePosixPath(name).suffix.lower()) if download else None
    return await run_in_threadpool(_respond, storage, request.method, clip_id, name, key, disposition)


def _respond(
    storage: MediaStorage, method: str, clip_id: str, name: str, key: str, disposition: str | None = None
) -> Response:
    missing = HTTPException(status.HTTP_404_NOT_FOUND, f"the file {name!r} of clip {clip_id} is missing")
    media_type = MEDIA_TYPES.get(PurePosixPath(name).suffix.lower(), "application/octet-stream")
    url = storage.presigned_url(key, disposition=disposition)
    if url is not None:  # object storage: the client fetches (and ranges) the object from the store itself,
        # which answers ``disposition`` (signed into the URL) as its Content-Disposition
        try:
            size = storage.size(key)
        except KeyNotFound as exc:
            raise missing from exc
        if method == "HEAD":
            headers = {"Content-Length": str(size), "Accept-Ranges": "bytes", "Cache-Control": "no-store"}
            if disposition:
                headers["Content-Disposition"] = disposition
            return Response(media_type=media_type, headers=headers)
        return RedirectResponse(url, status.HTTP_307_TEMPORARY_REDIRECT, headers={"Cache-Control": "no-store"})
    path = storage.local_path(key)
    if not path.is_file():
        raise missing
    headers = {"Cache-Control": "private, no-cache"}
    if disposition:
        headers["Content-Disposition"] = disposition
    return FileResponse(path, media_type=media_type, headers=headers)
