"""``GET /api/links/{code}/clicks``: a share link's counts and recent clicks, bots flagged.

For admins and merchants; a leader key reads only its own links. The visitor's identity hash and
the IP (never stored) are not shown. Reports across links live with the reports.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.deps import SessionDep, leader_scope, require_roles
from api.formatting import iso
from store import clicks as click_store
from store.models import ApiKey

router = APIRouter(tags=["clicks"])

ClickReader = Annotated[ApiKey, Depends(require_roles("admin", "merchant", "leader"))]


@router.get("/api/links/{code}/clicks")
def link_clicks(
    code: str,
    key: ClickReader,
    session: SessionDep,
    include_bots: Annotated[bool, Query(description="list bot hits too (they are always counted apart)")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Counts (scans, clicks, unique visitors: humans only; bot hits apart) and the newest clicks."""
    link = click_store.link_by_code(session, code)
    scope = leader_scope(key)
    if link is None or (scope is not None and link.leader_id != scope):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no share link {code!r}")
    counts = click_store.counts(session, link.id)
    rows = click_store.recent(session, link.id, include_bots=include_bots, limit=limit)
    return {
        "code": link.code,
        "clip_id": link.clip_id,
        "leader_id": link.leader_id,
        "channel": link.channel,
        "disabled": link.disabled_at is not None,
        "counts": {
            "scans": counts.scans,
            "clicks": counts.clicks,
            "unique_visitors": counts.unique_visitors,
            "bot_hits": counts.bot_hits,
        },
        "clicks": [
            {
                "id": row.id,
                "at": iso(row.at),
                "kind": row.kind,
                "method": row.method,
                "bot": row.bot,
                "bot_reason": row.bot_reason,
                "in_app": row.in_app,
                "unique_visit": row.unique_visit,
                "user_agent": row.user_agent,
                "referer": row.referer,
            }
            for row in rows
        ],
    }
