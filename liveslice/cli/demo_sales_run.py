"""``liveslice demo``'s sales step: a week of simulated traffic and shop sales for the demo's clips, then a
few live visits and an order through the public contracts, and the report they make.

1. Commission rates (10% to the leader, 2% to their recruiter) unless some are set, and Lily recruited by
   Wang, so a second level shows.
2. A week of history (:func:`services.demo_sales.simulate_sales`): scans, clicks, WeChat visits, preview
   bots and HEADs, sales carrying their click id, one partly refunded; commissions in the ledger.
3. Live, through the app in this process: ``GET /s/{code}`` from a phone, WeChat's browser (the landing
   page), DingTalk's preview fetcher and a HEAD; then a signed ``POST /api/sales/webhook`` order that
   carries the ``lsclid`` the redirect handed out. The app's shutdown stores the buffered clicks.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient  # the app in this process, as a phone and a shop reach it
from rich.console import Console
from rich.table import Table
from standardwebhooks import Webhook

from api.main import create_app
from runtime.config import Settings
from services import ledger
from services.clicks import drain_clicks
from services.demo_sales import SimulatedSales, simulate_sales
from services.report_period import period
from services.reports import ReportRow, report
from store import share_links
from store.db import session_scope
from store.models import Clip, Leader

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1"
WECHAT = PHONE + " MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
DINGTALK = "Mozilla/5.0 (compatible; DingTalkBot-LinkService/1.0)"
DEMO_RATES = [{"scope": "default", "level": 1, "percent": "10"}, {"scope": "default", "level": 2, "percent": "2"}]


@dataclass
class DemoSales:
    """What the sales step made: the simulated week, the live order's id, and the report by leader."""

    history: SimulatedSales
    live_orders: list[str]
    by_leader: list[ReportRow]


def simulate_demo_sales(
    settings: Settings, clip_ids: list[str], leaders: dict[str, str], *, console: Console
) -> DemoSales:
    """Run the sales step for ``clip_ids`` and ``leaders`` (id -> name); print the report by leader."""
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    settings = settings.model_copy(update={"sales_webhook_secrets": [secret], "click_drain": "api"})
    ids = list(leaders)
    with session_scope(settings.database_url) as session:
        if not ledger.list_rates(session):
            ledger.set_rates(session, DEMO_RATES)
        if len(ids) > 1 and (second := session.get(Leader, ids[1])) is not None and not second.recruiter_id:
            second.recruiter_id = ids[0]
        history = simulate_sales(settings, session, clip_ids=clip_ids, leader_ids=ids)
    live: list[str] = []
    app = create_app(settings)
    with TestClient(app) as client:
        for leader_id in ids:
            with session_scope(settings.database_url) as session:
                clip = session.get(Clip, clip_ids[0])
                buy = str((clip.product or {}).get("buy_url") or "") if clip else ""
                if clip is None or not buy:
                    continue  # no shop link: nothing to click through to
                session.expunge(clip)
                code = share_links.get_or_create_link(
                    session, clip_id=clip.id, leader_id=leader_id, channel="wecom", target_url=buy
                ).code
            click_id = _visit(client, code)
            app.state.click_buffer.close()  # as its drainer would a second later: stored, so that
            drain_clicks(settings)  # the order below finds its click (it comes minutes later in life)
            live.append(_order(client, secret, code, click_id, clip))
    with session_scope(settings.database_url) as session:
        rows = report(session, group_by="leader", span=period(None, None, None, default_tz=settings.timezone))
    _print(console, history, rows)
    return DemoSales(history, live, rows)


def _visit(client: TestClient, code: str) -> str:
    """A phone's click (its lsclid returned), a WeChat visit, a preview bot and a HEAD on ``/s/{code}``."""
    answer = client.get(f"/s/{code}", headers={"user-agent": PHONE}, follow_redirects=False)
    click_id = parse_qs(urlsplit(answer.headers.get("location", "")).query).get("lsclid", [""])[0]
    client.get(f"/s/{code}?qr=1", headers={"user-agent": WECHAT}, follow_redirects=False)  # the landing page
    client.get(f"/s/{code}", headers={"user-agent": DINGTALK}, follow_redirects=False)  # flagged, not counted
    client.head(f"/s/{code}", headers={"user-agent": PHONE}, follow_redirects=False)  # flagged: head
    return click_id


def _order(client: TestClient, secret: str, code: str, click_id: str, clip: Clip) -> str:
    """A signed order for 2 of the clip's product that carries ``click_id`` back, as a shop would send it."""
    price = round(float((clip.product or {}).get("price") or 99) * 100)
    order_id = f"DEMO-LIVE-{uuid.uuid4().hex[:8].upper()}"
    body = json.dumps(
        {
            "order_id": order_id,
            "status": "paid",
            "currency": "CNY",
            "amount": 2 * price,
            "paid_at": datetime.now(UTC).isoformat(),
            "items": [{"sku": clip.sku or "DEMO", "quantity": 2, "amount": 2 * price}],
            "click_id": click_id or None,
            "share_code": code,
        }
    ).encode()
    message_id, now = f"msg_{uuid.uuid4().hex}", datetime.now(UTC)
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, now, body),
        "content-type": "application/json",
    }
    answer = client.post("/api/sales/webhook", content=body, headers=headers)
    answer.raise_for_status()
    return order_id


def _yuan(minor: int) -> str:
    return f"¥{minor / 100:,.2f}"


def _print(console: Console, history: SimulatedSales, rows: list[ReportRow]) -> None:
    console.print(
        f"simulated a week: {history.scans} scans, {history.clicks} clicks, {history.bot_hits} bot hits (flagged), "
        f"{history.sales} orders, GMV {_yuan(history.gmv)}, refunds {_yuan(history.refunds)}",
        highlight=False,
    )
    table = Table(title="Sales by leader, last 30 days (GET /api/reports?group_by=leader)")
    for name in ("leader", "scans", "clicks", "unique", "bots", "orders", "GMV", "refunds", "commission"):
        table.add_column(name, justify="left" if name == "leader" else "right")
    for row in rows:
        table.add_row(
            row.label,
            str(row.scans),
            str(row.clicks),
            str(row.unique_visitors),
            str(row.bot_hits),
            str(row.orders),
            _yuan(row.gmv),
            _yuan(row.refunds),
            _yuan(row.commission),
        )
    console.print(table)
