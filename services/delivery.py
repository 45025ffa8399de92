"""One delivery attempt of a publication: claim it, build the post, run the adapter's exchange over httpx
under the account's rate limit, and record what happened.

Outcomes: delivered -> ``sent``; throttled, 5xx, or a network error before the request left (or during
an upload, which posts nothing) -> ``retrying`` with backoff and full jitter (honouring Retry-After),
``failed`` after :data:`MAX_ATTEMPTS`; a timeout or dropped connection after a posting request left ->
``unknown``, never retried automatically; rejected, bad config, caption too long -> ``failed``. Over
the rate limit -> back to ``pending`` at the window's reset plus its place in the account's queue, no
attempt counted. Anything that fails before a request left ends the attempt too: a bad clip request or an
unreadable file -> ``failed``; the rate-limit storage or the network unreachable -> ``retrying``. Nothing
leaves a row ``sending``.

Every write after the claim is a compare-and-set on (status, attempts, job): a stale worker (its row
marked ``unknown`` and retried by a person meanwhile) cannot overwrite the newer attempt.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from distribution.channels.base import ChannelAdapter, Delivered
from distribution.errors import ChannelThrottled, DeliveryError, DistributionError
from runtime.config import Settings
from services.delivery_http import Deferred, NeverLeft, OutcomeUnknown, run_exchange
from services.delivery_post import VariantPending, build_post, remember_uploads, scrub, write_package
from services.errors import ServiceError
from services.publishing import (
    DUE_STATES,
    FAILED,
    PENDING,
    RETRYING,
    SENDING,
    SENT,
    UNKNOWN,
    as_utc,
)
from services.targets import ACTIVE as TARGET_ACTIVE
from services.variants import VariantPending as VariantRendering
from store.db import session_scope
from store.errors import StoreError
from store.models import ChannelTarget, Publication, utcnow
from studio.clip.types import ClipError

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_CAP = 600.0  # seconds
VARIANT_WAIT = 10.0  # seconds before trying again while a leader's variant renders
DUE_SLACK = timedelta(seconds=1)  # a countdown that fires a hair early still counts as due
EXTERNAL_URL_MAX = 2000

Send = Callable[[Settings, str], bool]


@dataclass(frozen=True)
class Claim:
    publication_id: str
    attempt: int
    job_id: str | None = None


def backoff(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before the next attempt: full jitter over 2^attempt (capped), at least Retry-After."""
    jittered = random.uniform(0, min(BACKOFF_CAP, 2.0**attempt))
    return min(BACKOFF_CAP, max(retry_after or 0.0, jittered))


def claim(settings: Settings, publication_id: str, *, job_id: str | None, now: datetime) -> Claim | str:
    """Compare-and-set a due publication to ``sending`` (attempts + 1); else the reason nothing runs."""
    with session_scope(settings.database_url) as session:
        publication = session.get(Publication, publication_id)
        if publication is None:
            return "missing"
        if publication.status == SENDING and job_id is not None and publication.job_id == job_id:
            _set(session, publication_id, SENDING, publication.attempts, **_unknown("the worker stopped while sending"))
            return UNKNOWN  # an earlier run of this very job died mid-send: never resend blindly
        due = as_utc(publication.due_at)
        if publication.status not in DUE_STATES or (due is not None and due > now + DUE_SLACK):
            return f"not due ({publication.status})"
        target = session.get(ChannelTarget, publication.target_id)
        if target is None or target.status != TARGET_ACTIVE:
            _set(
                session,
                publication_id,
                publication.status,
                publication.attempts,
                status=FAILED,
                error_code="target_disabled",
                last_error="the target is disabled or gone; enable it, then retry",
            )
            return FAILED
        values: dict[str, Any] = {
            "status": SENDING,
            "sending_since": now,
            "attempts": publication.attempts + 1,
            "job_id": job_id,
        }
        if not _set(session, publication_id, publication.status, publication.attempts, **values):
            return "claimed elsewhere"
        return Claim(publication_id, publication.attempts + 1, job_id)


def _set(
    session: Any,
    publication_id: str,
    expect_status: str,
    expect_attempts: int,
    *,
    expect_job: str | bool | None = False,
    **values: Any,
) -> bool:
    """Compare-and-set on (status, attempts[, job]): only the attempt that holds the row changes it.
    ``expect_job`` (a job id or None; False: any) pins the job that claimed the row."""
    query = update(Publication).where(
        Publication.id == publication_id,
        Publication.status == expect_status,
        Publication.attempts == expect_attempts,
    )
    if expect_job is not False:
        query = query.where(Publication.job_id.is_(None) if expect_job is None else Publication.job_id == expect_job)
    done = session.execute(query.values(updated_at=utcnow(), **values).execution_options(synchronize_session=False))
    return getattr(done, "rowcount", 0) == 1


def _unknown(reason: str) -> dict[str, Any]:
    return {
        "status": UNKNOWN,
        "sending_since": None,
        "error_code": "outcome_unknown",
        "last_error": f"{reason}: the post may have gone out. Check the group, then retry to send again",
    }


def deliver(
    settings: Settings,
    publication_id: str,
    *,
    job_id: str | None = None,
    send: Send | None = None,
    request_timeout: float | None = None,
    now: datetime | None = None,
) -> str:
    """One attempt; returns the publication's status afterwards (or why nothing ran)."""
    claimed = claim(settings, publication_id, job_id=job_id, now=now or utcnow())
    if not isinstance(claimed, Claim):
        log.info("publication=%s: %s", publication_id, claimed)
        return claimed
    secrets: list[str] = []
    try:
        prepared = build_post(settings, publication_id, send=send)
        secrets = prepared.secrets
        delivered = run_exchange(settings, prepared, timeout_cap=request_timeout)
        if delivered.package is not None:
            write_package(settings, delivered.package)
    except (VariantPending, VariantRendering):
        return _finish(claimed, settings, status=PENDING, attempts=claimed.attempt - 1, due_in=VARIANT_WAIT)
    except Deferred as wait:
        return _defer(claimed, settings, prepared.account, wait)
    except OutcomeUnknown as exc:
        return _finish(claimed, settings, **_unknown(scrub(str(exc), secrets)))
    except (NeverLeft, ChannelThrottled) as exc:
        return _retry(claimed, settings, exc, secrets)
    except DeliveryError as exc:
        if exc.retryable:
            return _retry(claimed, settings, exc, secrets)
        return _finish(claimed, settings, status=FAILED, error=scrub(str(exc), secrets), code=exc.code)
    except (DistributionError, ServiceError, StoreError) as exc:  # bad config, caption too long, missing media, secrets
        code = getattr(exc, "code", None) or type(exc).__name__.lower()[:32]
        return _finish(claimed, settings, status=FAILED, error=scrub(str(exc), secrets), code=str(code)[:32])
    except ClipError as exc:  # the clip cannot be shared as asked (a bad share link request, a variant)
        return _finish(claimed, settings, status=FAILED, error=scrub(str(exc), secrets), code="clip_error")
    except ConnectionError as exc:  # a socket outside httpx (storage, database): nothing was sent
        return _retry(claimed, settings, exc, secrets)
    except OSError as exc:  # a file that cannot be read or written (media, the export folder)
        return _finish(claimed, settings, status=FAILED, error=scrub(str(exc), secrets), code="file_error")
    return _sent(claimed, settings, prepared.adapter, prepared.memory_scope, delivered)


def _defer(claimed: Claim, settings: Settings, account: str, wait: Deferred) -> str:
    """Back to ``pending`` after the rate window's reset, behind the publications already waiting for the
    same account (one rate slot apart each), so a bulk post does not all wake at one moment."""
    with session_scope(settings.database_url) as session:
        waiting = session.scalar(
            select(func.count(Publication.id))
            .join(ChannelTarget, ChannelTarget.id == Publication.target_id)
            .where(
                ChannelTarget.account == account,
                Publication.status == PENDING,
                Publication.due_at > utcnow(),
                Publication.id != claimed.publication_id,
            )
        )
    retry_at = wait.retry_at + int(waiting or 0) * wait.spacing
    return _finish(claimed, settings, status=PENDING, attempts=claimed.attempt - 1, due_at=retry_at, error=None)


def _retry(claimed: Claim, settings: Settings, exc: Exception, secrets: list[str]) -> str:
    message = scrub(str(exc), secrets)
    code = str(getattr(exc, "code", "network"))[:32]
    if claimed.attempt >= MAX_ATTEMPTS:
        return _finish(
            claimed, settings, status=FAILED, error=f"gave up after {claimed.attempt} attempts: {message}", code=code
        )
    wait = backoff(claimed.attempt, getattr(exc, "retry_after", None))
    return _finish(claimed, settings, status=RETRYING, due_in=wait, error=message, code=code)


def _finish(
    claimed: Claim,
    settings: Settings,
    *,
    status: str,
    attempts: int | None = None,
    due_in: float | None = None,
    due_at: float | None = None,
    error: str | None = None,
    code: str | None = None,
    **extra: Any,
) -> str:
    values: dict[str, Any] = {"status": status, "sending_since": None, **extra}
    if attempts is not None:
        values["attempts"] = attempts
    if due_in is not None:
        values["due_at"] = utcnow() + timedelta(seconds=due_in)
    if due_at is not None:
        values["due_at"] = datetime.fromtimestamp(due_at, tz=utcnow().tzinfo)
    if "last_error" not in values and (error is not None or status == PENDING):
        values["last_error"] = error
    if code is not None:
        values["error_code"] = code
    with session_scope(settings.database_url) as session:
        if not _set(session, claimed.publication_id, SENDING, claimed.attempt, expect_job=claimed.job_id, **values):
            log.warning("publication=%s changed while sending; outcome %s dropped", claimed.publication_id, status)
            return "lost"
    log.info("publication=%s attempt=%d -> %s %s", claimed.publication_id, claimed.attempt, status, error or "")
    return status


def safe_external_url(url: str | None) -> str | None:
    """A link a page may render: http(s) only (a receiver's ``Location`` could say ``javascript:``), capped."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > EXTERNAL_URL_MAX:
        return None
    return url


def _sent(claimed: Claim, settings: Settings, adapter: ChannelAdapter, scope: str, delivered: Delivered) -> str:
    """Record ``sent`` (committed on its own), then remember the channel's upload ids in a transaction of
    their own: a clash there must never undo the record of a post that is already visible."""
    now = utcnow()
    with session_scope(settings.database_url) as session:
        done = _set(
            session,
            claimed.publication_id,
            SENDING,
            claimed.attempt,
            expect_job=claimed.job_id,
            status=SENT,
            sending_since=None,
            sent_at=now,
            external_id=(delivered.external_id or None) and str(delivered.external_id)[:200],
            external_url=safe_external_url(delivered.external_url),
            form=(delivered.form or "message")[:16],
            last_error=None,
            error_code=None,
        )
    log.info("publication=%s sent (%s) on attempt %d", claimed.publication_id, delivered.form, claimed.attempt)
    if done and delivered.remember:
        try:
            with session_scope(settings.database_url) as session:
                remember_uploads(session, adapter, scope, delivered.remember, now=now)
        except SQLAlchemyError as exc:
            log.warning("publication=%s: upload ids not remembered (%s)", claimed.publication_id, exc)
    return SENT if done else "lost"
