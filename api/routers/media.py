"""``/m/{token}``: the signed, expiring public URLs of the media sent to channels (no key: the URL is the
permission, see :mod:`services.media_urls`). Local storage streams the file (with Range); S3 redirects
to a presigned URL. A forged token is a bare 404, an expired one a bare 410."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import FileResponse, RedirectResponse

from api.deps import SettingsDep, StorageDep
from services.media_urls import MediaLinkExpired, MediaLinkInvalid, content_type, read_token
from services.storage import KeyNotFound

router = APIRouter(tags=["media"])


@router.api_route("/m/{token}", methods=["GET", "HEAD"], include_in_schema=False, response_model=None)
def signed_media(token: str, request: Request, settings: SettingsDep, storage: StorageDep) -> Response:
    try:
        key = read_token(settings, token)
    except MediaLinkExpired:
        raise HTTPException(status.HTTP_410_GONE, "gone") from None
    except MediaLinkInvalid:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    media_type = content_type(key)
    headers = {"Cache-Control": "private, max-age=300"}
    url = storage.presigned_url(key)
    if url is not None:
        try:
            size = storage.size(key)
        except KeyNotFound:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
        if request.method == "HEAD":
            return Response(media_type=media_type, headers={**headers, "Content-Length": str(size)})
        return RedirectResponse(url, status.HTTP_307_TEMPORARY_REDIRECT, headers={"Cache-Control": "no-store"})
    path = storage.local_path(key)
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return FileResponse(path, media_type=media_type, headers=headers)
