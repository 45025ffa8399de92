"""The services' error root and the kinds of failure, each named for what happened.

A service error carries a machine ``code`` (stable, for clients and logs) and a message for people.
Domain errors subclass a kind first and their domain root second, e.g.
``class UploadTooLarge(TooLarge, IngestError)``, so that the kind decides how an edge answers (the API
maps kinds to HTTP status codes in ``api/errors.py``; the CLI to exit codes) while callers may still
catch a whole domain.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A use case cannot be carried out as asked."""

    code = "service_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        """Pickle with the code (e.g. across worker processes)."""
        return (_rebuild, (type(self), str(self), self.code))


def _rebuild(cls: type[ServiceError], message: str, code: str) -> ServiceError:
    error = cls.__new__(cls)
    ServiceError.__init__(error, message, code=code)
    return error


class InvalidRequest(ServiceError):
    """The request is malformed (a header, a form, a protocol step out of order)."""

    code = "bad_request"


class InvalidValue(ServiceError):
    """The request is well formed but a value in it is unusable."""

    code = "invalid"


class NotAuthenticated(ServiceError):
    """The request does not prove who sent it (a bad or stale signature)."""

    code = "not_authenticated"


class NotPermitted(ServiceError):
    """The request asks for something this installation does not allow."""

    code = "not_permitted"


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not the caller's)."""

    code = "not_found"


class Expired(ServiceError):
    """The thing asked for existed but is gone for good."""

    code = "gone"


class Conflict(ServiceError):
    """The request contradicts the current state (an offset, a status)."""

    code = "conflict"


class Busy(ServiceError):
    """Someone else is working on the same thing right now; retry in a moment."""

    code = "busy"


class Interrupted(ServiceError):
    """The data stopped arriving before its end; what arrived is kept."""

    code = "interrupted"


class TooLarge(ServiceError):
    """The data is over a configured size limit."""

    code = "too_large"


class RejectedMedia(ServiceError):
    """The file is not usable media."""

    code = "bad_media"


class ChecksumMismatch(ServiceError):
    """The data does not match the checksum sent with it."""

    code = "checksum_mismatch"


class InsufficientStorage(ServiceError):
    """Not enough disk space for the data, with the configured reserve kept free."""

    code = "insufficient_storage"


class NotReadyYet(ServiceError):
    """The thing asked for is being made right now; ask again after ``retry_after`` seconds."""

    code = "not_ready"
    retry_after = 5


class Unavailable(ServiceError):
    """A dependency (database, object store) failed; the same request may work later."""

    code = "unavailable"


class Misconfigured(ServiceError):
    """The installation's configuration cannot serve the request (a key it needs is gone); an operator fixes it."""

    code = "misconfigured"
