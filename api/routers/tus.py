"""Resumable uploads over tus 1.0.0 (https://tus.io/protocols/resumable-upload).

Extensions: creation, creation-with-upload, creation-defer-length, termination, checksum
(sha1, md5, sha256) and expiration. The request that delivers the last byte ingests the file
and answers with the recording (JSON body, ``X-Recording-Id``); a rejected file leaves nothing.
"""

from __future__ import annotations

import base64
import errno
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.requests import ClientDisconnect

from api.deps import IngestKey, SessionDep, SettingsDep
from api.errors import DOMAIN_ERRORS, error_response
from api.ingest_http import BodyAbandoned, BodyReader, PartWriter, request_length
from runtime.config import Settings
from services.ingest import (
    IngestError,
    InsufficientStorage,
    UploadTooLarge,
    check_free_space,
    check_upload_size,
    recording_summary,
)
from services.storage import get_storage
from services.uploads import (
    CHECKSUMS,
    TUS_EXTENSIONS,
    TUS_VERSION,
    BodyIncomplete,
    ChecksumMismatch,
    Held,
    IngestFailed,
    OffsetMismatch,
    TusProtocolError,
    acquire,
    create_upload,
    disk_offset,
    expires_header,
    finalize_upload,
    load_upload,
    parse_checksum,
    parse_metadata,
    part_path,
    record_progress,
    set_length,
    sync_offset,
    terminate_upload,
)
from store.models import ApiKey, Upload
from workers.dispatch import enqueue_job

log = logging.getLogger(__name__)

OFFSET_STREAM = "application/offset+octet-stream"
PREFIX = "/api/uploads/tus"
_READERS: dict[str, BodyReader] = {}  # upload id -> the body this process is writing into it


class TusRoute(APIRoute):
    """Every answer carries ``Tus-Resumable``, errors (domain ones and 401/403/412 from dependencies) included."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response = await original(request)
            except HTTPException as exc:
                response = JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
            except RequestValidationError as exc:
                response = JSONResponse(
                    {"detail": jsonable_encoder(exc.errors())}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
                )
            except DOMAIN_ERRORS as exc:
                response = error_response(exc)
            response.headers["Tus-Resumable"] = TUS_VERSION
            return response

        return handler


def tus_resumable(request: Request) -> None:
    """412 unless the client speaks our protocol version."""
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise HTTPException(
            status.HTTP_412_PRECONDITION_FAILED,
            {"code": "tus_version", "message": f"send 'Tus-Resumable: {TUS_VERSION}' (the only version served)"},
            headers={"Tus-Version": TUS_VERSION},
        )


router = APIRouter(tags=["ingest"], route_class=TusRoute)
TusDeps = [Depends(tus_resumable)]
UploadId = Annotated[str, Path(max_length=64)]


def _capabilities(settings: Settings) -> dict[str, str]:
    return {
        "Tus-Version": TUS_VERSION,
        "Tus-Extension": TUS_EXTENSIONS,
        "Tus-Max-Size": str(settings.max_upload_bytes),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
    }


@router.options(PREFIX, include_in_schema=False)
@router.options(f"{PREFIX}/", summary="tus discovery: version, extensions, size limit (no key needed)")
@router.options(f"{PREFIX}/{{upload_id}}", include_in_schema=False)
def tus_options(settings: SettingsDep) -> Response:
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_capabilities(settings))


def _int_header(request: Request, name: str) -> int | None:
    raw = request.headers.get(name)
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise TusProtocolError(f"{name} must be a non-negative integer, not {raw!r}")
    return int(raw)


def _upload_headers(upload: Upload, offset: int) -> dict[str, str]:
    headers = {"Upload-Offset": str(offset), "Upload-Expires": expires_header(upload), "Cache-Control": "no-store"}
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    if upload.recording_id:
        headers["X-Recording-Id"] = upload.recording_id
    return headers


def _encode_metadata(metadata: dict[str, str]) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" if v else k for k, v in metadata.items())


async def _receive(
    request: Request, settings: Settings, session: SessionDep, held: Held, *, client_offset: int
) -> Response:
    """Append this request's body at ``client_offset``; ingest when the last byte is in."""
    upload = held.upload
    if held.fd is None:  # already finished and ingested
        if client_offset != upload.offset:
            raise OffsetMismatch(f"upload {upload.id} is complete ({upload.offset} bytes); nothing more to send")
        return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_upload_headers(upload, upload.offset))
    checksum = parse_checksum(request.headers.get("upload-checksum"))
    declared = _int_header(request, "upload-length")
    if declared is not None:
        check_upload_size(settings, declared)
        await run_in_threadpool(set_length, settings, session, upload, declared)
    current = await run_in_threadpool(sync_offset, settings, session, upload)
    if client_offset != current:
        raise OffsetMismatch(
            f"Upload-Offset is {client_offset} but the server has {current} bytes; HEAD the upload and resume there"
        )
    limit = upload.length if upload.length is not None else settings.max_upload_bytes
    body = request_length(request)
    if body is not None and current + body > limit:
        raise UploadTooLarge(f"this request would take the upload to {current + body} bytes, past its {limit}")
    needed = body if body is not None else (limit - current if upload.length is not None else 0)
    check_free_space(settings, get_storage(settings.media_root), needed)

    writer = PartWriter(part_path(settings, upload.id), start=current, limit=limit, checksum=checksum)
    reader = _READERS[upload.id] = BodyReader(request)
    cut_short: str | None = None  # why the body ended early; what reached the disk is kept
    try:
        try:
            async for chunk in reader:
                if writer.add(chunk):
                    await run_in_threadpool(writer.flush)
        except ClientDisconnect:
            cut_short = "the client disconnected"
        except BodyAbandoned as exc:
            cut_short = str(exc)
            if reader.stopped:  # superseded: keep exactly what is on disk, as a HEAD may have reported
                writer.discard_pending()
        await run_in_threadpool(writer.flush)
        if checksum is not None and (cut_short or not writer.checksum_ok()):
            await run_in_threadpool(writer.rollback)  # unverifiable or wrong: none of it counts
            if not cut_short:
                raise ChecksumMismatch(f"the {checksum[0]} of this request's body does not match Upload-Checksum")
    except IngestError:
        await run_in_threadpool(writer.rollback)
        raise
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise InsufficientStorage("the disk filled up during the upload; free space, then resume") from exc
        raise
    finally:
        if _READERS.get(upload.id) is reader:
            del _READERS[upload.id]
        await run_in_threadpool(writer.close)
        await run_in_threadpool(record_progress, settings, session, upload, offset=writer.offset)
    if upload.length is not None and writer.offset == upload.length:
        return await _finish(settings, session, held)
    if cut_short:
        raise BodyIncomplete(f"the body ended early ({cut_short}); {writer.offset} bytes are kept: HEAD, then resume")
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_upload_headers(upload, writer.offset))


async def _finish(settings: Settings, session: SessionDep, held: Held) -> Response:
    """Ingest the complete file; a rejected one takes its upload with it."""
    upload = held.upload
    name = part_path(settings, upload.id).name
    try:
        result = await run_in_threadpool(finalize_upload, settings, session, upload, enqueue=enqueue_job)
    except IngestError as exc:
        raise type(exc)(str(exc).replace(name, upload.filename), code=exc.code) from exc
    except Exception as exc:  # not the file's fault: the bytes are kept and a HEAD retries
        log.exception("upload %s: storing the finished upload failed", upload.id)
        raise IngestFailed(
            f"all {upload.offset} bytes arrived and are kept, but storing the recording failed (the server log "
            "says why); send HEAD for this upload to retry"
        ) from exc
    return JSONResponse(
        recording_summary(result.recording, result.info),
        status_code=status.HTTP_200_OK,
        headers=_upload_headers(upload, upload.offset),
    )


async def _with_upload(
    settings: Settings,
    session: SessionDep,
    upload_id: str,
    key: ApiKey,
    work: Callable[[Held], Awaitable[Response]],
    *,
    takeover: bool = False,
    peek: bool = False,
) -> Response:
    """Run ``work`` on the claimed upload; ``takeover`` stops this process's stalled writer of it first."""
    if takeover and upload_id in _READERS:
        await run_in_threadpool(load_upload, session, upload_id, key=key)  # only the owner may interrupt
        if (reader := _READERS.get(upload_id)) is not None:
            reader.stop()  # a tus client sends one request at a time: the old one's client is gone
    held = await run_in_threadpool(acquire, settings, session, upload_id, key=key, wait=1.0 if peek else 5.0, peek=peek)
    try:
        return await work(held)
    finally:
        held.release()


@router.post(
    PREFIX, status_code=status.HTTP_201_CREATED, dependencies=TusDeps, include_in_schema=False, response_model=None
)
@router.post(
    f"{PREFIX}/",
    status_code=status.HTTP_201_CREATED,
    dependencies=TusDeps,
    summary="tus: create an upload (Upload-Length, Upload-Metadata; a body is its first bytes) (roles: admin, content)",
    response_model=None,
)
async def tus_create(request: Request, settings: SettingsDep, session: SessionDep, key: IngestKey) -> Response:
    session.commit()  # end the auth transaction
    length = _int_header(request, "upload-length")
    deferred = request.headers.get("upload-defer-length") == "1"
    if (length is None) == (not deferred):
        raise TusProtocolError("send either Upload-Length or 'Upload-Defer-Length: 1'")
    body = request_length(request)
    has_body = (body or 0) > 0 or "chunked" in request.headers.get("transfer-encoding", "")
    if has_body and request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_STREAM:
        raise TusProtocolError(f"a creation request with a body needs Content-Type: {OFFSET_STREAM}")
    metadata = parse_metadata(request.headers.get("upload-metadata"))
    check_upload_size(settings, length)
    check_free_space(settings, get_storage(settings.media_root), length or body or 0)
    upload = await run_in_threadpool(
        create_upload, settings, session, length=length, metadata=metadata, api_key_id=key.id
    )
    location = f"{request.scope.get('root_path', '')}{PREFIX}/{upload.id}"
    if not has_body and length != 0:
        headers = {**_upload_headers(upload, 0), "Location": location}
        return Response(status_code=status.HTTP_201_CREATED, headers=headers)

    async def first_bytes(held: Held) -> Response:
        try:
            answer = await _receive(request, settings, session, held, client_offset=0)
        except IngestError:  # the client never learns this upload's URL: do not keep it
            await run_in_threadpool(terminate_upload, settings, session, held.upload)
            raise
        answer.status_code = status.HTTP_201_CREATED
        answer.headers["Location"] = location
        return answer

    return await _with_upload(settings, session, upload.id, key, first_bytes)


@router.head(
    f"{PREFIX}/{{upload_id}}", dependencies=TusDeps, summary="tus: the upload's offset (roles: admin, content)"
)
async def tus_head(
    upload_id: UploadId, request: Request, settings: SettingsDep, session: SessionDep, key: IngestKey
) -> Response:
    del request

    async def report(held: Held) -> Response:
        upload = held.upload
        if held.busy:  # another request is writing: report what is on disk now
            offset = await run_in_threadpool(disk_offset, settings, upload)
        elif held.fd is None:
            offset = upload.offset
        else:
            offset = await run_in_threadpool(sync_offset, settings, session, upload)
            if upload.length is not None and offset == upload.length:
                await _finish(settings, session, held)  # all bytes arrived but the ingest never ran
        headers = _upload_headers(upload, offset)
        if upload.upload_metadata:
            headers["Upload-Metadata"] = _encode_metadata(upload.upload_metadata)
        return Response(status_code=status.HTTP_200_OK, headers=headers)

    return await _with_upload(settings, session, upload_id, key, report, peek=True)


@router.patch(
    f"{PREFIX}/{{upload_id}}",
    dependencies=TusDeps,
    summary="tus: append bytes at Upload-Offset; the last byte ingests the recording (roles: admin, content)",
    response_model=None,
)
async def tus_patch(
    upload_id: UploadId, request: Request, settings: SettingsDep, session: SessionDep, key: IngestKey
) -> Response:
    session.commit()  # end the auth transaction
    if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_STREAM:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            {"code": "unsupported_media_type", "message": f"PATCH bodies must be sent as {OFFSET_STREAM}"},
        )
    client_offset = _int_header(request, "upload-offset")
    if client_offset is None:
        raise TusProtocolError("Upload-Offset is required")

    async def append(held: Held) -> Response:
        return await _receive(request, settings, session, held, client_offset=client_offset)

    return await _with_upload(settings, session, upload_id, key, append, takeover=True)


@router.delete(
    f"{PREFIX}/{{upload_id}}",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=TusDeps,
    summary="tus: terminate an upload and delete its bytes (roles: admin, content)",
    response_model=None,
)
async def tus_delete(upload_id: UploadId, settings: SettingsDep, session: SessionDep, key: IngestKey) -> Response:
    async def terminate(held: Held) -> Response:
        await run_in_threadpool(terminate_upload, settings, session, held.upload)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return await _with_upload(settings, session, upload_id, key, terminate, takeover=True)


@router.post(f"{PREFIX}/{{upload_id}}", dependencies=TusDeps, include_in_schema=False, response_model=None)
async def tus_method_override(
    upload_id: UploadId, request: Request, settings: SettingsDep, session: SessionDep, key: IngestKey
) -> Response:
    """``X-HTTP-Method-Override`` for clients behind proxies that only pass GET and POST."""
    method = request.headers.get("x-http-method-override", "").upper()
    if method == "PATCH":
        return await tus_patch(upload_id, request, settings, session, key)
    if method == "HEAD":
        return await tus_head(upload_id, request, settings, session, key)
    if method == "DELETE":
        return await tus_delete(upload_id, settings, session, key)
    raise HTTPException(
        status.HTTP_405_METHOD_NOT_ALLOWED,
        {"code": "method_not_allowed", "message": "POST an upload URL only with X-HTTP-Method-Override"},
    )
