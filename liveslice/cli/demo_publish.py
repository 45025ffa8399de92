"""``liveslice demo``'s last step: publish the demo clips for its leaders to two local channel stand-ins.

Two stand-ins start on 127.0.0.1 (a WeCom group robot and a signed Feishu bot, each checking its service's
documented payload, signature and rate), each becomes one leader's group (a target), the clips are
approved for the demo leaders, and one publication per clip and leader goes through the real publish job
body in this process, as a worker would run it. It prints where each went.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from liveslice.standins.base import StandIn
from liveslice.standins.feishu import FeishuStandIn
from liveslice.standins.wecom import WeComStandIn
from pipeline.publishing import reconcile_publications, run_publish_job
from runtime.config import Settings
from services import publishing, review, targets
from services.publishing import DUE_STATES
from store.db import session_scope
from store.models import Clip, Job, Publication, utcnow

FINAL = ("sent", "failed", "unknown", "cancelled")
DEMO_GROUPS = {"wang": ("wecom", "小王的水果群 (WeCom)"), "lily": ("feishu", "Lily's group (Feishu)")}


@dataclass(frozen=True)
class DemoPublication:
    clip_id: str
    leader_id: str
    channel: str
    target: str
    status: str
    form: str | None
    error: str | None


def publish_demo(
    settings: Settings, clip_ids: list[str], leaders: dict[str, str], *, console: Console
) -> list[DemoPublication]:
    """Approve ``clip_ids`` for ``leaders`` (id -> name), publish each to its leader's stand-in group, and
    print the outcome. Returns one row per publication."""
    settings = settings.model_copy(
        update={"channel_hosts": [*settings.channel_hosts, "127.0.0.1"], "rate_limit_storage": "memory://"}
    )
    standins: dict[str, StandIn] = {"wecom": WeComStandIn(), "feishu": FeishuStandIn(secret="SECdemo-signing-secret")}
    for standin in standins.values():
        standin.start()
    try:
        ids = _publish(settings, clip_ids, leaders, standins)
        _drain(settings, ids)
        rows = _rows(settings, ids)
        _print(console, rows, standins)
    finally:
        for standin in standins.values():
            standin.stop()
    return rows


def _publish(
    settings: Settings, clip_ids: list[str], leaders: dict[str, str], standins: dict[str, StandIn]
) -> list[str]:
    with session_scope(settings.database_url) as session:
        target_of: dict[str, str] = {}
        for leader_id in leaders:
            channel, name = DEMO_GROUPS.get(leader_id, ("wecom", f"{leaders[leader_id]}'s group"))
            config: dict[str, Any] = standins[channel].target_config()  # type: ignore[attr-defined]
            target = targets.create_target(
                settings, session, channel=channel, name=name, config=config, leader_id=leader_id
            )
            target_of[leader_id] = target.id
        session.commit()
    ids: list[str] = []
    for clip_id in clip_ids:
        with session_scope(settings.database_url) as session:
            clip = session.get(Clip, clip_id)
            assert clip is not None
            product = (clip.product or {}).get("name") or "直播好物"
            review.approve_clip(
                settings,
                session,
                clip_id=clip_id,
                title=str(product)[:60],
                caption=f"{product} 直播同款，扫码或点链接下单。",
                hashtags=["直播好物", "团购"],
                leader_ids=list(leaders),
                approved_by=None,
            )
        with session_scope(settings.database_url) as session:
            for leader_id in leaders:
                publication = publishing.create_publication(
                    settings, session, clip_id=clip_id, target_id=target_of[leader_id], leader_id=leader_id
                )
                ids.append(publication.id)
    return ids


def _drain(settings: Settings, ids: list[str], *, timeout: float = 180.0) -> None:
    """Run due publications here, as the reconciler and a worker would, until all of ``ids`` are final."""
    deadline = time.monotonic() + timeout
    jobs: list[str] = []

    def send(_settings: Settings, job_id: str, **_options: Any) -> bool:
        jobs.append(job_id)  # run below, in this process
        return True

    while time.monotonic() < deadline:
        jobs.clear()
        reconcile_publications(settings, send)
        with session_scope(settings.database_url) as session:
            jobs += session.scalars(
                select(Job.id)
                .join(Publication, Publication.job_id == Job.id)
                .where(Job.status == "queued", Publication.status.in_(DUE_STATES), Publication.due_at <= utcnow())
            ).all()
            statuses = session.scalars(select(Publication.status).where(Publication.id.in_(ids))).all()
        for job_id in dict.fromkeys(jobs):
            run_publish_job(settings, job_id)
        if all(status in FINAL for status in statuses) and not jobs:
            return
        time.sleep(0.2)


def _rows(settings: Settings, ids: list[str]) -> list[DemoPublication]:
    with session_scope(settings.database_url) as session:
        rows = []
        for publication in session.scalars(select(Publication).where(Publication.id.in_(ids))):
            target = targets.get_target(session, publication.target_id)
            rows.append(
                DemoPublication(
                    publication.clip_id,
                    publication.leader_id or "",
                    target.type,
                    target.name,
                    publication.status,
                    publication.form,
                    publication.last_error,
                )
            )
        return sorted(rows, key=lambda row: (row.clip_id, row.leader_id))


def _print(console: Console, rows: list[DemoPublication], standins: dict[str, StandIn]) -> None:
    table = Table(title="Published to local stand-ins (liveslice publish)")
    for name in ("clip", "leader", "group", "status", "sent as"):
        table.add_column(name)
    for row in rows:
        status = row.status if row.status == "sent" else f"[red]{row.status}[/] {row.error or ''}"
        table.add_row(row.clip_id[:8], row.leader_id, row.target, status, row.form or "")
    console.print(table)
    for channel, standin in standins.items():
        console.print(
            f"{channel} stand-in at {standin.base_url}: {len(standin.posts)} message(s) accepted, "
            f"{standin.rejected_for_rate} refused for rate",
            highlight=False,
        )
