"""The one place where domain errors become HTTP answers.

:data:`STATUS` maps each kind of error to its status code; the most specific class in an error's MRO
wins. The JSON routes answer ``{"detail": {"code": ..., "message": ...}}`` through the exception
handlers :func:`install_error_handlers` registers; the errors in :data:`MESSAGE_ONLY` answer with the bare
message (``{"detail": "..."}``), as those routes always have. The web pages turn these answers into their
HTML error pages (``api.routers.pages.PageRoute``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.responses import JSONResponse

from services import errors as service
from services.ingest import IngestError
from services.ledger import LedgerError
from services.media_urls import MediaLinkError
from services.publishing import PublicationError
from services.recordings import RecordingError
from services.report_period import ReportError
from services.sales import SalesError
from services.secrets import SecretsError
from services.storage.base import KeyNotFound, StorageError, TransientStorageError
from services.targets import TargetError
from services.tuning import TuningError
from services.weight_presets import WeightPresetError
from sidedata.errors import SideDataError, SideDataImportError
from store import errors as store

log = logging.getLogger(__name__)

#: The HTTP status of each kind of domain error. Domain errors list their kind first (``class
#: UploadTooLarge(TooLarge, IngestError)``), so a kind outranks the domain root's default below it.
STATUS: dict[type[Exception], int] = {
    service.InvalidRequest: status.HTTP_400_BAD_REQUEST,
    service.NotAuthenticated: status.HTTP_401_UNAUTHORIZED,
    service.NotPermitted: status.HTTP_403_FORBIDDEN,
    service.NotFound: status.HTTP_404_NOT_FOUND,
    service.Interrupted: status.HTTP_408_REQUEST_TIMEOUT,
    service.Conflict: status.HTTP_409_CONFLICT,
    service.Expired: status.HTTP_410_GONE,
    service.TooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    service.InvalidValue: status.HTTP_422_UNPROCESSABLE_CONTENT,
    service.RejectedMedia: status.HTTP_422_UNPROCESSABLE_CONTENT,
    service.Busy: status.HTTP_423_LOCKED,
    service.ChecksumMismatch: 460,  # tus checksum extension: "Checksum Mismatch"
    service.NotReadyYet: status.HTTP_503_SERVICE_UNAVAILABLE,  # with Retry-After (headers_for)
    service.Unavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
    service.Misconfigured: status.HTTP_500_INTERNAL_SERVER_ERROR,
    service.InsufficientStorage: status.HTTP_507_INSUFFICIENT_STORAGE,
    StorageError: status.HTTP_500_INTERNAL_SERVER_ERROR,
    KeyNotFound: status.HTTP_404_NOT_FOUND,
    TransientStorageError: status.HTTP_503_SERVICE_UNAVAILABLE,
    store.RecordNotFound: status.HTTP_404_NOT_FOUND,
    store.InvalidRecord: status.HTTP_422_UNPROCESSABLE_CONTENT,
    store.MissingMedia: status.HTTP_404_NOT_FOUND,
    SideDataError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    # domain roots: the default for an error of that domain with no kind of its own
    SecretsError: status.HTTP_500_INTERNAL_SERVER_ERROR,
    SalesError: status.HTTP_500_INTERNAL_SERVER_ERROR,
    LedgerError: status.HTTP_500_INTERNAL_SERVER_ERROR,
    RecordingError: status.HTTP_500_INTERNAL_SERVER_ERROR,
    TargetError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    PublicationError: status.HTTP_409_CONFLICT,
    MediaLinkError: status.HTTP_404_NOT_FOUND,
    IngestError: status.HTTP_400_BAD_REQUEST,
    ReportError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    TuningError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    WeightPresetError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    store.HighlightError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    store.KeyRequestError: status.HTTP_422_UNPROCESSABLE_CONTENT,
}

#: Errors answered with the bare message as ``detail`` rather than ``{"code", "message"}``.
MESSAGE_ONLY: tuple[type[Exception], ...] = (store.RecordNotFound, store.UnknownRole)

#: How many of a side-data import's problems an answer lists.
PROBLEMS_SHOWN = 20

#: The roots of the domain errors answered here.
DOMAIN_ERRORS: tuple[type[Exception], ...] = (service.ServiceError, store.StoreError, SideDataError)


def status_for(exc: BaseException) -> int:
    """The status of ``exc``: that of the first class in its MRO with one, else 500."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def detail_for(exc: BaseException) -> Any:
    """The ``detail`` of the JSON answer for ``exc``."""
    if isinstance(exc, MESSAGE_ONLY):
        return str(exc)
    detail: dict[str, Any] = {"code": getattr(exc, "code", "error"), "message": str(exc)}
    extra = getattr(exc, "extra", None)
    if isinstance(extra, dict):  # e.g. a blocked approval's lint findings
        detail.update(extra)
    if isinstance(exc, SideDataImportError):
        problems = [str(p) for p in exc.problems]
        detail.update(problems=problems[:PROBLEMS_SHOWN], problem_count=len(problems))
    return detail


def headers_for(exc: BaseException, headers: dict[str, str] | None = None) -> dict[str, str] | None:
    """``headers`` plus ``Retry-After`` for an error that says when to ask again (``NotReadyYet``)."""
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(exc, service.NotReadyYet) and isinstance(retry_after, int):
        return {"Retry-After": str(retry_after), **(headers or {})}
    return headers


def http_error(exc: BaseException, headers: dict[str, str] | None = None) -> HTTPException:
    """``exc`` as an :class:`HTTPException` (for routes that answer by raising one)."""
    return HTTPException(status_for(exc), detail=detail_for(exc), headers=headers_for(exc, headers))


def error_response(exc: BaseException, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON answer for ``exc``."""
    code = status_for(exc)
    if code >= status.HTTP_500_INTERNAL_SERVER_ERROR and not isinstance(exc, service.NotReadyYet):
        log.warning("answering %s for %s: %s", code, type(exc).__name__, exc)
    return JSONResponse({"detail": detail_for(exc)}, status_code=code, headers=headers_for(exc, headers))


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    del request
    return error_response(exc)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every domain error a JSON route lets through with its mapped status."""
    for root in DOMAIN_ERRORS:
        app.add_exception_handler(root, _handle)
