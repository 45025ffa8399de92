"""Review before sharing: lint a clip's text, approve it, and give it to leaders.

Approving saves the title, caption and hashtags (after :func:`distribution.review.lint`: errors block,
warnings are returned) and gives the clip to leaders (``leader_ids``, default every active leader): each
gets a variant row (no files: it renders on first request) and their share link ``/s/{code}``.
Re-approving updates the text and adds leaders; grants are only removed by :func:`revoke`. A fast-mode
clip (a stream copy with no overlays) cannot end on a leader's card, so it is approved for leaders only
with ``leader_ids: []`` (it can still be published as it is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from distribution import review as lint_rules
from runtime.config import Settings
from services.errors import Conflict, InvalidValue
from services.storage import get_storage
from store import clips as clip_repo
from store import leaders as leader_repo
from store.approvals import APPROVED
from store.models import Clip, ClipVariant, Leader, utcnow
from store.share_links import ShareLinkError, get_or_create_link

MAX_TITLE_CHARS = 200
MAX_CAPTION_CHARS = 2000


class ReviewServiceError(InvalidValue):
    """A review or approval request failed."""

    code = "review_failed"


class InvalidReview(ReviewServiceError):
    """Bad review text (too long, bad hashtags), or leaders that cannot be given the clip."""

    code = "invalid_review"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra  # shown in the API's answer beside code and message

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), str(self), self.extra))


def _rebuild(cls: type[InvalidReview], message: str, extra: dict[str, Any]) -> InvalidReview:
    return cls(message, **extra)


class ApprovalBlocked(InvalidReview):
    """The lint found errors; ``extra["errors"]`` names each term."""

    code = "lint_failed"


class ClipNotReady(Conflict, ReviewServiceError):
    code = "clip_not_ready"


@dataclass
class ApprovalResult:
    clip: Clip
    warnings: list[dict[str, Any]]
    leaders: list[str]  # every leader the clip is given to
    added: list[str] = field(default_factory=list)  # given by this approval


def _coupon(session: Session, clip: Clip) -> lint_rules.Coupon | None:
    row = clip_repo.get_product(session, sku=clip.sku) if clip.sku else None
    snapshot = clip.product or {}
    text = (row.coupon if row is not None else None) or snapshot.get("coupon")
    expires = row.coupon_expires if row is not None else None
    return lint_rules.Coupon(text, expires) if text else None


def check_text(
    session: Session, clip: Clip, *, title: str, caption: str, hashtags: Sequence[str], now: datetime | None = None
) -> tuple[list[str], lint_rules.LintReport]:
    """The cleaned hashtags and the lint of this text for ``clip`` (no changes made)."""
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidReview(f"the title is longer than {MAX_TITLE_CHARS} characters")
    if len(caption) > MAX_CAPTION_CHARS:
        raise InvalidReview(f"the caption is longer than {MAX_CAPTION_CHARS} characters")
    try:
        tags = lint_rules.clean_hashtags(hashtags)
    except lint_rules.InvalidHashtags as exc:
        raise InvalidReview(str(exc)) from exc
    report = lint_rules.lint(
        title=title, caption=caption, hashtags=tags, coupon=_coupon(session, clip), now=now or utcnow()
    )
    return tags, report


def current_review(session: Session, *, clip_id: str) -> dict[str, Any]:
    """The clip's review state and the lint of its current text (for the review UI)."""
    clip = clip_repo.get_clip(session, clip_id=clip_id)
    tags, report = check_text(
        session, clip, title=clip.title or "", caption=clip.caption or "", hashtags=list(clip.hashtags or [])
    )
    return {
        "clip_id": clip.id,
        "review_status": clip.review_status,
        "title": clip.title,
        "caption": clip.caption,
        "hashtags": tags,
        "approved_at": clip.approved_at.isoformat() if clip.approved_at else None,
        "approved_by": clip.approved_by,
        "leaders": sorted(v.leader_id for v in clip.variants),
        "errors": [f.as_dict() for f in report.errors],
        "warnings": [f.as_dict() for f in report.warnings],
    }


def _leaders(session: Session, leader_ids: Sequence[str] | None) -> list[Leader]:
    if leader_ids is None:
        return leader_repo.list_leaders(session, status=leader_repo.ACTIVE)
    wanted = list(dict.fromkeys(leader_ids))
    rows = {lid: session.get(Leader, lid) for lid in wanted}
    unknown = [lid for lid, row in rows.items() if row is None]
    inactive = [lid for lid, row in rows.items() if row is not None and row.status != leader_repo.ACTIVE]
    if unknown or inactive:
        parts = ([f"unknown leader(s): {', '.join(unknown)}"] if unknown else []) + (
            [f"inactive leader(s): {', '.join(inactive)}"] if inactive else []
        )
        raise InvalidReview("; ".join(parts), unknown_leaders=unknown, inactive_leaders=inactive)
    return [row for row in rows.values() if row is not None]


def _check_variants_possible(clip: Clip, leaders: Sequence[Leader]) -> None:
    """Refuse giving a fast-mode clip to leaders it is not given to yet: no end card can carry their name."""
    have = {v.leader_id for v in clip.variants}
    new = [leader.id for leader in leaders if leader.id not in have]
    if new and not clip_repo.variants_possible(clip):
        raise InvalidReview(
            f"clip {clip.id} is a fast-mode excerpt (a stream copy with no overlays): it cannot end on a leader's "
            'card, so it cannot be given to leaders; approve it with "leader_ids": [] to publish it as it is, '
            "or render it again in accurate mode",
            fast_mode=True,
            leaders=new,
        )


def _buy_url(session: Session, clip: Clip) -> str | None:
    row = clip_repo.get_product(session, sku=clip.sku) if clip.sku else None
    return (row.buy_url if row is not None else None) or (clip.product or {}).get("buy_url")


def give(settings: Settings, session: Session, clip: Clip, leaders: Sequence[Leader]) -> list[str]:
    """Give ``clip`` to ``leaders``: a variant row (files rendered on first request) and a share link each
    (when the product has a buy_url). Leaders who have it already are left as they are; returns the new."""
    have = {v.leader_id for v in clip.variants}
    buy_url = _buy_url(session, clip)
    added: list[str] = []
    for leader in leaders:
        if leader.id in have:
            continue
        variant = ClipVariant(clip_id=clip.id, leader_id=leader.id, leader_name=leader.name)
        clip.variants.append(variant)
        session.flush()
        if buy_url:
            try:
                link = get_or_create_link(
                    session, clip_id=clip.id, leader_id=leader.id, variant_id=variant.id, target_url=buy_url
                )
            except ShareLinkError as exc:
                raise InvalidReview(f"the product's buy_url cannot be a share link target: {exc}") from exc
            variant.share_url = f"{settings.public_base_url}/s/{link.code}"
        added.append(leader.id)
    session.flush()
    return added


def approve_clip(
    settings: Settings,
    session: Session,
    *,
    clip_id: str,
    title: str,
    caption: str,
    hashtags: Sequence[str],
    leader_ids: Sequence[str] | None,
    approved_by: str | None,
) -> ApprovalResult:
    """Lint, save and give; commits. Raises :class:`ApprovalBlocked` (lint errors), :class:`InvalidReview`
    (bad text or leaders), :class:`ClipNotReady`, ``ClipNotFound``."""
    try:
        clip = clip_repo.get_clip(session, clip_id=clip_id)
        if clip.status != "ready":
            raise ClipNotReady(f"clip {clip_id} is {clip.status}: only a ready clip can be approved")
        title, caption = " ".join(title.split()), caption.strip()
        if not title:
            raise InvalidReview("a title is required")
        tags, report = check_text(session, clip, title=title, caption=caption, hashtags=hashtags)
        warnings = [f.as_dict() for f in report.warnings]
        if report.errors:
            raise ApprovalBlocked(
                f"the text breaks advertising rules: {report.summary()}",
                errors=[f.as_dict() for f in report.errors],
                warnings=warnings,
            )
        leaders = _leaders(session, leader_ids)
        _check_variants_possible(clip, leaders)
        clip.title, clip.caption, clip.hashtags = title, caption, tags
        clip.review_status, clip.approved_at, clip.approved_by = APPROVED, utcnow(), approved_by
        added = give(settings, session, clip, leaders)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return ApprovalResult(clip, warnings, sorted(v.leader_id for v in clip.variants), added)


def revoke(settings: Settings, session: Session, *, clip_id: str, leader_ids: Sequence[str]) -> list[str]:
    """Take the clip back from ``leader_ids``: their variant rows and files go (their share links keep
    redirecting to the product, as QR codes already shared must); commits. Returns the leaders revoked."""
    clip = clip_repo.get_clip(session, clip_id=clip_id)
    wanted = set(leader_ids)
    gone = [v for v in clip.variants if v.leader_id in wanted]
    keys = [key for v in gone for key in (v.video_key, v.poster_key) if key]
    for variant in gone:
        clip.variants.remove(variant)
    session.commit()
    storage = get_storage(settings)
    for key in keys:
        storage.delete(key)
    return sorted(v.leader_id for v in gone)
