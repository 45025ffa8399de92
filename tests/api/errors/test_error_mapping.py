"""Domain errors carry no HTTP status; ``api/errors.py`` gives every one of them a status and a body."""

from __future__ import annotations

import importlib
import pickle
import pkgutil
import subprocess
from pathlib import Path

import pytest

import services
import store
from api.errors import MESSAGE_ONLY, STATUS, detail_for, status_for
from services.errors import ServiceError
from sidedata.errors import ImportProblem, SideDataImportError
from store.errors import StoreError

ROOT = Path(__file__).resolve().parents[3]
ROOTS = (ServiceError, StoreError)


def _import_all() -> None:
    """Import every module that may define domain errors (the API's own edge errors included)."""
    for package in (services, store):
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if ".migrations" not in module.name:
                importlib.import_module(module.name)
    for name in ("api.ingest_http", "api.routers.uploads", "api.routers.tus"):
        importlib.import_module(name)


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _domain_errors() -> list[type[Exception]]:
    _import_all()
    found: set[type] = set()
    for root in ROOTS:
        found |= _subclasses(root)
    return sorted(found, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


@pytest.mark.parametrize("cls", _domain_errors(), ids=lambda cls: f"{cls.__module__}.{cls.__qualname__}")
def test_every_domain_error_has_a_status(cls: type[Exception]) -> None:
    mapped = [base for base in cls.__mro__ if base in STATUS]
    assert mapped, f"{cls.__qualname__} has no HTTP status in api.errors.STATUS"
    assert not hasattr(cls, "status_code"), "the domain must not carry HTTP status codes"
    assert isinstance(getattr(cls, "code", None), str)


def test_the_kinds_decide_the_status() -> None:
    from services.ingest import BadField, PathNotAllowed, RejectedMedia, UploadTooLarge
    from services.uploads import ChecksumMismatch, UploadGone, UploadLocked, UploadNotFound
    from store.errors import ClipNotFound, InvalidHighlight, KeyNotFound, UnknownRole

    expected = {
        BadField("x"): (422, "bad_field"),
        PathNotAllowed("x"): (403, "path_not_allowed"),
        RejectedMedia("x"): (422, "bad_media"),
        UploadTooLarge("x"): (413, "too_large"),
        UploadNotFound("x"): (404, "upload_not_found"),
        UploadGone("x"): (410, "upload_gone"),
        UploadLocked("x"): (423, "upload_locked"),
        ChecksumMismatch("x"): (460, "checksum_mismatch"),
        InvalidHighlight("x"): (422, "invalid"),
    }
    for exc, (status, code) in expected.items():
        assert status_for(exc) == status, type(exc)
        assert detail_for(exc) == {"code": code, "message": "x"}
    for exc, status in ((ClipNotFound("no clip"), 404), (KeyNotFound("no key"), 404), (UnknownRole("role"), 422)):
        assert isinstance(exc, MESSAGE_ONLY)
        assert (status_for(exc), detail_for(exc)) == (status, str(exc))
    assert status_for(RuntimeError("bug")) == 500


def test_side_data_import_errors_list_their_problems() -> None:
    exc = SideDataImportError([ImportProblem("chat.csv", line, "time", "not a time") for line in range(2, 32)])
    detail = detail_for(exc)
    assert status_for(exc) == 422
    assert detail["code"] == "invalid_side_data"
    assert detail["problem_count"] == 30 and len(detail["problems"]) == 20


def test_a_code_given_at_raise_time_survives_pickling() -> None:
    from services.ingest import RejectedMedia

    exc = pickle.loads(pickle.dumps(RejectedMedia("not video", code="probe_failed")))
    assert (type(exc), str(exc), exc.code) == (RejectedMedia, "not video", "probe_failed")


def test_no_http_status_below_the_api() -> None:
    layers = ["services", "store", "pipeline", "studio", "sidedata", "runtime"]
    found = subprocess.run(
        ["grep", "-rn", "--include=*.py", r"status_code\|HTTP_", *layers], cwd=ROOT, capture_output=True, text=True
    )
    # an HTTP client reading a channel's answer (services/delivery_http.py) says so on the line
    lines = [line for line in found.stdout.splitlines() if "# a channel's status, not ours" not in line]
    assert found.returncode in (0, 1) and not found.stderr and lines == [], "\n".join(lines) + found.stderr
