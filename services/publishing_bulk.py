"""Bulk publishing: every clip to every target, or a leader's clips to their groups, each pair through
:func:`services.publishing.create_publication` (duplicates and leaders without the clip are skipped, with why)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from runtime.config import Settings
from services.errors import NotFound
from services.publishing import (
    DuplicatePublication,
    InvalidPublication,
    PublicationConflict,
    create_publication,
    given_variant,
)
from services.targets import ACTIVE as TARGET_ACTIVE
from services.targets import get_target, list_targets
from store.approvals import clips_for_leader
from store.models import ChannelTarget, Leader, Publication


@dataclass
class BulkResult:
    """What a bulk publish made, and what it skipped with why."""

    created: list[Publication] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _bulk_one(
    settings: Settings, session: Session, result: BulkResult, *, clip_id: str, target: ChannelTarget, **kwargs: Any
) -> None:
    leader_id = kwargs.pop("leader_id", None) or target.leader_id
    note = {"clip_id": clip_id, "target_id": target.id, "leader_id": leader_id}
    if leader_id is not None and given_variant(session, clip_id, leader_id) is None:
        result.skipped.append({**note, "reason": f"leader {leader_id} was not given this clip"})
        return
    try:
        created = create_publication(
            settings, session, clip_id=clip_id, target_id=target.id, leader_id=leader_id, **kwargs
        )
    except DuplicatePublication as duplicate:
        status = duplicate.extra["existing_status"]
        result.skipped.append(
            {
                **note,
                "reason": f"already published ({status}) as {duplicate.existing_id}",
                "existing_id": duplicate.existing_id,
            }
        )
        return
    result.created.append(created)


def publish_bulk(
    settings: Settings,
    session: Session,
    *,
    clip_ids: Sequence[str],
    target_ids: Sequence[str],
    scheduled_at: str | datetime | None = None,
    timezone: str | None = None,
    created_by: str | None = None,
) -> BulkResult:
    """Every clip to every target (all or nothing: a clip that is not approved stops the lot). A pair
    that duplicates a live publication, or a leader's group whose leader lacks the clip, is skipped."""
    if not clip_ids or not target_ids:
        raise InvalidPublication("give at least one clip id and one target id")
    targets = []
    for target_id in dict.fromkeys(target_ids):
        try:
            targets.append(get_target(session, target_id))
        except NotFound:
            raise InvalidPublication(f"no target {target_id!r}") from None
    result = BulkResult()
    for clip_id in dict.fromkeys(clip_ids):
        for target in targets:
            _bulk_one(
                settings,
                session,
                result,
                clip_id=clip_id,
                target=target,
                scheduled_at=scheduled_at,
                timezone=timezone,
                created_by=created_by,
            )
    return result


def publish_for_leader(
    settings: Settings,
    session: Session,
    *,
    leader_id: str,
    scheduled_at: str | datetime | None = None,
    timezone: str | None = None,
    created_by: str | None = None,
) -> BulkResult:
    """Every approved clip given to the leader, to each of the leader's active groups."""
    if session.get(Leader, leader_id) is None:
        raise InvalidPublication(f"no leader {leader_id!r}")
    targets = list_targets(session, leader_id=leader_id, status=TARGET_ACTIVE)
    if not targets:
        raise PublicationConflict(f"leader {leader_id} has no active targets (add their groups first)")
    result = BulkResult()
    for clip, _variant_row in clips_for_leader(session, leader_id):
        for target in targets:
            _bulk_one(
                settings,
                session,
                result,
                clip_id=clip.id,
                target=target,
                leader_id=leader_id,
                scheduled_at=scheduled_at,
                timezone=timezone,
                created_by=created_by,
            )
    return result
