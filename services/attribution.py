"""Attribute a new shop sale to a link, clip, leader and channel, and bind its customer to the leader.

The facts (the carried click and, for ``first_click``, the visitor's other clicks, the link of the share
code, the customer's bindings) are read here; the choice is :mod:`distribution.attribution`'s.
Everything is written in the caller's transaction (flushed, not committed); on PostgreSQL the customer's
bindings are read and appended under a per-customer advisory lock, so two sales of one customer never
both bind. A sale is attributed when it is first stored: later deliveries change its status and refund,
which reverse the credit proportionally (the ledger and the reports read ``refund_amount / amount``).

**A click not stored yet.** The redirect buffers clicks and a drainer stores them seconds later, so a
sale may carry a click id that is not in the database yet. It is attributed provisionally (share code,
then binding) and looked at again: :func:`reattribute_pending` (the reconciler runs it after draining)
credits such sales by their click once it is stored, updating the Attribution row (not the ledger: that
stays append-only). It does so only when no money moves: the sale had no attribution, or the click's
leader is the provisional one (the usual case: the share code is the click's own link, only ``method``
and ``click_id`` change), or the sale has no ledger entry yet. A sale already carrying another leader's
commission keeps its provisional credit (moving the money would need a reversal and a new commission).
Only sales paid within the attribution window are looked at.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from distribution.attribution import (
    CLOCK_SKEW,
    BindingFact,
    ClickFact,
    Decision,
    LinkFact,
    Rules,
    SaleFacts,
    decide,
    new_binding,
)
from runtime.config import Settings
from services import ledger
from store import sales as repo
from store.db import session_scope
from store.models import Attribution, Click, Sale, ShareLink, utcnow

log = logging.getLogger(__name__)


def rules_for(settings: Settings) -> Rules:
    """The installation's attribution rules."""
    return Rules(
        window=timedelta(days=settings.attribution_window_days),
        model=settings.attribution_model,
        binding_mode=settings.binding_mode,
        binding_days=settings.binding_days,
    )


def _click_fact(click: Click, link: ShareLink) -> ClickFact:
    return ClickFact(id=click.id, link_id=link.id, at=click.at, leader_id=link.leader_id, bot=click.bot)


def facts_for(sale: Sale) -> SaleFacts:
    return SaleFacts(
        paid_at=sale.paid_at, click_id=sale.click_id, share_code=sale.share_code, customer_id=sale.customer_id
    )


def attribute_sale(settings: Settings, session: Session, sale: Sale) -> Attribution | None:
    """Credit ``sale`` (click id, then share code, then customer binding) and write its
    :class:`~store.models.Attribution` (None and no row when nothing applies); bind its customer when
    the credit came from a click or a share code. Does nothing when the sale already has an attribution."""
    existing = repo.attribution(session, sale.id)
    if existing is not None:
        return existing
    decision, binding = _decide(settings, session, sale)
    _bind(session, sale, binding)
    if decision is None:
        return None
    return repo.add_attribution(session, _row(session, sale, decision))


def _decide(settings: Settings, session: Session, sale: Sale) -> tuple[Decision | None, BindingFact | None]:
    """The decision for ``sale`` from what is stored now, and the binding it makes (the customer's
    bindings are read under the customer's lock, held to the end of the transaction)."""
    rules = rules_for(settings)
    facts = facts_for(sale)
    carried: ClickFact | None = None
    visitors: list[ClickFact] = []
    if sale.click_id:
        found = repo.click_with_link(session, sale.click_id)
        if found is not None:
            carried = _click_fact(*found)
            if rules.model == "first_click":  # last_click: the carried click alone decides
                since, until = sale.paid_at - rules.window, found[0].at
                visitors = [
                    _click_fact(c, lk) for c, lk in repo.visitor_clicks(session, found[0].identity, since, until)
                ]
    share_link = None
    if sale.share_code:
        row = repo.link_by_code(session, sale.share_code)
        share_link = LinkFact(row.id, row.leader_id) if row is not None else None
    bindings: list[BindingFact] = []
    if sale.customer_id:
        repo.lock_customer(session, sale.customer_id)
        bindings = [
            BindingFact(b.leader_id, b.bound_at, b.expires_at, b.link_id)
            for b in repo.bindings(session, sale.customer_id)
        ]
    decision = decide(facts, rules, carried=carried, visitor_clicks=visitors, share_link=share_link, bindings=bindings)
    return decision, new_binding(facts, decision, rules, bindings)


def _bind(session: Session, sale: Sale, binding: BindingFact | None) -> None:
    if binding is not None and sale.customer_id:
        repo.add_binding(
            session,
            customer_id=sale.customer_id,
            leader_id=binding.leader_id,
            bound_at=binding.bound_at,
            expires_at=binding.expires_at,
            link_id=binding.link_id,
        )


def reattribute_sale(settings: Settings, session: Session, sale_id: str) -> Attribution | None:
    """Credit a provisionally attributed sale by its carried click, now stored (see the module for when
    this is allowed); the updated or new attribution, or None when nothing changed. Appends the ledger's
    commission when the sale had none (:func:`services.ledger.on_sale_changed`). Flushes, never commits."""
    sale = repo.sale(session, sale_id, lock=True)
    if sale is None or not sale.click_id or repo.click_with_link(session, sale.click_id) is None:
        return None
    current = repo.attribution(session, sale.id)
    if current is not None and current.method == "click":
        return None
    decision, binding = _decide(settings, session, sale)
    if decision is None or decision.method != "click":
        return None  # the click lies outside the window: the provisional credit stands
    if (
        current is not None
        and (current.leader_id or None) != (decision.leader_id or None)
        and repo.has_ledger_entries(session, sale.id)
    ):
        log.info("sale %s: its click %s credits another leader, but commission is booked; kept", sale.id, sale.click_id)
        return None
    _bind(session, sale, binding)
    fresh = _row(session, sale, decision)
    if current is None:
        row = repo.add_attribution(session, fresh)
    else:
        for name in ("link_id", "clip_id", "leader_id", "channel", "recording_id", "method", "click_id"):
            setattr(current, name, getattr(fresh, name))
        current.attributed_at = utcnow()
        session.flush()
        row = current
    # the sale is credited to a leader for the first time only now (its click arrived late): it earns at
    # today's rates, once; a sale that already earned appends nothing more
    ledger.on_sale_changed(settings, session, sale_id=sale.id, created=True)
    return row


def reattribute_pending(settings: Settings, *, now: datetime | None = None) -> list[str]:
    """Re-attribute every sale whose carried click has been stored since it arrived (paid within the
    attribution window); one transaction each. The ids of the sales credited by their click now."""
    now = now or utcnow()
    since = now - timedelta(days=settings.attribution_window_days) - CLOCK_SKEW
    with session_scope(settings.database_url) as session:
        pending = repo.sales_awaiting_click(session, paid_since=since)
    done: list[str] = []
    for sale_id in pending:
        with session_scope(settings.database_url) as session:
            if reattribute_sale(settings, session, sale_id) is not None:
                done.append(sale_id)
    return done


def _row(session: Session, sale: Sale, decision: Decision) -> Attribution:
    link = repo.link(session, decision.link_id) if decision.link_id else None
    clip_id = link.clip_id if link is not None else None
    return Attribution(
        sale_id=sale.id,
        link_id=link.id if link is not None else None,
        clip_id=clip_id,
        leader_id=decision.leader_id,
        channel=link.channel if link is not None else None,
        recording_id=repo.clip_recording(session, clip_id) if clip_id else None,
        method=decision.method,
        click_id=decision.click_id,
    )
