"""Publications: a clip sent to a target, for a leader or none. Creating, bulk, listing, cancel and retry.

States: ``scheduled`` (due later) -> ``pending`` (due) -> ``sending`` -> ``sent`` | ``failed`` |
``unknown``; ``retrying`` between attempts; ``cancelled``. ``unknown`` is a timeout after the posting
request left: only a person's :func:`retry_publication` sends it again. The idempotency key is saved at
creation; a person's retry makes a new one (the person checked the group and decided to post again, so
a receiver that dedupes on the key must not drop it). The sending itself is :mod:`services.delivery`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.errors import Conflict, InvalidValue, NotFound, ServiceError
from services.targets import ACTIVE as TARGET_ACTIVE
from services.targets import get_target
from store.approvals import APPROVED
from store.models import ChannelTarget, Clip, ClipVariant, Job, Leader, Publication, new_id, utcnow

SCHEDULED, PENDING, SENDING, SENT = "scheduled", "pending", "sending", "sent"
FAILED, UNKNOWN, RETRYING, CANCELLED = "failed", "unknown", "retrying", "cancelled"
STATUSES = (SCHEDULED, PENDING, SENDING, SENT, FAILED, UNKNOWN, RETRYING, CANCELLED)
#: States a delivery may start from (when due).
DUE_STATES = (SCHEDULED, PENDING, RETRYING)
CANCELLABLE = (SCHEDULED, PENDING, RETRYING, FAILED, UNKNOWN)
RETRYABLE = (FAILED, UNKNOWN, CANCELLED)
#: States that do not block publishing the same (clip, target, leader) again.
NOT_DUPLICATES = (FAILED, CANCELLED)
#: A ``sending`` publication older than this (and whose job has no live worker) timed out: ``unknown``.
SENDING_GRACE = timedelta(seconds=120)


class PublicationError(ServiceError):
    """A publication cannot be made or changed as asked."""


class PublicationNotFound(NotFound, PublicationError):
    code = "publication_not_found"


class PublicationConflict(Conflict, PublicationError):
    code = "publication_conflict"


class DuplicatePublication(PublicationConflict):
    """The same (clip, target, leader) is already published or on its way; ``extra`` names it."""

    code = "duplicate_publication"

    def __init__(self, existing: Publication) -> None:
        super().__init__(
            f"clip {existing.clip_id} is already published to target {existing.target_id} for this leader "
            f"({existing.status}) as {existing.id}"
        )
        self.existing_id = existing.id
        self.extra = {"existing_id": existing.id, "existing_status": existing.status}


class InvalidPublication(InvalidValue, PublicationError):
    code = "invalid_publication"


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes (stored as UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def check_zone(timezone: str) -> ZoneInfo:
    """The IANA zone ``timezone``; :class:`InvalidPublication` names a bad one."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPublication(f"unknown time zone {timezone!r} (use an IANA name like Asia/Shanghai)") from None


def parse_schedule(value: str | datetime | None, timezone: str) -> datetime | None:
    """ISO 8601 with an offset, or a naive wall-clock time read in ``timezone``; as aware UTC."""
    zone = check_zone(timezone)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        when = value
    else:
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidPublication(
                f"scheduled_at {value!r} is not an ISO 8601 time (e.g. 2025-06-01T20:00:00+08:00)"
            ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.astimezone(UTC)


def _check_clip(session: Session, clip_id: str) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise InvalidPublication(f"no clip {clip_id!r}")
    if clip.review_status != APPROVED:
        raise PublicationConflict(f"clip {clip_id} is not approved: approve the clip first")
    if clip.status != "ready":
        raise PublicationConflict(f"clip {clip_id} is {clip.status}, not ready: it has no video to publish yet")
    return clip


def given_variant(session: Session, clip_id: str, leader_id: str) -> ClipVariant | None:
    return session.scalars(
        select(ClipVariant).where(ClipVariant.clip_id == clip_id, ClipVariant.leader_id == leader_id)
    ).first()


def _resolve_leader(session: Session, target: ChannelTarget, clip: Clip, leader_id: str | None) -> str | None:
    leader_id = leader_id or target.leader_id
    if leader_id is None:
        return None
    if session.get(Leader, leader_id) is None:
        raise InvalidPublication(f"no leader {leader_id!r}")
    if target.leader_id is not None and target.leader_id != leader_id:
        raise InvalidPublication(f"target {target.id} is leader {target.leader_id}'s own group, not {leader_id}'s")
    if given_variant(session, clip.id, leader_id) is None:
        raise PublicationConflict(f"leader {leader_id} was not given clip {clip.id}: give it to them when approving")
    return leader_id


def find_duplicate(
    session: Session, *, clip_id: str, target_id: str, leader_id: str | None, besides: str | None = None
) -> Publication | None:
    """A publication of the same (clip, target, leader) that is not failed or cancelled (other than
    ``besides``). The database enforces the same rule (``uq_publications_once``) against races."""
    query = select(Publication).where(
        Publication.clip_id == clip_id,
        Publication.target_id == target_id,
        Publication.leader_id.is_(None) if leader_id is None else Publication.leader_id == leader_id,
        Publication.status.not_in(NOT_DUPLICATES),
    )
    if besides is not None:
        query = query.where(Publication.id != besides)
    return session.scalars(query).first()


def _refuse_duplicate(
    session: Session, *, clip_id: str, target_id: str, leader_id: str | None, besides: str | None = None
) -> None:
    duplicate = find_duplicate(session, clip_id=clip_id, target_id=target_id, leader_id=leader_id, besides=besides)
    if duplicate is not None:
        raise DuplicatePublication(duplicate)


def _clash(session: Session, publication: Publication) -> PublicationConflict:
    """The conflict for an insert or update the unique index refused (another request won the race)."""
    duplicate = find_duplicate(
        session,
        clip_id=publication.clip_id,
        target_id=publication.target_id,
        leader_id=publication.leader_id,
        besides=publication.id,
    )
    if duplicate is not None:
        return DuplicatePublication(duplicate)
    return PublicationConflict(f"publication {publication.id} clashed with another change; look again")


def create_publication(
    settings: Settings,
    session: Session,
    *,
    clip_id: str,
    target_id: str,
    leader_id: str | None = None,
    scheduled_at: str | datetime | None = None,
    timezone: str | None = None,
    created_by: str | None = None,
    now: datetime | None = None,
) -> Publication:
    """A new publication (flushed, not committed): ``scheduled`` when due later, else ``pending`` (due now).
    Dispatch it after the commit (``pipeline.publishing.dispatch``)."""
    now = now or utcnow()
    clip = _check_clip(session, clip_id)
    try:
        target = get_target(session, target_id)
    except NotFound:
        raise InvalidPublication(f"no target {target_id!r}") from None
    if target.status != TARGET_ACTIVE:
        raise PublicationConflict(f"target {target.id} ({target.name}) is {target.status}")
    leader = _resolve_leader(session, target, clip, leader_id)
    _refuse_duplicate(session, clip_id=clip.id, target_id=target.id, leader_id=leader)
    zone = timezone or settings.timezone
    when = parse_schedule(scheduled_at, zone)
    later = when is not None and when > now
    publication = Publication(
        clip_id=clip.id,
        target_id=target.id,
        leader_id=leader,
        status=SCHEDULED if later else PENDING,
        idempotency_key=new_id(),
        scheduled_at=when,
        timezone=zone,
        due_at=when if later else now,
        attempts=0,
        created_by=created_by,
    )
    try:
        with session.begin_nested():  # a lost race undoes only this row (a bulk publish goes on)
            session.add(publication)
    except IntegrityError:
        raise _clash(session, publication) from None
    return publication


def get_publication(session: Session, publication_id: str, *, leader_id: str | None = None) -> Publication:
    publication = session.get(Publication, publication_id)
    if publication is None or (leader_id is not None and publication.leader_id != leader_id):
        raise PublicationNotFound(f"no publication {publication_id!r}")
    return publication


def list_publications(
    session: Session,
    *,
    status: str | None = None,
    clip_id: str | None = None,
    target_id: str | None = None,
    leader_id: str | None = None,
    limit: int = 200,
) -> list[Publication]:
    query = select(Publication).order_by(Publication.created_at.desc(), Publication.id).limit(limit)
    if status is not None:
        if status not in STATUSES:
            raise InvalidPublication(f"status must be one of {', '.join(STATUSES)}")
        query = query.where(Publication.status == status)
    for column, value in ((Publication.clip_id, clip_id), (Publication.target_id, target_id)):
        if value is not None:
            query = query.where(column == value)
    if leader_id is not None:
        query = query.where(Publication.leader_id == leader_id)
    return list(session.scalars(query))


def _transition(session: Session, publication: Publication, values: dict[str, Any]) -> None:
    done = session.execute(
        update(Publication)
        .where(Publication.id == publication.id, Publication.status == publication.status)
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if getattr(done, "rowcount", 0) != 1:
        raise PublicationConflict(f"publication {publication.id} changed meanwhile; look again")
    session.refresh(publication)


def cancel_publication(session: Session, publication_id: str) -> Publication:
    """Stop a publication that has not gone out; one being sent right now cannot be stopped."""
    publication = get_publication(session, publication_id)
    if publication.status == SENDING:
        raise PublicationConflict(f"publication {publication_id} is being sent right now; it cannot be cancelled")
    if publication.status not in CANCELLABLE:
        raise PublicationConflict(f"publication {publication_id} is {publication.status}; nothing to cancel")
    _transition(session, publication, {"status": CANCELLED, "due_at": None})
    return publication


def retry_publication(session: Session, publication_id: str, *, now: datetime | None = None) -> Publication:
    """A person's resend of a failed, unknown or cancelled publication: due now, attempts from zero,
    and a NEW idempotency key (for ``unknown``, the person checked the group and chose to post again,
    so a receiver deduplicating on the old key must not swallow it)."""
    publication = get_publication(session, publication_id)
    if publication.status not in RETRYABLE:
        raise PublicationConflict(
            f"publication {publication_id} is {publication.status}; only failed, unknown or cancelled ones are retried"
        )
    _refuse_duplicate(
        session,
        clip_id=publication.clip_id,
        target_id=publication.target_id,
        leader_id=publication.leader_id,
        besides=publication.id,
    )
    values = {
        "status": PENDING,
        "due_at": now or utcnow(),
        "attempts": 0,
        "idempotency_key": new_id(),
        "sending_since": None,
        "error_code": None,
    }
    try:
        with session.begin_nested():
            _transition(session, publication, values)
    except IntegrityError:
        raise _clash(session, publication) from None
    return publication


def due_publication_ids(session: Session, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Publications due now (scheduled, pending or retrying), oldest due first."""
    query = (
        select(Publication.id)
        .where(Publication.status.in_(DUE_STATES), Publication.due_at <= (now or utcnow()))
        .order_by(Publication.due_at)
        .limit(limit)
    )
    return list(session.scalars(query))


def expire_stuck_sending(settings: Settings, session: Session, *, now: datetime | None = None) -> list[str]:
    """``sending`` publications older than :data:`SENDING_GRACE` whose job has no live worker become
    ``unknown`` (a worker died mid-send: whether the post went out nobody knows; never resent blindly)."""
    now = now or utcnow()
    fresh = now - timedelta(seconds=settings.stale_seconds)
    rows = session.execute(
        select(Publication, Job)
        .outerjoin(Job, Job.id == Publication.job_id)
        .where(Publication.status == SENDING, Publication.sending_since < now - SENDING_GRACE)
    ).all()
    changed = []
    for publication, job in rows:
        beat = as_utc(job.heartbeat_at) if job is not None else None
        if job is not None and job.status == "running" and beat is not None and beat > fresh:
            continue  # its worker is alive (a long upload): it records the outcome itself
        done = session.execute(
            update(Publication)
            .where(Publication.id == publication.id, Publication.status == SENDING)
            .values(
                status=UNKNOWN,
                sending_since=None,
                error_code="outcome_unknown",
                last_error="the worker stopped while sending: check the group, then retry to send again",
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 0) == 1:
            changed.append(publication.id)
    return changed


def publication_payload(publication: Publication) -> dict[str, Any]:
    """A publication as an answer (no secrets: errors are scrubbed when recorded)."""

    def iso(value: datetime | None) -> str | None:
        value = as_utc(value)
        return value.isoformat() if value else None

    return {
        "id": publication.id,
        "status": publication.status,
        "clip_id": publication.clip_id,
        "target_id": publication.target_id,
        "leader_id": publication.leader_id,
        "attempts": publication.attempts,
        "last_error": publication.last_error,
        "error_code": publication.error_code,
        "external_id": publication.external_id,
        "external_url": publication.external_url,
        "form": publication.form,
        "caption": publication.caption,
        "scheduled_at": iso(publication.scheduled_at),
        "timezone": publication.timezone,
        "due_at": iso(publication.due_at),
        "sent_at": iso(publication.sent_at),
        "job_id": publication.job_id,
        "created_at": iso(publication.created_at),
    }
