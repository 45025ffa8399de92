"""Reading the click log of one share link (the reports aggregate elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from store.models import Click, ShareLink


@dataclass(frozen=True)
class ClickCounts:
    """A link's counts: humans' scans and clicks, their unique visits, and bot hits (shown apart)."""

    scans: int
    clicks: int
    unique_visitors: int
    bot_hits: int


def link_by_code(session: Session, code: str) -> ShareLink | None:
    """The link with ``code``, disabled or not."""
    return session.scalars(select(ShareLink).where(ShareLink.code == code)).first()


def counts(session: Session, link_id: str) -> ClickCounts:
    """Scans, clicks and unique visitors count humans only; bots are counted apart."""
    human = Click.bot.is_(False)
    row = session.execute(
        select(
            func.coalesce(func.sum(case((human & (Click.kind == "scan"), 1), else_=0)), 0),
            func.coalesce(func.sum(case((human & (Click.kind == "click"), 1), else_=0)), 0),
            func.coalesce(func.sum(case((human & Click.unique_visit.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((Click.bot.is_(True), 1), else_=0)), 0),
        ).where(Click.link_id == link_id)
    ).one()
    return ClickCounts(scans=int(row[0]), clicks=int(row[1]), unique_visitors=int(row[2]), bot_hits=int(row[3]))


def recent(session: Session, link_id: str, *, include_bots: bool, limit: int) -> list[Click]:
    """The newest clicks of a link, bots included only when asked."""
    query = select(Click).where(Click.link_id == link_id)
    if not include_bots:
        query = query.where(Click.bot.is_(False))
    return list(session.scalars(query.order_by(Click.at.desc(), Click.id).limit(limit)))
