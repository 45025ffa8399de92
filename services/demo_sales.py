"""Simulated traffic and shop sales for the demo's clips and leaders, so the dashboards have real rows.

For each (clip, leader) it makes the leader's share link per channel, then over the last few days: human
clicks (some repeated within the hour, so not unique), QR scans, visits from WeChat's in-app browser,
link-preview bots (flagged, with their reason) and HEAD requests (flagged ``head``), then shop sales whose
order carries the click id back, each attributed to that click's link, one of them partly refunded. Every
sale is handed to :func:`services.ledger.on_sale_changed` in its transaction, as the sales code does.

Note for the lead: the rows are written through the models here because the public contracts
(``GET /s/{code}`` click logging and ``POST /api/sales/webhook``) are built in parallel. Once they are merged,
``liveslice demo`` should rather drive those endpoints (the same mix of user agents and methods) and keep
:class:`SimulatedSales` as the counts the report must show.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from runtime.config import Settings
from services import ledger
from store import share_links
from store.models import Attribution, Click, Clip, Sale, SaleEvent, SaleLine, ShareLink, utcnow

CHANNELS = ("wecom", "telegram")
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
WECHAT = IPHONE + " MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
BOTS = (
    ("Mozilla/5.0 (compatible; WeComBot/1.0)", "preview:wecom"),
    ("TelegramBot (like TwitterBot)", "crawler"),
    ("Mozilla/5.0 (compatible; DingTalkBot-LinkService/1.0)", "crawler"),
)


@dataclass
class SimulatedSales:
    """What was written: the counts a report over the whole period must show."""

    scans: int = 0
    clicks: int = 0
    unique_visitors: int = 0
    bot_hits: int = 0
    sales: int = 0
    gmv: int = 0
    refunds: int = 0


def _identity(settings: Settings, visitor: str, agent: str) -> str:
    return hashlib.sha256(f"{settings.resolved_secret_key()}|{visitor}|{agent}".encode()).hexdigest()


def _price(clip: Clip) -> int:
    """The clip's product price in minor units (99.00 when the clip has none)."""
    try:
        return max(1, round(float((clip.product or {}).get("price") or 99) * 100))
    except (TypeError, ValueError):
        return 9900


class _Writer:
    def __init__(self, settings: Settings, session: Session, rng: random.Random, totals: SimulatedSales) -> None:
        self.settings, self.session, self.rng, self.totals = settings, session, rng, totals

    def click(
        self,
        link: ShareLink,
        at: datetime,
        *,
        visitor: str,
        agent: str,
        kind: str = "click",
        unique: bool = True,
        bot: str | None = None,
        method: str = "GET",
    ) -> Click:
        row = Click(
            id=secrets.token_hex(16),
            link_id=link.id,
            at=at,
            kind=kind,
            method=method,
            identity=_identity(self.settings, visitor, agent),
            user_agent=agent,
            referer=None,
            in_app="wechat" if "MicroMessenger" in agent else None,
            bot=bot is not None,
            bot_reason=bot,
            unique_visit=unique and bot is None,
            recorded_at=at,
        )
        self.session.add(row)
        if bot is not None:
            self.totals.bot_hits += 1
        else:
            self.totals.scans += kind == "scan"
            self.totals.clicks += kind == "click"
            self.totals.unique_visitors += row.unique_visit
        return row

    def sale(self, clip: Clip, link: ShareLink, click: Click, *, quantity: int, refund_share: float = 0.0) -> Sale:
        amount = _price(clip) * quantity
        refund = int(amount * refund_share)
        paid_at = click.at + timedelta(minutes=self.rng.randint(2, 90))
        row = Sale(
            order_id=f"DEMO-{secrets.token_hex(6).upper()}",
            source="webhook",
            status="partially_refunded" if refund else "paid",
            currency=str((clip.product or {}).get("currency") or "CNY"),
            amount=amount,
            refund_amount=refund,
            paid_at=paid_at,
            click_id=click.id,
            share_code=link.code,
        )
        self.session.add(row)
        self.session.flush()
        self.session.add(SaleLine(sale_id=row.id, sku=clip.sku or "DEMO", quantity=quantity, amount=amount))
        self.session.add(SaleEvent(sale_id=row.id, at=paid_at, source="webhook", reference="demo", status="paid"))
        if refund:
            self.session.add(
                SaleEvent(sale_id=row.id, source="webhook", reference="demo", status=row.status, refund_amount=refund)
            )
        self.session.add(
            Attribution(
                sale_id=row.id,
                link_id=link.id,
                clip_id=clip.id,
                leader_id=link.leader_id,
                channel=link.channel,
                recording_id=clip.recording_id,
                method="click",
                click_id=click.id,
            )
        )
        self.session.flush()
        ledger.on_sale_changed(self.settings, self.session, sale_id=row.id, created=True)
        self.totals.sales += 1
        self.totals.gmv += amount
        self.totals.refunds += refund
        return row


def simulate_sales(
    settings: Settings,
    session: Session,
    *,
    clip_ids: Sequence[str],
    leader_ids: Sequence[str],
    days: int = 7,
    seed: int = 11,
    now: datetime | None = None,
) -> SimulatedSales:
    """Traffic and sales for every (clip, leader) over the last ``days`` days, in the caller's transaction.
    Deterministic for a ``seed``; clips without a product buy URL get links to a demo shop page."""
    rng, totals = random.Random(seed), SimulatedSales()
    write = _Writer(settings, session, rng, totals)
    end = now or utcnow()
    refunded = False
    for clip_index, clip_id in enumerate(clip_ids):
        clip = session.get(Clip, clip_id)
        if clip is None:
            continue
        target = str(
            (clip.product or {}).get("buy_url") or f"{settings.public_base_url}/demo-shop/{clip.sku or 'item'}"
        )
        for leader_index, leader_id in enumerate(leader_ids):
            for channel in CHANNELS:
                link = share_links.get_or_create_link(
                    session, clip_id=clip.id, leader_id=leader_id, channel=channel, target_url=target
                )
                posted = end - timedelta(days=rng.uniform(0.5, days - 0.5))
                for bot_agent, reason in BOTS[: 1 + (clip_index + leader_index) % len(BOTS)]:  # right after posting
                    write.click(
                        link,
                        posted + timedelta(seconds=rng.uniform(1, 5)),
                        visitor="preview",
                        agent=bot_agent,
                        bot=reason,
                    )
                write.click(
                    link, posted + timedelta(seconds=6), visitor="preview", agent=DESKTOP, bot="head", method="HEAD"
                )
                visits: list[Click] = []
                weight = 3 if clip_index == 0 else 1  # the first clip sells best
                for n in range(rng.randint(4, 8) * weight):
                    at = posted + timedelta(minutes=rng.uniform(5, 60 * 24))
                    agent = WECHAT if n % 3 == 0 else IPHONE
                    kind = "scan" if n % 4 == 1 else "click"
                    visitor = f"{clip_index}-{leader_index}-{channel}-{n}"
                    visits.append(write.click(link, at, visitor=visitor, agent=agent, kind=kind))
                    if n % 5 == 2:  # the same visitor again within the hour: counted, not unique
                        again = at + timedelta(minutes=rng.uniform(1, 30))
                        write.click(link, again, visitor=visitor, agent=agent, kind=kind, unique=False)
                for click in rng.sample(visits, k=min(len(visits), rng.randint(1, 2) * weight)):
                    if click.at > end - timedelta(minutes=95):
                        continue  # would be paid in the future
                    write.sale(clip, link, click, quantity=rng.randint(1, 3), refund_share=0.0 if refunded else 0.5)
                    refunded = True
    session.flush()
    return totals
