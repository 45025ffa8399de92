"""Running an adapter's exchange over httpx, with the account's rate limit before each request.

A network failure is sorted by whether the request can have reached the channel: a refused or timed-out
connection never left (:class:`NeverLeft`, retried); a timeout or dropped connection after a posting
request (``posts=True``) was sent may have posted (:class:`OutcomeUnknown`, never retried blindly); the
same during an upload (``posts=False``) posted nothing (:class:`NeverLeft`).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

import httpx

from distribution.channels.base import Delivered, HttpRequest, HttpResponse
from distribution.errors import ChannelRejected, ChannelUnavailable, DeliveryError
from runtime.config import Settings
from services.rate_limits import RateStorageUnavailable, acquire

if TYPE_CHECKING:
    from services.delivery_post import Prepared

#: The longest a later request of one exchange waits in process for the rate window (else deferred).
MAX_INLINE_WAIT = 30.0
CONNECT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


class Deferred(Exception):
    """Over the account's rate: try again at ``retry_at`` (epoch seconds); no attempt counted. ``spacing``
    is the rate's seconds per request (window / limit): how far apart waiting publications are spread."""

    def __init__(self, retry_at: float, spacing: float = 0.0) -> None:
        super().__init__(f"rate limited until {retry_at:.1f}")
        self.retry_at = retry_at
        self.spacing = spacing


class NeverLeft(ChannelUnavailable):
    """A network error that cannot have posted anything: retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="network")


class OutcomeUnknown(Exception):
    """The posting request left and no answer came back: the post may be visible."""


def _send(client: httpx.Client, request: HttpRequest, timeout: float) -> HttpResponse:
    kwargs: dict[str, Any] = {
        "headers": dict(request.headers),
        "timeout": httpx.Timeout(timeout, connect=min(10.0, timeout)),
    }
    with ExitStack() as stack:
        if request.json is not None:
            kwargs["json"] = request.json
        elif request.content is not None:
            kwargs["content"] = request.content
        elif request.files:
            files = []
            for part in request.files:
                body: Any = part.content if part.path is None else stack.enter_context(part.path.open("rb"))
                files.append((part.field, (part.filename, body, part.content_type)))
            kwargs["files"] = files
            kwargs["data"] = dict(request.form)
        elif request.form:
            kwargs["data"] = dict(request.form)
        response = client.request(request.method, request.url, **kwargs)
    status = response.status_code  # a channel's status, not ours
    return HttpResponse(status, dict(response.headers), response.content)


def _rate(settings: Settings, prepared: Prepared, first: bool, posted: bool) -> None:
    """Wait for the account's rate. Before anything is visible a long wait defers the whole publication;
    once part of the post is visible the rest waits here (starting again later would post that part twice)."""
    while True:
        try:
            decision = acquire(settings, prepared.channel, prepared.account)
        except RateStorageUnavailable as exc:  # nothing of this request left: retried (unknown once posted)
            raise _after(posted, ChannelUnavailable(str(exc), code="rate_storage")) from None
        if decision.allowed:
            return
        wait = decision.retry_at - time.time()
        if first or (wait > MAX_INLINE_WAIT and not posted):
            raise Deferred(decision.retry_at, decision.spacing)
        time.sleep(max(0.0, wait))


def run_exchange(settings: Settings, prepared: Prepared, *, timeout_cap: float | None = None) -> Delivered:
    """Drive the adapter's generator to its :class:`Delivered`; delivery errors propagate."""
    exchange = prepared.adapter.exchange(prepared.post)
    try:
        request = next(exchange)
    except StopIteration as stop:
        delivered: Delivered = stop.value
        return delivered
    first, posted = True, False  # posted: a posting request of this exchange was answered and accepted
    with httpx.Client(follow_redirects=False) as client:
        while True:
            _rate(settings, prepared, first, posted)
            first = False
            timeout = min(request.timeout, timeout_cap) if timeout_cap else request.timeout
            try:
                response = _send(client, request, timeout)
            except CONNECT_ERRORS as exc:
                raise _after(posted, NeverLeft(f"{request.label}: could not connect ({type(exc).__name__})")) from None
            except httpx.TransportError as exc:  # read/write timeouts, dropped connections, protocol errors
                what = f"{request.label}: {type(exc).__name__} after the request was sent"
                if request.posts:
                    raise OutcomeUnknown(what) from None
                raise _after(posted, NeverLeft(what)) from None
            except OSError as exc:  # a file to upload cannot be opened: this request never left
                why = exc.strerror or type(exc).__name__
                unreadable = ChannelRejected(f"{request.label}: cannot read a file ({why})", code="file_error")
                raise _after(posted, unreadable) from None
            try:
                next_request = exchange.send(response)
            except StopIteration as stop:
                delivered = stop.value
                return delivered
            except DeliveryError as exc:
                raise _after(posted, exc) from None
            posted = posted or request.posts
            request = next_request


def _after(posted: bool, exc: DeliveryError) -> Exception:
    """An error that would be retried is final once part of the post is visible: retrying would post that
    part again, so a person checks the group instead (``unknown``)."""
    if posted and exc.retryable:
        return OutcomeUnknown(f"part of the post went out, then: {exc}")
    return exc
